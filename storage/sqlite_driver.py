"""aiosqlite with one trip to its thread per statement, instead of four.

SQLAlchemy's aiosqlite adapter makes a cursor, executes, fetches and closes it: four calls through
aiosqlite's worker thread per statement, each a queue hand-off, a wake-up of the event loop and a turn
of the GIL between the two threads. Under load those turns are most of an event's time inside its
transaction, and on SQLite that time is spent holding the one write lock everyone waits for. Here a
statement is one call on that thread: execute, fetch every row, close, and hand back the rows with
the cursor's description, row count and last row id.

Inside a write transaction, statements run inline on the event loop's thread instead: once BEGIN
IMMEDIATE has taken SQLite's write lock (on the thread: it may wait for the lock), no statement of the
transaction can wait for another writer, and a small statement costs tens of microseconds where a hop
to the thread and back costs a hundred and two turns of the GIL. Read-only connections (which never
take the lock, and may run long reports) and statements outside a transaction keep the thread.

It leans on two private names of aiosqlite (`Connection._execute`, `Connection._conn`), as SQLAlchemy's
own adapter does for its isolation level; tests/test_sqlite_driver.py fails first if they change.
Server-side cursors (streaming results) keep the adapter's own path.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_


class _Done:
    """What a finished statement left: stands in for the driver's cursor once its rows are read."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount", "rows")

    def __init__(self, description: Any = None, rowcount: int = -1, lastrowid: int | None = None,
                 rows: Sequence[Any] = ()) -> None:
        self.description, self.rowcount, self.lastrowid, self.rows = description, rowcount, lastrowid, rows
        self.arraysize = 1

    def close(self) -> None:
        """Nothing left open."""


def _run(conn: sqlite3.Connection, many: bool, sql: str, params: Any) -> _Done:
    """On aiosqlite's thread: the whole statement, rows included."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        elif params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        rows = cursor.fetchall() if cursor.description else ()
        return _Done(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose every statement is one call through aiosqlite's thread."""

    __slots__ = ()
    _awaitable_cursor_close = False  # nothing to close on the thread: the statement closed its cursor

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Done()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._one_trip(False, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._one_trip(True, operation, seq_of_parameters)

    async def _one_trip(self, many: bool, operation: Any, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        done: _Done
        if self._adapt_connection._inline:  # type: ignore[attr-defined]
            done = _run(connection._conn, many, operation, parameters)  # the transaction holds the lock
        else:
            async with self._adapt_connection._execute_mutex:
                done = await connection._execute(  # type: ignore[no-untyped-call]
                    _run, connection._conn, many, operation, parameters)
        self._cursor = done  # type: ignore[assignment]
        self._rows = collections.deque(done.rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection, handing out `OneTripCursor`s."""

    __slots__ = ("_inline",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._inline = False

    @property
    def inline(self) -> bool:
        """True while a write transaction holds the lock: its statements run on the loop's thread."""
        return self._inline

    @property
    def in_transaction(self) -> bool:
        """Whether SQLite holds a transaction open on this connection (e.g. after a refused COMMIT)."""
        conn: sqlite3.Connection = self._connection._conn
        return conn.in_transaction

    async def run_inline(self, sql: str, args: Any, many: bool) -> list[Any]:
        """One statement of the inline write transaction, straight on the driver (`storage.prepared`)."""
        conn: sqlite3.Connection = self._connection._conn
        cursor = conn.executemany(sql, args) if many else conn.execute(sql, args)
        try:
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()

    def writing(self) -> None:
        """The write lock is taken (BEGIN IMMEDIATE done): run the transaction's statements inline."""
        self._inline = True

    def begin_writing_inline(self, busy_timeout_ms: int) -> bool:
        """BEGIN IMMEDIATE inline if SQLite's write lock is free right now (the usual case: this process's
        writers queue before they get here); False when another process holds it, for the caller to wait
        on the thread instead. Never waits on the loop's thread."""
        conn: sqlite3.Connection = self._connection._conn
        conn.execute("PRAGMA busy_timeout=0")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        self._inline = True
        return True

    def commit(self) -> None:
        """Commit; inline when the transaction ran inline (committing never waits for another writer in WAL)."""
        if self._inline:
            self._inline = False
            self._finish(self._connection._conn.commit)
            return
        super().commit()

    def rollback(self) -> None:
        """Roll back, skipping the trip when no transaction is open (the pool resets every returned
        connection, most of them just committed)."""
        driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        if driver._connection is not None and not driver._conn.in_transaction:
            self._inline = False
            return
        if self._inline:
            self._inline = False
            self._finish(driver._conn.rollback)
            return
        super().rollback()

    def _finish(self, end: Any) -> None:
        try:
            end()
        except Exception as error:
            self._handle_exception(error)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to give the engine (`module=`): connections as SQLAlchemy makes them, one-trip cursors."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        if "async_creator_fn" in kw:
            return OneTripConnection(self, super().connect(*arg, **kw)._connection)
        pending = self.aiosqlite.connect(*arg, **kw)
        pending._thread.daemon = True  # as SQLAlchemy's adapter sets it
        try:
            made = await_(pending)
        except BaseException:
            # aiosqlite stops its worker thread after a failed connect (a locked, unreadable or unwritable
            # file) without waiting: the thread then reports to the event loop, and if `asyncio.run` has
            # closed that loop by then, it prints a traceback under the CLI's one-line message.
            pending._thread.join(timeout=1.0)
            raise
        return OneTripConnection(self, made)


def dbapi() -> OneTripDBAPI:
    """The module object for `create_async_engine(..., module=dbapi())`."""
    return OneTripDBAPI(aiosqlite, sqlite3)
