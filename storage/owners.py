"""Which Steward processes are alive: each process is an *owner* of the deliveries it acknowledged and
the replies it has to send, and holds a PostgreSQL advisory lock on its own key for its lifetime.

A free key means a dead owner, whose work a live process may take over at once. On SQLite one
process writes the database, so every other owner is dead (a previous run). The owner `''` stands
for work carried over by a migration: nobody's, taken by the first process that serves it.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import Database
from storage.locks import advisory_lock, lock_engine


def lock_key(owner: str) -> int:
    """The advisory-lock key (a signed 64-bit integer) that says `owner` is alive."""
    return int.from_bytes(hashlib.sha256(owner.encode()).digest()[:8], "big", signed=True)


class Liveness:
    """This process's owner id, the lock that proves it alive, and the test for others."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.owner = uuid.uuid4().hex
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None

    async def start(self) -> None:
        """Say this owner is alive (PostgreSQL); idempotent."""
        if not self.db.is_sqlite and self._conn is None:
            self._engine = lock_engine(self.db.url)
            self._conn = await advisory_lock(self._engine, lock_key(self.owner), wait=True)

    async def stop(self) -> None:
        """Let go of the lock: from now on others may take over what this owner left."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def dead(self, owner: str) -> bool:
        """True when `owner` is no live process (never this one)."""
        if owner == self.owner:
            return False
        if not owner or self.db.is_sqlite:
            return True
        async with self.db.engine.connect() as conn:
            key = lock_key(owner)
            free = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            if free:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            await conn.rollback()
        return free
