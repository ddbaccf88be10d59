"""The change log the expertise indexes follow: one row per write another process's index must re-check.

Rows name what changed (a message, a reaction, a member's topics or privacy choice), never its
content: a follower reads the current state of what a row names, so applying a row twice, or late,
converges to what storage holds. Written by the storage functions in the change's own transaction,
so a row exists exactly when its change committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import IndexChange, IndexSnapshot, Member, Message, Reaction
from storage.types import utcnow

RETENTION = timedelta(hours=1)  # followers poll every few seconds; a process away longer rebuilds


async def message_changed(session: AsyncSession, message: Message, kind: str) -> None:
    """Log that a message was posted, edited or deleted (`kind`)."""
    await session.exec(insert(IndexChange).values(
        community_id=message.community_id, kind=kind, message_id=message.id, platform_id=message.platform_id,
        at=utcnow()))


async def reaction_changed(session: AsyncSession, message_id: int, member_id: int, emoji: str) -> None:
    """Log that a member's reaction on a message (row id) appeared or went away."""
    m = Message.__table__  # type: ignore[attr-defined]
    await session.exec(insert(IndexChange).values(
        community_id=select(m.c.community_id).where(m.c.id == message_id).scalar_subquery(),
        platform_id=select(m.c.platform_id).where(m.c.id == message_id).scalar_subquery(),
        kind="reaction", message_id=message_id, member_id=member_id, emoji=emoji, at=utcnow()))


async def member_changed(session: AsyncSession, member_id: int, kind: str) -> None:
    """Log that a member's declared topics (`topics`) or privacy choice (`member`) changed."""
    a = Member.__table__  # type: ignore[attr-defined]
    await session.exec(insert(IndexChange).values(
        community_id=select(a.c.community_id).where(a.c.id == member_id).scalar_subquery(),
        kind=kind, member_id=member_id, at=utcnow()))


async def community_changed(session: AsyncSession, community_id: int) -> None:
    """Log that a community's index must be rebuilt (someone was forgotten: nothing may name them).

    The community's saved index files stop being trusted in the same transaction: none is loaded again.
    """
    await session.exec(insert(IndexChange).values(community_id=community_id, kind="rebuild", at=utcnow()))
    await session.exec(delete(IndexSnapshot).where(
        IndexSnapshot.__table__.c.community_id == community_id))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Change:
    """One logged change with the current state of what it names (None where that is gone)."""

    id: int
    community_id: int
    kind: str
    platform_id: str | None
    emoji: str | None
    member: str | None  # reactor / declarer / member: platform user id
    member_out: bool  # that member opted out or was forgotten
    member_forgotten: bool
    stored: bool  # the message the row names is still stored
    thread_id: str | None  # the message, if still stored and by an indexable author
    author: str | None
    text: str | None
    posted_at: datetime | None
    reaction_kept: bool  # the reaction the row names is stored now


def _changes() -> Select[Any]:
    c, m = IndexChange.__table__, Message.__table__  # type: ignore[attr-defined]
    a, who = Member.__table__.alias("author"), Member.__table__.alias("who")  # type: ignore[attr-defined]
    r = Reaction.__table__  # type: ignore[attr-defined]
    indexable = (a.c.opted_out == False) & (a.c.is_bot == False)  # noqa: E712 (SQL, not Python)
    return (select(c.c.id, c.c.community_id, c.c.kind, c.c.platform_id, c.c.emoji, who.c.platform_user_id,
                   who.c.opted_out, who.c.forgotten_at, m.c.thread_id, a.c.platform_user_id, m.c.text,
                   m.c.posted_at, r.c.id, m.c.id)
            .select_from(c)
            # By primary key (one plan, whatever the statistics), and the same message: SQLite hands the id
            # of the last row out again once it is deleted, so a deletion read late would find the next one.
            .outerjoin(m, (m.c.id == c.c.message_id) & (m.c.platform_id == c.c.platform_id))
            .outerjoin(a, (a.c.id == m.c.author_id) & indexable)
            .outerjoin(who, who.c.id == c.c.member_id)
            .outerjoin(r, (r.c.message_id == c.c.message_id) & (r.c.member_id == c.c.member_id)
                       & (r.c.emoji == c.c.emoji)))


async def changes_after(conn: AsyncConnection, mark: int, holes: Sequence[int] = (), limit: int = 2_000
                        ) -> list[Change]:
    """Logged changes with id above `mark` or among `holes` (ids a follower still waits for), oldest first."""
    c = IndexChange.__table__  # type: ignore[attr-defined]
    after = c.c.id > mark
    stmt = _changes().where(or_(after, c.c.id.in_(list(holes))) if holes else after).order_by(c.c.id).limit(limit)
    return [_change(*row) for row in (await conn.execute(stmt)).all()]


def _change(id: int, community_id: int, kind: str, platform_id: str | None, emoji: str | None,
            member: str | None, opted_out: bool | None, forgotten_at: datetime | None, thread_id: str | None,
            author: str | None, text: str | None, posted_at: datetime | None, reaction: int | None,
            message: int | None) -> Change:
    mine = author is not None  # the message's own fields count only when its author is indexable
    return Change(id=id, community_id=community_id, kind=kind, platform_id=platform_id, emoji=emoji,
                  member=member, member_out=bool(opted_out) or forgotten_at is not None,
                  member_forgotten=forgotten_at is not None, stored=message is not None,
                  thread_id=thread_id if mine else None, author=author, text=text if mine else None,
                  posted_at=posted_at if mine else None, reaction_kept=reaction is not None)


async def latest_change(conn: AsyncConnection) -> int:
    """The highest change id logged so far (0 for none)."""
    c = IndexChange.__table__  # type: ignore[attr-defined]
    return int((await conn.execute(select(func.coalesce(func.max(c.c.id), 0)))).scalar_one())


async def change_ids_after(conn: AsyncConnection, mark: int) -> list[int]:
    """Ids of the changes above `mark` (to see which recent ids are still missing, at a follower's start)."""
    c = IndexChange.__table__  # type: ignore[attr-defined]
    return [int(i) for i in (await conn.execute(select(c.c.id).where(c.c.id > mark))).scalars()]


async def prune(session: AsyncSession, older_than: timedelta = RETENTION) -> None:
    """Forget changes every follower has long applied."""
    await session.exec(delete(IndexChange).where(
        IndexChange.__table__.c.at < utcnow() - older_than))  # type: ignore[attr-defined]
