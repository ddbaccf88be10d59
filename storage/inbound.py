"""The inbound ledger (`inbound_event`): deliveries kept until handled, and every handled event id.

One table for every platform and for the clock. Adapters that acknowledge before the work is done
(Slack) write a `pending` row with the payload first; the core claims an event by turning its row
`done` (or inserting it so) in the event's own transaction, in one statement. A retried delivery, a
replayed sync or a second scheduler firing the same occurrence finds the row done and stops there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.connections import connection_of
from storage.models import InboundEvent
from storage.prepared import Prepared
from storage.types import utcnow

_T: Any = InboundEvent.__table__  # type: ignore[attr-defined]
WAITING = ("pending", "dead")


@functools.cache
def _claim(dialect: str) -> Prepared:
    """The claim upsert of one dialect, built once: every event runs it (building and hashing a
    statement costs more Python than executing a cached one)."""
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    stmt = insert(_T).values(event_id=bindparam("event_id", type_=_T.c.event_id.type),
                             platform=bindparam("platform", type_=_T.c.platform.type), status="done",
                             payload=None, owner=None, attempts=0,
                             received_at=bindparam("received_at", type_=_T.c.received_at.type))
    return Prepared(stmt.on_conflict_do_update(
        index_elements=["event_id"], set_={"status": "done", "payload": None, "owner": None},
        # two comparisons rather than IN (…): an IN list is expanded and its SQL rebuilt at every execution
        where=or_(*(_T.c.status == status for status in WAITING))).returning(_T.c.event_id))


async def claim(session: AsyncSession, event_id: str, platform: str) -> bool:
    """Mark `event_id` handled in the current transaction; False if it already was.

    One upsert: a new id is inserted `done`; a delivery waiting as `pending` turns `done` (payload
    dropped); a done or failed one is left alone and nothing is returned. A concurrent claim of the
    same id waits on the row and then finds it done, so only one handler runs.
    """
    conn = await connection_of(session)
    params = {"event_id": event_id, "platform": platform, "received_at": utcnow()}
    return bool(await _claim(conn.dialect.name).rows(conn, params))


async def record_failure(session: AsyncSession, event_id: str) -> None:
    """Mark a claimed event whose handler failed, so a redelivery does not repeat the apology."""
    conn = await connection_of(session)
    await conn.execute(update(_T).where(_T.c.event_id == event_id).values(status="failed"))


@functools.cache
def _put(dialect: str) -> Prepared:
    """The inbox insert of one dialect, built once; several deliveries go as one multi-row INSERT."""
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    stmt = insert(_T).values({**{c: bindparam(c, type_=_T.c[c].type) for c in (
        "event_id", "platform", "payload", "owner", "received_at")}, "status": "pending", "attempts": 0})
    return Prepared(stmt.on_conflict_do_nothing(index_elements=["event_id"]).returning(_T.c.event_id))


async def put_many(session: AsyncSession, platform: str, owner: str, items: Sequence[tuple[str, str]]) -> set[str]:
    """Keep `(event_id, payload)` deliveries as pending; returns the ids that were new (others: retries)."""
    if not items:
        return set()
    conn = await connection_of(session)
    now = utcnow()
    rows = [{"event_id": e, "platform": platform, "payload": p, "owner": owner, "received_at": now}
            for e, p in dict(items).items()]
    return {str(r[0]) for r in await _put(conn.dialect.name).rows_of_each(conn, rows)}


async def settle(session: AsyncSession, ignored: Sequence[str], attempted: Sequence[str], max_attempts: int) -> int:
    """After the work: `ignored` deliveries (not for the core) are done; `attempted` ones the core did not
    claim count a failed attempt and, past `max_attempts`, are parked as `dead` for the operator.
    Returns how many stay pending for a retry."""
    conn = await connection_of(session)
    if ignored:
        await conn.execute(update(_T).where(_T.c.event_id.in_(ignored), _T.c.status.in_(WAITING))
                           .values(status="done", payload=None, owner=None))
    if not attempted:
        return 0
    kept = await conn.execute(
        update(_T).where(_T.c.event_id.in_(attempted), _T.c.status == "pending")
        .values(attempts=_T.c.attempts + 1,
                status=case((_T.c.attempts + 1 >= max_attempts, "dead"), else_=_T.c.status)))
    return int(kept.rowcount or 0)


async def owners_waiting(session: AsyncSession, platform: str, owner: str) -> list[str]:
    """The other processes (or '' for none) whose acknowledged deliveries of `platform` still wait."""
    conn = await session.connection()
    rows = await conn.execute(select(_T.c.owner).where(_T.c.status == "pending", _T.c.platform == platform,
                                                       or_(_T.c.owner.is_(None), _T.c.owner != owner)).distinct())
    return [str(o or "") for o in rows.scalars().all()]


async def adopt(session: AsyncSession, platform: str, dead: Sequence[str], owner: str,
                limit: int = 1000) -> list[tuple[str, str]]:
    """Take over the pending deliveries the `dead` owners acknowledged: `(event_id, payload)`, oldest first.

    One `UPDATE … RETURNING` on the oldest ids: two live processes adopting at once each get a row once.
    """
    conn = await session.connection()
    named = [d for d in dead if d]
    whose = [_T.c.owner.in_(named)] if named else []
    if "" in dead:
        whose += [_T.c.owner.is_(None), _T.c.owner == ""]
    ids = select(_T.c.event_id).where(
        _T.c.status == "pending", _T.c.platform == platform, or_(*whose),
    ).order_by(_T.c.received_at, _T.c.event_id).limit(limit)
    if conn.dialect.name != "sqlite":
        ids = ids.with_for_update(skip_locked=True)
    rows = (await conn.execute(update(_T).where(_T.c.event_id.in_(ids.scalar_subquery()))
                               .values(owner=owner).returning(_T.c.event_id, _T.c.payload, _T.c.received_at))).all()
    return [(str(r[0]), str(r[1] or "")) for r in sorted(rows, key=lambda r: (r[2], r[0]))]


async def count_waiting(conn: Any) -> int:
    """Deliveries acknowledged and not handled yet (pending), every platform (`/metrics`)."""
    from sqlalchemy import func

    return int(await conn.scalar(select(func.count()).select_from(_T).where(_T.c.status == "pending")) or 0)
