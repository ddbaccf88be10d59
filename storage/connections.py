"""The connection of a session's current transaction, asked of SQLAlchemy once per transaction.

`AsyncSession.connection()` crosses into SQLAlchemy's greenlet and looks its proxy up again at every
call; an event's transaction asks three or four times (cross out, claim, keep its replies). The
connection is kept in the session's `info` beside the transaction it belongs to, and used again only
while that same transaction is active: after a commit, rollback or close, SQLAlchemy is asked anew.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

_HELD = "steward_connection"


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """`session.connection()`, remembered for the rest of the current transaction."""
    sync = session.sync_session
    transaction = sync.get_transaction()
    if transaction is not None and transaction.is_active:
        held = sync.info.get(_HELD)
        if held is not None and held[0] is transaction:
            conn: AsyncConnection = held[1]
            return conn
    conn = await session.connection()
    sync.info[_HELD] = (sync.get_transaction(), conn)
    return conn
