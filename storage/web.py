"""Sign-in to the web pages without passwords: one-time links and the sessions they open.

A link's token and a session's cookie are 256-bit secrets shown once; only their SHA-256 is stored, so
reading the database gives no way in. A link opens one session, once, within `LINK_LIFETIME`; a session ends
at `SESSION_LIFETIME` or when its reader signs out. Both belong to one community (the one the link was asked
in) and, for a member, to their row, so forgetting the member deletes them (ON DELETE CASCADE).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import WebLink, WebSession
from storage.types import utcnow

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    """A session just opened from a link: the cookie's value (shown once) and the stored row."""

    cookie: str
    session: WebSession


class LinkRefused(Exception):
    """A sign-in link that opens nothing: unknown, already used, or expired (`reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "unknown" | "used" | "expired"


async def issue_link(session: AsyncSession, community_id: int, member_id: int | None, *, operator: bool = False,
                     now: datetime | None = None) -> str:
    """A new one-time token for `member_id` (None with `operator`: the person running Steward) in a community."""
    if member_id is None and not operator:
        raise ValueError("a sign-in link is for a member or for the operator")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(WebLink(token_hash=_hash(token), community_id=community_id, member_id=member_id,
                        operator=operator, created_at=now, expires_at=now + LINK_LIFETIME))
    await session.flush()
    return token


async def redeem_link(session: AsyncSession, token: str, *, locale: str | None = None,
                      now: datetime | None = None) -> Opened:
    """Spend the link (once) and open a session; `LinkRefused` says why it does not open one.

    The link is marked used by a conditional UPDATE, so two browsers racing with one link open one session.
    """
    now = now or utcnow()
    link = await session.get(WebLink, _hash(token))
    if link is None:
        raise LinkRefused("unknown")
    if link.used_at is not None:
        raise LinkRefused("used")
    if link.expires_at <= now:
        raise LinkRefused("expired")
    spent = await session.exec(update(WebLink).where(col(WebLink.token_hash) == link.token_hash,
                                                     col(WebLink.used_at).is_(None)).values(used_at=now))
    if spent.rowcount != 1:
        raise LinkRefused("used")
    cookie = secrets.token_urlsafe(32)
    row = WebSession(token_hash=_hash(cookie), community_id=link.community_id, member_id=link.member_id,
                     operator=link.operator, csrf=secrets.token_urlsafe(32), locale=locale, created_at=now,
                     expires_at=now + SESSION_LIFETIME)
    session.add(row)
    await session.flush()
    return Opened(cookie, row)


async def link_state(session: AsyncSession, token: str, *, now: datetime | None = None) -> str:
    """What the link would do, without spending it: "ok", "unknown", "used" or "expired"."""
    link = await session.get(WebLink, _hash(token))
    if link is None:
        return "unknown"
    if link.used_at is not None:
        return "used"
    return "expired" if link.expires_at <= (now or utcnow()) else "ok"


async def set_session_locale(session: AsyncSession, cookie: str, locale: str) -> None:
    """Remember the reader's language for the rest of the session."""
    await session.exec(update(WebSession).where(col(WebSession.token_hash) == _hash(cookie)).values(locale=locale))


async def find_session(session: AsyncSession, cookie: str, *, now: datetime | None = None) -> WebSession | None:
    """The live session this cookie opens, or None (unknown or expired)."""
    if not cookie:
        return None
    row = await session.get(WebSession, _hash(cookie))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row


async def end_session(session: AsyncSession, cookie: str) -> None:
    """Sign out: the cookie opens nothing any more."""
    await session.exec(delete(WebSession).where(col(WebSession.token_hash) == _hash(cookie)))


async def end_sessions_of(session: AsyncSession, member_ids: list[int]) -> None:
    """End every session and spend every link of these members (they opted out or were forgotten)."""
    if member_ids:
        await session.exec(delete(WebSession).where(col(WebSession.member_id).in_(member_ids)))
        await session.exec(delete(WebLink).where(col(WebLink.member_id).in_(member_ids)))


async def prune(session: AsyncSession, *, now: datetime | None = None) -> None:
    """Delete expired sessions and links (they open nothing; kept only until pruned)."""
    now = now or utcnow()
    await session.exec(delete(WebSession).where(col(WebSession.expires_at) <= now))
    await session.exec(delete(WebLink).where(col(WebLink.expires_at) <= now))


async def session_count(session: AsyncSession, member_id: int) -> int:
    """How many sessions a member has open (the `me` page says it)."""
    return len((await session.exec(select(WebSession.token_hash).where(col(WebSession.member_id) == member_id)))
               .all())
