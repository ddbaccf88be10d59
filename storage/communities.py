"""Queries on communities and their channels."""

from __future__ import annotations

from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import limits
from storage.models import Channel, Community


async def get_community(session: AsyncSession, slug: str) -> Community | None:
    """The community named `slug`, if it exists."""
    return (await session.exec(select(Community).where(Community.slug == slug))).first()


async def list_communities(session: AsyncSession) -> list[Community]:
    """Every community, by slug."""
    return list((await session.exec(select(Community).order_by(Community.slug))).all())


async def ensure_community(session: AsyncSession, slug: str, *, name: str = "", locale: str = "en",
                           timezone: str = "UTC", founded_on: date | None = None) -> Community:
    """The community `slug`, created as needed. An existing one keeps its language and time zone: they are
    settings, changed in chat or by an edit of the config file (bot/community_settings.py), never by a start."""
    community = await get_community(session, slug)
    if community is None:
        community = Community(slug=slug, name=name or slug, locale=locale, timezone=timezone,
                              founded_on=founded_on)
        session.add(community)
    else:
        community.name = name or community.name
        community.founded_on = founded_on or community.founded_on
    await session.flush()
    return community


async def find_channel(session: AsyncSession, platform: str, platform_id: str) -> Channel | None:
    """The channel known under this platform id, if any."""
    stmt = select(Channel).where(Channel.platform == platform, Channel.platform_id == platform_id)
    return (await session.exec(stmt)).first()


async def ensure_channel(session: AsyncSession, community: Community, platform: str, platform_id: str,
                         name: str = "") -> Channel:
    """The channel row for this platform id, attached to `community`."""
    channel = await find_channel(session, platform, platform_id)
    assert community.id is not None
    name = limits.fit(name, limits.NAME_LENGTH)
    if channel is None:
        channel = Channel(community_id=community.id, platform=platform, platform_id=platform_id,
                          name=name or limits.fit(platform_id, limits.NAME_LENGTH))
        session.add(channel)
        await session.flush()
    elif name and channel.name != name:
        channel.name = name
    return channel


async def channels_of(session: AsyncSession, community_id: int) -> list[Channel]:
    """Every channel of a community."""
    stmt = select(Channel).where(Channel.community_id == community_id).order_by(Channel.id)  # type: ignore[arg-type]
    return list((await session.exec(stmt)).all())
