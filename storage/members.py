"""Queries on members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import limits
from storage.models import Member

# Built once: every event looks its sender up (building and hashing a statement costs more than running it).
_FIND_MEMBER = select(Member).where(Member.community_id == bindparam("community_id"),
                                    Member.platform == bindparam("platform"),
                                    Member.platform_user_id == bindparam("user"))


async def find_member(session: AsyncSession, community_id: int, platform: str,
                      platform_user_id: str) -> Member | None:
    """The member with this platform id in the community, if Steward keeps one."""
    params = {"community_id": community_id, "platform": platform, "user": platform_user_id}
    return (await session.exec(_FIND_MEMBER, params=params)).first()


async def ensure_member(session: AsyncSession, community_id: int, platform: str, platform_user_id: str,
                        *, display_name: str = "", timezone: str | None = None,
                        is_bot: bool = False, joined_at: datetime | None = None) -> Member:
    """The member row, created on first need (Steward keeps nothing about people it never needed)."""
    member = await find_member(session, community_id, platform, platform_user_id)
    display_name = limits.fit(display_name, limits.NAME_LENGTH)
    if member is None:
        return await add_member(session, community_id, platform, platform_user_id, display_name=display_name,
                                timezone=timezone, is_bot=is_bot, joined_at=joined_at)
    if display_name and not member.display_name:
        member.display_name = display_name
    return member


async def add_member(session: AsyncSession, community_id: int, platform: str, platform_user_id: str,
                     *, display_name: str = "", timezone: str | None = None,
                     is_bot: bool = False, joined_at: datetime | None = None) -> Member:
    """A new member row, for a caller that has just seen there is none in this transaction.

    The display name is cut to its column (Matrix allows 256 characters), the same on every backend."""
    member = Member(community_id=community_id, platform=platform, platform_user_id=platform_user_id,
                    display_name=limits.fit(display_name, limits.NAME_LENGTH), timezone=limits.timezone(timezone),
                    is_bot=is_bot, joined_at=joined_at)
    session.add(member)
    await session.flush()
    return member


async def members_of_person(session: AsyncSession, platform: str, platform_user_id: str) -> list[Member]:
    """Every community membership of one platform account (privacy commands act on all of them)."""
    stmt = select(Member).where(Member.platform == platform, Member.platform_user_id == platform_user_id)
    return list((await session.exec(stmt)).all())


async def list_members(session: AsyncSession, community_id: int) -> list[Member]:
    """Every member of a community."""
    stmt = select(Member).where(Member.community_id == community_id).order_by(Member.display_name)
    return list((await session.exec(stmt)).all())
