"""Bulk writes for history imports: set-based, idempotent (`ON CONFLICT DO NOTHING`), on both backends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Index, Insert, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from storage import limits
from storage.models import Channel, Member, Message

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
    """Insert new members; returns platform id → member id.

    Existing ones are kept as they are, except a name that is still the placeholder an import gave
    someone it had no name for (their id): a later import that knows the name sets it. Names are cut
    to their column like everywhere (`storage.limits`)."""
    table = _table(Member)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    first: dict[str, dict[str, Any]] = {}
    for row in rows:  # one row per person: PostgreSQL refuses to update a row twice in one statement
        first.setdefault(row["platform_user_id"], row)
    rows = list(first.values())
    for start in range(0, len(rows), 500):
        chunk = [{"community_id": community_id, "platform": platform, "opted_out": False, "locale": None, **row,
                  "display_name": limits.fit(row.get("display_name") or "", limits.NAME_LENGTH),
                  "timezone": limits.timezone(row.get("timezone"))} for row in rows[start:start + 500]]
        if chunk:
            stmt = dialect.insert(table)
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["community_id", "platform", "platform_user_id"],
                set_={"display_name": stmt.excluded.display_name},
                where=(table.c.display_name == table.c.platform_user_id)
                & (stmt.excluded.display_name != stmt.excluded.platform_user_id)), chunk)
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
            {"community_id": community_id, "platform": platform, "platform_id": pid,
             "name": limits.fit(name, limits.NAME_LENGTH)} for pid, name in rows])
    channel = _table(Channel)
    result = await conn.execute(select(channel.c.platform_id, channel.c.id, channel.c.community_id).where(
        channel.c.platform == platform))
    return {pid: cid for pid, cid, owner in result.all() if owner == community_id}


def _placeholders(conn: AsyncConnection, count: int) -> str:
    if conn.dialect.paramstyle == "qmark":
        return ", ".join("?" * count)
    return ", ".join(f"${i}" for i in range(1, count + 1))


def _stamper(conn: AsyncConnection) -> Callable[[datetime], object]:
    """How a UTC datetime is stored (SQLite: SQLAlchemy's text form; PostgreSQL: naive UTC)."""
    if conn.dialect.name == "sqlite":
        # "2026-03-01 12:00:00.000000+00:00"[:26] is the stored form; this runs once per imported row.
        return lambda at: (at if at.tzinfo is UTC else at.astimezone(UTC)).isoformat(" ", "microseconds")[:26]
    return lambda at: (at if at.tzinfo is UTC else at.astimezone(UTC)).replace(tzinfo=None)


MESSAGE_COLUMNS = ("community_id", "channel_id", "author_id", "platform_id", "thread_id", "text", "posted_at")
REACTION_COLUMNS = ("message_id", "member_id", "emoji", "at")


async def insert_messages(conn: AsyncConnection, community_id: int,
                          rows: Sequence[tuple[Any, ...]]) -> dict[tuple[int, str], int]:
    """Insert messages not yet stored; returns (channel id, platform id) → id of those actually inserted.

    `rows` follow MESSAGE_COLUMNS. The rows go to the driver's executemany in one call: importing a
    million messages through per-row ORM or Core parameter processing costs minutes, this costs seconds.
    New ids are read back as those above the previous maximum (the import holds the write lock on
    SQLite; on PostgreSQL the platform ids of the batch also filter out other writers' rows).
    """
    if not rows:
        return {}
    message = _table(Message)
    before = (await conn.execute(select(func.coalesce(func.max(message.c.id), 0)))).scalar_one()
    conflict = "ON CONFLICT (community_id, platform_id, channel_id) DO NOTHING"  # Slack: ts is per channel
    sql = (f"INSERT INTO message ({', '.join(MESSAGE_COLUMNS)}) "
           f"VALUES ({_placeholders(conn, len(MESSAGE_COLUMNS))}) {conflict}")
    stamp = _stamper(conn)
    await conn.exec_driver_sql(sql, [(*row[:6], stamp(row[6])) for row in rows])
    wanted = {(row[1], row[3]) for row in rows}
    # Only the primary-key range: a condition on community_id would let the planner scan the community's
    # whole (community_id, platform_id) index instead, once per batch, which is quadratic over an import.
    result = await conn.execute(select(message.c.channel_id, message.c.platform_id, message.c.id,
                                       message.c.community_id).where(message.c.id > before))
    return {(cid, pid): mid for cid, pid, mid, owner in result.all()
            if owner == community_id and (cid, pid) in wanted}


async def insert_reactions(conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert reactions (REACTION_COLUMNS), skipping those already stored; emoji cut to their column."""
    if not rows:
        return
    sql = (f"INSERT INTO reaction ({', '.join(REACTION_COLUMNS)}) "
           f"VALUES ({_placeholders(conn, len(REACTION_COLUMNS))}) "
           "ON CONFLICT (message_id, member_id, emoji) DO NOTHING")
    stamp = _stamper(conn)
    await conn.exec_driver_sql(sql, [(*row[:2], limits.fit(row[2], limits.EMOJI_LENGTH), stamp(row[3]))
                                     for row in rows])


async def analyze(conn: AsyncConnection) -> None:
    """Refresh the query planner's statistics on the tables an import fills."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("ANALYZE member, channel, message, reaction, contribution")
    else:
        await conn.exec_driver_sql("PRAGMA optimize")


# Secondary indexes a large import drops and rebuilds: creating an index over sorted keys once is far cheaper
# than keeping it up to date one random insert at a time. Unique indexes stay (ON CONFLICT relies on them).
DEFERRABLE = {"message": ("ix_message_thread", "ix_message_posted", "ix_message_author_posted"),
              "reaction": ("ix_reaction_member_id",)}


def _deferrable() -> list[Index]:
    out = []
    for table_name, names in DEFERRABLE.items():
        table = SQLModel.metadata.tables[table_name]
        out += [index for index in table.indexes if index.name in names]
    return out


async def drop_secondary_indexes(conn: AsyncConnection) -> None:
    """Before a large import (SQLite): drop the indexes `restore_indexes` rebuilds afterwards."""
    for index in _deferrable():
        await conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')


async def restore_indexes(conn: AsyncConnection) -> None:
    """Create every index of the schema that is missing (after an import, or after one that crashed)."""
    def create_missing(sync: Connection) -> None:
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                index.create(sync, checkfirst=True)

    await conn.run_sync(create_missing)
