"""Bulk writes for history imports: set-based, idempotent (`ON CONFLICT DO NOTHING`), on both backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Channel, Member, Message, Reaction

CHUNK = 2000  # rows per statement; stays under SQLite's bound-parameter limit for our widest table


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert(conn: AsyncConnection, model: type[Any]) -> Insert:
    table = _table(model)
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def upsert_members(conn: AsyncConnection, community_id: int, platform: str,
                         rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert new members (existing ones are kept as they are); returns platform id → member id."""
    for start in range(0, len(rows), 500):
        chunk = [{"community_id": community_id, "platform": platform, "opted_out": False,
                  "locale": None, **row} for row in rows[start:start + 500]]
        if chunk:
            await conn.execute(_insert(conn, Member), chunk)
    return await member_ids(conn, community_id, platform)


async def member_ids(conn: AsyncConnection, community_id: int, platform: str) -> dict[str, int]:
    """Platform user id → member id for a community."""
    member = _table(Member)
    result = await conn.execute(select(member.c.platform_user_id, member.c.id).where(
        member.c.community_id == community_id, member.c.platform == platform))
    return {uid: mid for uid, mid in result.all()}


async def opted_out_ids(conn: AsyncConnection, community_id: int) -> set[int]:
    """Members whose messages must not be imported."""
    member = _table(Member)
    result = await conn.execute(select(member.c.id).where(member.c.community_id == community_id,
                                                          member.c.opted_out.is_(True)))
    return set(result.scalars().all())


async def upsert_channels(conn: AsyncConnection, community_id: int, platform: str,
                          rows: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Insert new channels; returns platform id → channel id (only this community's)."""
    if rows:
        await conn.execute(_insert(conn, Channel), [
            {"community_id": community_id, "platform": platform, "platform_id": pid, "name": name}
            for pid, name in rows])
    channel = _table(Channel)
    result = await conn.execute(select(channel.c.platform_id, channel.c.id, channel.c.community_id).where(
        channel.c.platform == platform))
    return {pid: cid for pid, cid, owner in result.all() if owner == community_id}


async def insert_messages(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert messages not yet stored; returns platform id → id of those actually inserted."""
    inserted: dict[str, int] = {}
    message = _table(Message)
    for start in range(0, len(rows), CHUNK):
        stmt = _insert(conn, Message).returning(message.c.platform_id, message.c.id)
        result = await conn.execute(stmt, list(rows[start:start + CHUNK]))
        inserted.update({pid: mid for pid, mid in result.all()})
    return inserted


async def insert_reactions(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert reactions, skipping those already stored."""
    for start in range(0, len(rows), CHUNK):
        await conn.execute(_insert(conn, Reaction), list(rows[start:start + CHUNK]))
