"""PostgreSQL advisory locks held by a connection of their own: the lock lives exactly as long as it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def lock_engine(url: str) -> AsyncEngine:
    """An engine without pooling, for lock connections (a pooled one could outlive its holder)."""
    return create_async_engine(url, poolclass=NullPool)


async def advisory_lock(engine: AsyncEngine, key: int, *, wait: bool) -> AsyncConnection | None:
    """A new connection holding the session-level advisory lock `key`; close it to let go.

    Without `wait`, None when another session holds the lock.
    """
    conn = await engine.connect()
    try:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if wait:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            got = True
        else:
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
    except BaseException:
        await conn.close()
        raise
    if not got:
        await conn.close()
        return None
    return conn


STARTUP_LOCK = 0x53_74_65_77_61_72_64_30  # "Steward0": migrations and the config sync, one process at a time


@asynccontextmanager
async def startup_lock(url: str, is_sqlite: bool) -> AsyncIterator[None]:
    """Hold the start-up lock (PostgreSQL) while migrating and syncing the config: two processes starting
    together would otherwise race on the same `CREATE TABLE` or the same community row. SQLite's own
    write lock already serialises its single process."""
    if is_sqlite:
        yield
        return
    engine = lock_engine(url)
    try:
        conn = await advisory_lock(engine, STARTUP_LOCK, wait=True)
        try:
            yield
        finally:
            if conn is not None:
                await conn.close()
    finally:
        await engine.dispose()
