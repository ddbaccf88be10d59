"""The inbox: deliveries persisted before they are acknowledged, so none is lost after the ack.

Written in batches (one transaction for every delivery that arrived meanwhile), with plain
`INSERT … ON CONFLICT DO NOTHING RETURNING` so a retried delivery is recognised without a read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, delete, exists, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxEvent, ProcessedEvent
from storage.types import utcnow

_TABLE: Any = InboxEvent.__table__  # type: ignore[attr-defined]


async def put_many(session: AsyncSession, platform: str, items: Sequence[tuple[str, str]]) -> set[str]:
    """Persist `(event_id, payload)` deliveries; returns the ids that were new (others are retries)."""
    if not items:
        return set()
    conn = await session.connection()
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    now = utcnow()
    unique = dict(items)
    stmt = (insert(_TABLE).values([{"event_id": event_id, "platform": platform, "payload": payload,
                                    "status": "pending", "attempts": 0, "received_at": now}
                                   for event_id, payload in unique.items()])
            .on_conflict_do_nothing(index_elements=["event_id"]).returning(_TABLE.c.event_id))
    return set((await conn.execute(stmt)).scalars())


async def put(session: AsyncSession, event_id: str, platform: str, payload: str) -> bool:
    """Persist one delivery; False when the same event id is already waiting (a retried delivery)."""
    return bool(await put_many(session, platform, [(event_id, payload)]))


async def pending(session: AsyncSession, platform: str, limit: int = 1000) -> list[InboxEvent]:
    """Deliveries still waiting for their work, oldest first."""
    stmt = (select(InboxEvent)
            .where(col(InboxEvent.platform) == platform, col(InboxEvent.status) == "pending")
            .order_by(col(InboxEvent.received_at), col(InboxEvent.event_id)).limit(limit))
    return list((await session.exec(stmt)).all())


async def settle(session: AsyncSession, done: Sequence[str], attempted: Sequence[str], max_attempts: int) -> int:
    """Close worked deliveries: `done` ones and `attempted` ones the core claimed are deleted (their
    payload may hold a member's words); the other attempted ones count a failed attempt and, past
    `max_attempts`, are parked as `dead` for the operator. Returns how many stay for a retry."""
    conn = await session.connection()
    if done:
        await conn.execute(delete(_TABLE).where(_TABLE.c.event_id.in_(done)))
    if not attempted:
        return 0
    claimed = exists().where(ProcessedEvent.__table__.c.event_id == _TABLE.c.event_id)  # type: ignore[attr-defined]
    await conn.execute(delete(_TABLE).where(_TABLE.c.event_id.in_(attempted), claimed))
    kept = await conn.execute(
        update(_TABLE).where(_TABLE.c.event_id.in_(attempted))
        .values(attempts=_TABLE.c.attempts + 1,
                status=case((_TABLE.c.attempts + 1 >= max_attempts, "dead"), else_=_TABLE.c.status)))
    return int(kept.rowcount or 0)
