"""The secret token of each community's iCalendar feed: made on first use, rotated on request.

The token is what makes the address unguessable (192 random bits); it is compared in constant time,
and a miss costs the same one query whether the community exists or not.
"""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CalendarFeed, Community
from storage.types import utcnow

_NO_TOKEN = secrets.token_urlsafe(24)  # compared against when there is no feed, so a miss takes as long as a hit


def new_token() -> str:
    """A fresh secret for a feed address: 32 URL-safe characters."""
    return secrets.token_urlsafe(24)


async def ensure_feed_token(session: AsyncSession, community_id: int) -> str:
    """The community's feed token, made the first time it is asked for."""
    feed = await session.get(CalendarFeed, community_id)
    if feed is None:
        feed = CalendarFeed(community_id=community_id, token=new_token())
        session.add(feed)
        await session.flush()
    return feed.token


async def rotate_feed_token(session: AsyncSession, community_id: int) -> str:
    """A new token for the community's feed: the previous address stops working at once."""
    feed = await session.get(CalendarFeed, community_id)
    if feed is None:
        feed = CalendarFeed(community_id=community_id, token=new_token())
        session.add(feed)
    else:
        feed.token, feed.created_at = new_token(), utcnow()
    await session.flush()
    return feed.token


async def feed_opens(conn: AsyncConnection, slug: str, token: str) -> bool:
    """True when `token` is the current token of community `slug`'s feed.

    One query in every case, and a constant-time comparison even when the community or its feed does
    not exist: an unknown slug and a wrong token cannot be told apart, not even by the time they take.
    """
    feed, community = CalendarFeed.__table__, Community.__table__  # type: ignore[attr-defined]
    stmt = (select(feed.c.token).join(community, community.c.id == feed.c.community_id)
            .where(community.c.slug == slug))
    stored = (await conn.execute(stmt)).scalar_one_or_none()
    same = hmac.compare_digest(token.encode(), (stored or _NO_TOKEN).encode())
    return same and stored is not None
