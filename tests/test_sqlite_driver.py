"""The one-trip SQLite driver (storage/sqlite_driver.py) behaves as SQLAlchemy's aiosqlite adapter does."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import exc, text

from storage.db import Database


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with db.session() as session:
        await (await session.connection()).execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield db
    await db.dispose()


@pytest.fixture
def trips() -> Iterator[list[Any]]:
    """Every call made through aiosqlite's worker thread (a spy: the call still happens)."""
    seen: list[Any] = []
    original = aiosqlite.core.Connection._execute

    async def spy(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(fn)
        return await original(self, fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = spy  # type: ignore[method-assign]
    yield seen
    aiosqlite.core.Connection._execute = original  # type: ignore[method-assign]


async def test_rows_counts_and_ids_come_back(sqlite: Database) -> None:
    async with sqlite.session() as session:
        conn = await session.connection()
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('a'), ('b') RETURNING id"))
        assert sorted(inserted.scalars().all()) == [1, 2]
        many = await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "c"}, {"n": "d"}])
        assert many.rowcount == 2
        updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id > 2"))
        assert updated.rowcount == 2
    async with sqlite.reader() as reader:
        rows = (await reader.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c!"), (4, "d!")]


async def test_errors_are_sqlalchemy_errors_and_roll_back(sqlite: Database) -> None:
    with pytest.raises(exc.IntegrityError):
        async with sqlite.session() as session:
            conn = await session.connection()
            await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
            await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
    async with sqlite.reader() as reader:
        assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_a_write_transaction_runs_inline_when_the_lock_is_free(sqlite: Database, trips: list[Any]) -> None:
    async with sqlite.session() as session:
        conn = await session.connection()
        await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert (await conn.execute(text("SELECT name FROM t"))).scalar() == "a"
    # BEGIN IMMEDIATE finds the lock free: it, the INSERT, the SELECT and the COMMIT run inline
    assert len(trips) == 0
    # a reader keeps the thread: a long report must not stall the loop (the writers' connection is still
    # kept for the next write, so the reader's own connection is opened first, then its trips counted)
    async with sqlite.reader() as reader:
        trips.clear()
        assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    assert len(trips) == 3  # BEGIN, SELECT, ROLLBACK (ending the read transaction), all on the thread


async def test_a_writer_waits_for_another_process_on_the_thread_not_on_the_loop(
        sqlite: Database, tmp_path: Path, trips: list[Any]) -> None:
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())

    async def write() -> None:
        async with sqlite.session() as session:
            await (await session.connection()).execute(text("INSERT INTO t (name) VALUES ('waited')"))

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writer.done() and ticks >= 10  # waiting for the lock, and the loop goes on meanwhile
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writer, 5)
    ticker.cancel()
    assert trips  # the BEGIN IMMEDIATE went to the thread to wait
    async with sqlite.reader() as reader:
        assert (await reader.execute(text("SELECT name FROM t"))).scalar() == "waited"


async def test_a_failed_inline_transaction_leaves_the_connection_usable(sqlite: Database) -> None:
    for _ in range(3):  # the same pooled connection, again and again
        with pytest.raises(exc.IntegrityError):
            async with sqlite.session() as session:
                conn = await session.connection()
                await conn.execute(text("INSERT INTO t (name) VALUES ('dup')"))
                await conn.execute(text("INSERT INTO t (name) VALUES ('dup')"))
        async with sqlite.session() as session:
            conn = await session.connection()
            await conn.execute(text("INSERT INTO t (name) VALUES ('ok')"))
            await conn.execute(text("DELETE FROM t"))
    async with sqlite.reader() as reader:
        assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_writes_in_a_row_share_one_connection_given_back_when_writes_stop(
        sqlite: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of events pays no pool checkout per event; at rest the connection goes back to the pool."""
    from storage import db as db_module

    monkeypatch.setattr(db_module, "WRITER_REST", 0.05)
    seen = []
    for name in ("a", "b"):
        async with sqlite.session() as session:
            conn = await session.connection()
            seen.append(conn.sync_connection.connection.dbapi_connection if conn.sync_connection else None)
            await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})
    assert seen[0] is seen[1] and sqlite._writer is not None
    with pytest.raises(exc.IntegrityError):  # a failed write rolls back; the next one works on
        async with sqlite.session() as session:
            await (await session.connection()).execute(text("INSERT INTO t (name) VALUES ('a')"))
    async with sqlite.session() as session:
        await (await session.connection()).execute(text("INSERT INTO t (name) VALUES ('c')"))
    await asyncio.sleep(0.8)  # the rest timer was set before the patch: at most 0.5 s, then 0.05 s more
    assert sqlite._writer is None, "the writers' connection was not given back after the writes stopped"
    async with sqlite.reader() as reader:
        names = (await reader.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
    assert names == ["a", "b", "c"]
