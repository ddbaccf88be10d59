"""What the Matrix adapter keeps: its sync token and device (adapter_state), polls, the outbox."""

from __future__ import annotations

import json

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AdapterState, MatrixOutbox, MatrixPoll
from storage.types import utcnow

PLATFORM = "matrix"


async def get_state(session: AsyncSession, key: str) -> str | None:
    """A value the adapter kept under `key`, or None."""
    row = await session.get(AdapterState, (PLATFORM, key))
    return row.value if row else None


async def set_state(session: AsyncSession, key: str, value: str) -> None:
    """Keep `value` under `key` (insert or update)."""
    row = await session.get(AdapterState, (PLATFORM, key))
    if row is None:
        session.add(AdapterState(platform=PLATFORM, key=key, value=value))
    else:
        row.value, row.updated_at = value, utcnow()


async def save_poll(session: AsyncSession, event_id: str, room_id: str, key: str, options: list[str],
                    user_id: str | None) -> None:
    """Remember a poll Steward posted, so its answers map back to the question."""
    session.add(MatrixPoll(event_id=event_id, room_id=room_id, key=key, options=json.dumps(options),
                           user_id=user_id))


async def find_poll(session: AsyncSession, event_id: str) -> tuple[MatrixPoll, list[str]] | None:
    """The poll posted as `event_id` and its option ids, or None."""
    poll = await session.get(MatrixPoll, event_id)
    if poll is None:
        return None
    options: list[str] = json.loads(poll.options)
    return poll, options


async def enqueue(session: AsyncSession, item: MatrixOutbox) -> MatrixOutbox:
    """Add an event to the outbox; it has its id once this returns."""
    session.add(item)
    await session.flush()
    return item


async def pending(session: AsyncSession, limit: int = 50) -> list[MatrixOutbox]:
    """The oldest events still waiting to be sent."""
    stmt = select(MatrixOutbox).order_by(col(MatrixOutbox.id)).limit(limit)
    return list((await session.exec(stmt)).all())


async def sent(session: AsyncSession, outbox_id: int) -> None:
    """Drop an outbox entry the homeserver accepted."""
    row = await session.get(MatrixOutbox, outbox_id)
    if row is not None:
        await session.delete(row)


async def failed_attempt(session: AsyncSession, outbox_id: int) -> None:
    """Count one more failed attempt at an outbox entry."""
    row = await session.get(MatrixOutbox, outbox_id)
    if row is not None:
        row.attempts += 1
