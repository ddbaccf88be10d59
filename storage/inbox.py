"""The inbox: deliveries persisted before they are acknowledged, so none is lost after the ack."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxEvent, ProcessedEvent


async def put(session: AsyncSession, event_id: str, platform: str, payload: str) -> bool:
    """Persist a delivery; False when the same event id is already waiting (a retried delivery)."""
    if await session.get(InboxEvent, event_id) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(InboxEvent(event_id=event_id, platform=platform, payload=payload))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def pending(session: AsyncSession, platform: str, limit: int = 1000) -> list[InboxEvent]:
    """Deliveries still waiting for their work, oldest first."""
    stmt = (select(InboxEvent).where(InboxEvent.platform == platform, InboxEvent.status == "pending")
            .order_by(col(InboxEvent.received_at), col(InboxEvent.event_id)).limit(limit))
    return list((await session.exec(stmt)).all())


async def finish(session: AsyncSession, event_id: str) -> None:
    """The work is done: forget the payload (it may hold a member's words)."""
    row = await session.get(InboxEvent, event_id)
    if row is not None:
        await session.delete(row)


async def retry_later(session: AsyncSession, event_id: str, max_attempts: int) -> InboxEvent | None:
    """Count a failed attempt; past `max_attempts` the row is parked as `dead` for the operator."""
    row = await session.get(InboxEvent, event_id)
    if row is not None:
        row.attempts += 1
        if row.attempts >= max_attempts:
            row.status = "dead"
    return row


async def was_processed(session: AsyncSession, event_id: str) -> bool:
    """True when the core claimed the event (its work committed, or it failed and was answered)."""
    return await session.get(ProcessedEvent, event_id) is not None
