"""Durable replies: written down in their event's transaction, sent after the commit, crossed out once sent.

Without this, a crash between an event's commit and the sending of its replies loses them: the
platform redelivers the event, but the core has already claimed it. Now the replies wait in
`pending_reply`; crossing out is batched (one small transaction a second, not one per event).

Each process is an *owner*. A Steward that starts sends what dead owners left, if recent (older
replies would only confuse): on SQLite every other owner is dead (one process writes); on PostgreSQL
each owner holds an advisory lock on its own key for its lifetime, so a free key means a dead owner.
Delivery is at least once: a crash after sending and before crossing out sends that reply again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import reply_codec
from bot.replies import Reply
from storage import pending_replies
from storage.db import Database
from storage.locks import advisory_lock, lock_engine
from storage.types import utcnow

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=1)  # a reply left longer than this is dropped, not sent late
SWEEP_EVERY = 1.0  # seconds between two batches of crossing out


def lock_key(owner: str) -> int:
    """The advisory-lock key (a signed 64-bit integer) that says `owner` is alive."""
    return int.from_bytes(hashlib.sha256(owner.encode()).digest()[:8], "big", signed=True)


class Delivery:
    """This process's pending replies: kept, crossed out, and the ones dead processes left."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.owner = uuid.uuid4().hex
        self._sent: list[int] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._lock_engine: AsyncEngine | None = None
        self._lock_conn: AsyncConnection | None = None

    async def keep(self, session: AsyncSession, platform: str, event_id: str, replies: list[Reply]
                   ) -> list[int | None]:
        """Write the event's replies down in its transaction; one id per reply (None: not kept)."""
        kept = [r for r in replies if reply_codec.keepable(r)]
        ids = iter(await pending_replies.keep(session, self.owner, platform, event_id,
                                              [reply_codec.encode(r) for r in kept]))
        return [next(ids) if reply_codec.keepable(r) else None for r in replies]

    def sent(self, reply_id: int | None) -> None:
        """Note a reply as delivered (or given up on); it is crossed out with the next batch."""
        if reply_id is not None:
            self._sent.append(reply_id)

    async def start(self) -> None:
        """Say this owner is alive (PostgreSQL) and start crossing out in the background."""
        if not self.db.is_sqlite and self._lock_conn is None:
            self._lock_engine = lock_engine(self.db.url)
            self._lock_conn = await advisory_lock(self._lock_engine, lock_key(self.owner), wait=True)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        """Cross out what was sent, then let go of the lock: a clean stop leaves nothing to resend."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.sweep()
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                await self._lock_conn.close()
            self._lock_conn = None
        if self._lock_engine is not None:
            await self._lock_engine.dispose()
            self._lock_engine = None

    async def sweep(self) -> None:
        """Cross out the replies sent since the last sweep."""
        done, self._sent = self._sent, []
        if not done:
            return
        try:
            async with self.db.session() as session:
                await pending_replies.cross_out(session, done)
        except Exception:
            log.exception("could not cross out %d sent replies; retrying with the next batch", len(done))
            self._sent = done + self._sent

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            await self.sweep()

    async def orphans(self, platforms: list[str]) -> list[tuple[str, Reply]]:
        """Claim the replies dead owners left on these platforms: (platform, reply), oldest first.

        Stale ones are dropped; other platforms' replies wait for a process that serves them.
        """
        async with self.db.session() as session:
            owners = await pending_replies.other_owners(session, self.owner)
        out: list[tuple[str, Reply]] = []
        for owner in owners:
            if not await self._dead(owner):
                continue
            async with self.db.session() as session:
                rows = await pending_replies.take(session, owner, platforms)
            stale = 0
            for platform, event_id, payload, created_at in rows:
                if utcnow() - created_at > STALE_AFTER:
                    stale += 1
                    continue
                try:
                    out.append((platform, reply_codec.decode(payload)))
                except ValueError:
                    log.error("dropping an unreadable pending reply of event %s", event_id)
            if stale:
                log.warning("dropped %d replies a stopped Steward left more than %s ago", stale, STALE_AFTER)
        return out

    async def _dead(self, owner: str) -> bool:
        if self.db.is_sqlite:
            return True  # one process writes an SQLite database: any other owner has stopped
        async with self.db.engine.connect() as conn:
            key = lock_key(owner)
            free = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            if free:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            await conn.rollback()
        return free
