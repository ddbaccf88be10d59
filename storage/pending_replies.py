"""Replies waiting for delivery (see bot/delivery.py): kept with their event, crossed out once sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import PendingReply
from storage.types import utcnow

_TABLE: Any = PendingReply.__table__  # type: ignore[attr-defined]


async def keep(session: AsyncSession, owner: str, platform: str, event_id: str, payloads: Sequence[str]) -> list[int]:
    """Write the replies down in the caller's transaction; returns their ids, in order."""
    if not payloads:
        return []
    conn = await session.connection()
    now = utcnow()
    rows = [{"owner": owner, "platform": platform, "event_id": event_id, "payload": p, "created_at": now}
            for p in payloads]
    ids = (await conn.execute(insert(_TABLE).values(rows).returning(_TABLE.c.id))).scalars().all()
    return sorted(int(i) for i in ids)


async def cross_out(session: AsyncSession, ids: Sequence[int]) -> None:
    """Forget replies that were sent."""
    if ids:
        conn = await session.connection()
        await conn.execute(delete(_TABLE).where(_TABLE.c.id.in_(ids)))


async def other_owners(session: AsyncSession, owner: str) -> list[str]:
    """The processes other than `owner` that left replies behind (alive or not)."""
    conn = await session.connection()
    rows = await conn.execute(select(_TABLE.c.owner).where(_TABLE.c.owner != owner).distinct())
    return [str(o) for o in rows.scalars().all()]


async def take(session: AsyncSession, owner: str, platforms: Sequence[str]) -> list[tuple[str, str, str, datetime]]:
    """Claim the replies `owner` left on these platforms: (platform, event id, payload, created at), oldest first.

    One `DELETE … RETURNING`: two processes claiming at once each get a row at most once.
    """
    conn = await session.connection()
    t = _TABLE
    rows = (await conn.execute(delete(t).where(t.c.owner == owner, t.c.platform.in_(platforms))
                               .returning(t.c.id, t.c.platform, t.c.event_id, t.c.payload, t.c.created_at))).all()
    return [(r[1], r[2], r[3], r[4]) for r in sorted(rows, key=lambda r: r[0])]
