"""PostgreSQL advisory locks held by a connection of their own: the lock lives exactly as long as it."""

from __future__ import annotations

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
