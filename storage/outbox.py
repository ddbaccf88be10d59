"""The outbox (`outbox_reply`): replies written with their event's effects, sent after commit, crossed out.

One table for every platform and every trigger (chat or clock). See bot/delivery.py for who sends
what; this module only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.connections import connection_of
from storage.models import OutboxReply
from storage.prepared import Prepared
from storage.types import utcnow

_T: Any = OutboxReply.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Entry:
    """One reply to keep: where it queues (`lane`), its JSON, and an optional feature tag."""

    lane: str
    payload: str
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Waiting:
    """A kept reply not yet sent, as read back for delivery."""

    id: int
    platform: str
    event_id: str
    lane: str
    payload: str
    tag: str | None
    created_at: datetime


# Built once (every answered event runs it); several rows go as one multi-row INSERT (insertmanyvalues).
_KEEP = Prepared(insert(_T).values({**{c: bindparam(c, type_=_T.c[c].type) for c in (
    "owner", "platform", "event_id", "lane", "payload", "tag", "created_at")},
    "status": "pending", "attempts": 0}).returning(_T.c.id))


async def keep(session: AsyncSession, owner: str, platform: str, event_id: str, entries: Sequence[Entry]) -> list[int]:
    """Write replies down in the caller's transaction; returns their ids in order."""
    if not entries:
        return []
    conn = await connection_of(session)
    now = utcnow()
    rows = [{"owner": owner, "platform": platform, "event_id": event_id, "lane": e.lane[:255], "payload": e.payload,
             "tag": e.tag, "created_at": now} for e in entries]
    return sorted(int(r[0]) for r in await _KEEP.rows_of_each(conn, rows))


# Built once: every event crosses out the replies sent since the previous one (`bot.delivery`). One row
# per parameter set (an executemany): no IN list to expand and compile again for each new length.
_DROP = Prepared(delete(_T).where(_T.c.id == bindparam("sent_id", type_=_T.c.id.type)))
_MARK_SENT = Prepared(update(_T).where(_T.c.id == bindparam("sent_id", type_=_T.c.id.type)).values(
    status="sent", payload=None, channel=bindparam("sent_channel", type_=_T.c.channel.type),
    message_id=bindparam("sent_message_id", type_=_T.c.message_id.type),
    sent_at=bindparam("sent_at_", type_=_T.c.sent_at.type)))


async def cross_out(session: AsyncSession, sent: Sequence[tuple[int, bool, str | None, str | None]]) -> None:
    """Sent replies `(id, tagged, channel, message id)`: untagged rows go, tagged ones keep only the ids."""
    if not sent:
        return
    conn = await connection_of(session)
    plain = [{"sent_id": i} for i, tagged, _c, _m in sent if not tagged]
    if plain:
        await _DROP.run_many(conn, plain)
    now = utcnow()
    marked = [{"sent_id": i, "sent_channel": channel, "sent_message_id": message_id, "sent_at_": now}
              for i, tagged, channel, message_id in sent if tagged]
    if marked:
        await _MARK_SENT.run_many(conn, marked)


async def give_up(session: AsyncSession, ids: Sequence[int]) -> None:
    """Drop replies that cannot be delivered (refused by the platform, or too old)."""
    if ids:
        conn = await session.connection()
        await conn.execute(delete(_T).where(_T.c.id.in_(ids)))


async def other_owners(session: AsyncSession, owner: str) -> list[str]:
    """The processes other than `owner` that left replies waiting (alive or not)."""
    conn = await session.connection()
    rows = await conn.execute(select(_T.c.owner).where(_T.c.status == "pending", _T.c.owner != owner).distinct())
    return [str(o) for o in rows.scalars().all()]


async def adopt(session: AsyncSession, dead: str, owner: str, platforms: Sequence[str]) -> list[Waiting]:
    """Take over the replies `dead` left on these platforms, oldest first; they keep their ids (and so
    their idempotency keys). One `UPDATE … RETURNING`: two processes adopting at once get a row once."""
    conn = await session.connection()
    rows = (await conn.execute(
        update(_T).where(_T.c.owner == dead, _T.c.status == "pending", _T.c.platform.in_(platforms))
        .values(owner=owner)
        .returning(_T.c.id, _T.c.platform, _T.c.event_id, _T.c.lane, _T.c.payload, _T.c.tag, _T.c.created_at))).all()
    return [Waiting(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4] or ""), r[5], r[6])
            for r in sorted(rows, key=lambda r: int(r[0]))]


async def message_of(session: AsyncSession, tag: str) -> tuple[str, str | None, str] | None:
    """`(platform, channel, message id)` of the sent reply tagged `tag`, or None (not sent yet, or never)."""
    conn = await session.connection()
    row = (await conn.execute(select(_T.c.platform, _T.c.channel, _T.c.message_id)
                              .where(_T.c.tag == tag, _T.c.status == "sent", _T.c.message_id.is_not(None))
                              .order_by(_T.c.id).limit(1))).first()
    return None if row is None else (str(row[0]), row[1], str(row[2]))


async def tag_of(session: AsyncSession, platform: str, message_id: str) -> str | None:
    """The tag of the sent reply that became `message_id` on `platform` (e.g. a ritual step's key)."""
    conn = await session.connection()
    return await conn.scalar(select(_T.c.tag).where(_T.c.platform == platform, _T.c.message_id == message_id,
                                                    _T.c.tag.is_not(None)).limit(1))


async def count_pending(conn: Any) -> int:
    """Replies kept and not sent yet, every owner (`/metrics`)."""
    from sqlalchemy import func

    return int(await conn.scalar(select(func.count()).select_from(_T).where(_T.c.status == "pending")) or 0)
