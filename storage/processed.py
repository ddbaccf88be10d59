"""The processed-event ledger behind exactly-once handling."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent


async def claim_event(session: AsyncSession, event_id: str, platform: str) -> bool:
    """Record `event_id` as handled in the current transaction; False if it already was.

    The insert is flushed at once: a concurrent claim of the same id (another process, a retry
    racing the first delivery) waits on the unique key and then fails, so only one handler runs.
    """
    if await session.get(ProcessedEvent, event_id) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(ProcessedEvent(event_id=event_id, platform=platform))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def record_failure(session: AsyncSession, event_id: str, platform: str) -> None:
    """Mark an event whose handler failed, so a redelivery does not repeat the apology."""
    row = await session.get(ProcessedEvent, event_id)
    if row is None:
        session.add(ProcessedEvent(event_id=event_id, platform=platform, status="failed"))
    else:
        row.status = "failed"
