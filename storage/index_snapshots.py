"""Which saved expertise index files may be loaded, and the marks a loader checks storage against.

A process saves its index to a file in its own data directory and records a row here (token, mark):
the row vouches for the file. Rows go when a change cannot be replayed onto a saved index (a member
forgotten: see index_changes.community_changed), so a file left on some disk is never loaded again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import IndexSnapshot
from storage.types import utcnow

KEEP_OTHERS = timedelta(days=30)  # rows of other processes' files not refreshed for this long go


@dataclass(frozen=True)
class SavedIndex:
    """A snapshot row: the file `token` holds the community's index as of change `mark`."""

    token: str
    mark: int


async def saved_indexes(conn: AsyncConnection, community_id: int) -> list[SavedIndex]:
    """The community's snapshot rows, the most recent mark first."""
    s = IndexSnapshot.__table__  # type: ignore[attr-defined]
    rows = await conn.execute(select(s.c.token, s.c.mark).where(s.c.community_id == community_id)
                              .order_by(s.c.mark.desc(), s.c.id.desc()))
    return [SavedIndex(token, int(mark)) for token, mark in rows.all()]


async def record_saved_index(conn: AsyncConnection, community_id: int, saved: SavedIndex,
                             replaces: str | None) -> None:
    """Vouch for a new file; drop the row of the file it replaces and others' rows long unrefreshed."""
    s = IndexSnapshot.__table__  # type: ignore[attr-defined]
    await conn.execute(insert(s).values(community_id=community_id, token=saved.token, mark=saved.mark,
                                        saved_at=utcnow()))
    stale = s.c.saved_at < utcnow() - KEEP_OTHERS
    await conn.execute(delete(s).where(s.c.community_id == community_id,
                                       (s.c.token == replaces) | stale if replaces else stale))


async def advance_saved_index(conn: AsyncConnection, token: str, mark: int) -> bool:
    """Say that the file is still valid at a later mark (nothing of its community changed since).

    False when the row is gone (the community was invalidated meanwhile).
    """
    s = IndexSnapshot.__table__  # type: ignore[attr-defined]
    result = await conn.execute(update(s).where(s.c.token == token, s.c.mark <= mark)
                                .values(mark=mark, saved_at=utcnow()))
    if getattr(result, "rowcount", 0):
        return True
    return (await conn.execute(select(s.c.id).where(s.c.token == token))).first() is not None


async def drop_saved_index(conn: AsyncConnection, token: str) -> None:
    """Stop vouching for a file (it turned out unreadable, or out of date for good)."""
    s = IndexSnapshot.__table__  # type: ignore[attr-defined]
    await conn.execute(delete(s).where(s.c.token == token))


async def change_high_water(conn: AsyncConnection) -> int:
    """The highest change id ever handed out (rows pruned since included; 0 for none)."""
    if conn.dialect.name == "sqlite":
        found = (await conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'index_change'"))).scalar()
    else:
        found = (await conn.execute(text(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('index_change', 'id')::regclass)"))).scalar()
    return int(found or 0)


async def oldest_change(conn: AsyncConnection) -> int | None:
    """The lowest change id still logged (None when the log is empty)."""
    found = (await conn.execute(text("SELECT min(id) FROM index_change"))).scalar()
    return None if found is None else int(found)


async def last_message(conn: AsyncConnection, community_id: int) -> int:
    """The community's highest message id (0 for none): a saved index reads the messages stored after it."""
    found = (await conn.execute(text("SELECT max(id) FROM message WHERE community_id = :c"),
                                {"c": community_id})).scalar()
    return int(found or 0)


async def last_reaction(conn: AsyncConnection) -> int:
    """The highest reaction id of every community (0 for none): one index lookup, no join."""
    return int((await conn.execute(text("SELECT max(id) FROM reaction"))).scalar() or 0)


async def indexable_members(conn: AsyncConnection, community_id: int) -> set[str]:
    """Platform ids of the community's members an index may hold (not opted out, forgotten or bots)."""
    rows = await conn.execute(text(
        "SELECT platform_user_id FROM member WHERE community_id = :c AND opted_out = :no AND is_bot = :no "
        "AND forgotten_at IS NULL"), {"c": community_id, "no": False})
    return set(rows.scalars().all())
