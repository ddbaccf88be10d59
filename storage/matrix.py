"""What the Matrix adapter keeps: its sync token, device and transaction-id prefix (adapter_state), polls."""

from __future__ import annotations

import json

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AdapterState, MatrixPoll
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
