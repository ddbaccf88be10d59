"""Queries feeding the expertise index and the care rules of routing (caps, availability, topics)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, delete
from sqlmodel import select as sm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import index_changes
from storage.models import DeclaredTopic, Member, Message, Reaction, RoutingRequest

STREAM_ROWS = 20_000


def _epoch(conn: AsyncConnection, column: str) -> str:
    if conn.dialect.name == "sqlite":
        return f"(julianday({column}) - 2440587.5) * 86400.0"
    return f"extract(epoch from {column})"


async def stream_posts(conn: AsyncConnection, community_id: int, *, reply_text: bool = True,
                       author: str | None = None, after: int = 0
                       ) -> AsyncIterator[Sequence[tuple[str, str | None, str, str, float]]]:
    """(platform id, thread id, author platform id, text, posted at as unix seconds), in batches.

    Plain SQL on purpose: building the index reads every message of a community (a million rows for
    a large one), and row processing through the ORM or typed Core costs more than the read itself.
    Without `reply_text`, replies come with an empty text (for indexes that only read questions);
    with `author` (a platform user id), only that member's messages; with `after` (a message row id),
    only the messages stored after it (what a saved index has not seen).
    """
    text_column = "m.text" if reply_text else "CASE WHEN m.thread_id IS NULL THEN m.text ELSE '' END"
    by_author = "" if author is None else "AND a.platform_user_id = :author"
    sql = text(f"""
        SELECT m.platform_id, m.thread_id, a.platform_user_id, {text_column}, {_epoch(conn, "m.posted_at")}
        FROM message m JOIN member a ON a.id = m.author_id
        WHERE m.community_id = :community AND m.id > :after AND a.opted_out = :no AND a.is_bot = :no {by_author}
        ORDER BY m.id""").bindparams(community=community_id, no=False, after=after)
    if author is not None:
        sql = sql.bindparams(author=author)
    result = await conn.stream(sql.execution_options(yield_per=STREAM_ROWS))
    async for partition in result.partitions(STREAM_ROWS):
        yield [(r[0], r[1], r[2], r[3], float(r[4])) for r in partition]


async def stream_reactions(conn: AsyncConnection, community_id: int, *, on_messages_of: int | None = None,
                           after: int = 0) -> AsyncIterator[Sequence[tuple[str, str, str]]]:
    """(message platform id, emoji, reactor platform id) of the community's reactions, in batches.

    With `on_messages_of` (a member id), only the reactions to that member's messages; with `after`
    (a reaction row id), only those stored after it.
    """
    m, r, a = Message.__table__, Reaction.__table__, Member.__table__  # type: ignore[attr-defined]
    stmt = (select(m.c.platform_id, r.c.emoji, a.c.platform_user_id)
            .join(m, m.c.id == r.c.message_id).join(a, a.c.id == r.c.member_id)
            .where(m.c.community_id == community_id).execution_options(yield_per=STREAM_ROWS))
    if on_messages_of is not None:
        stmt = stmt.where(m.c.author_id == on_messages_of)
    if after:
        stmt = stmt.where(r.c.id > after)
    result = await conn.stream(stmt)
    async for partition in result.partitions(STREAM_ROWS):
        yield [tuple(row) for row in partition]


async def all_declared_topics(conn: AsyncConnection, community_id: int, member: str | None = None
                              ) -> dict[str, list[str]]:
    """Platform user id → declared topics, for one community (or only `member`, a platform user id)."""
    d, a = DeclaredTopic.__table__, Member.__table__  # type: ignore[attr-defined]
    stmt = (select(a.c.platform_user_id, d.c.topic).join(a, a.c.id == d.c.member_id)
            .where(a.c.community_id == community_id).order_by(d.c.id))
    if member is not None:
        stmt = stmt.where(a.c.platform_user_id == member)
    rows = await conn.execute(stmt)
    topics: dict[str, list[str]] = {}
    for uid, topic in rows.all():
        topics.setdefault(uid, []).append(topic)
    return topics


async def declared_topics(session: AsyncSession, member_id: int) -> list[str]:
    """A member's declared topics, oldest first."""
    stmt = sm_select(DeclaredTopic.topic).where(DeclaredTopic.member_id == member_id).order_by(col(DeclaredTopic.id))
    return list((await session.exec(stmt)).all())


async def declare_topics(session: AsyncSession, member_id: int, topics: Sequence[str]) -> list[str]:
    """Add topics (case-insensitively new ones only); returns those added."""
    known = {t.casefold() for t in await declared_topics(session, member_id)}
    added = []
    for topic in topics:
        if topic.casefold() not in known:
            session.add(DeclaredTopic(member_id=member_id, topic=topic))
            known.add(topic.casefold())
            added.append(topic)
    await session.flush()
    if added:
        await index_changes.member_changed(session, member_id, "topics")
    return added


async def forget_topic(session: AsyncSession, member_id: int, topic: str) -> bool:
    """Remove a declared topic (case-insensitive); False when it was not declared."""
    rows = (await session.exec(sm_select(DeclaredTopic).where(DeclaredTopic.member_id == member_id))).all()
    matches = [r for r in rows if r.topic.casefold() == topic.casefold()]
    for row in matches:
        await session.delete(row)
    if matches:
        await index_changes.member_changed(session, member_id, "topics")
    return bool(matches)


async def members_by_platform_id(session: AsyncSession, community_id: int, ids: Sequence[str]) -> dict[str, Member]:
    """The member rows of these platform user ids in one community."""
    if not ids:
        return {}
    stmt = sm_select(Member).where(Member.community_id == community_id, col(Member.platform_user_id).in_(ids))
    return {m.platform_user_id: m for m in (await session.exec(stmt)).all()}


async def recent_requests(session: AsyncSession, member_ids: Sequence[int], since: datetime,
                          status: str | None = None) -> dict[int, int]:
    """Routing requests per member since a time (optionally of one status)."""
    if not member_ids:
        return {}
    stmt = (select(RoutingRequest.member_id, func.count()).where(  # type: ignore[call-overload]
        col(RoutingRequest.member_id).in_(member_ids), col(RoutingRequest.at) >= since)
        .group_by(RoutingRequest.member_id))
    if status is not None:
        stmt = stmt.where(col(RoutingRequest.status) == status)
    return {mid: int(n) for mid, n in (await session.exec(stmt)).all()}


def available(member: Member, today: date) -> bool:
    """False while the member said they are away."""
    return member.away_until is None or member.away_until <= today


def suggestable(member: Member) -> bool:
    """Never suggest people who opted out, left, were deleted or forgotten, nor bots."""
    return not (member.opted_out or member.deleted or member.is_bot or member.left_at is not None
                or member.forgotten_at is not None)


async def clear_topics(session: AsyncSession, member_id: int) -> None:
    """Remove every declared topic of a member."""
    await session.exec(delete(DeclaredTopic).where(col(DeclaredTopic.member_id) == member_id))
    await index_changes.member_changed(session, member_id, "topics")
