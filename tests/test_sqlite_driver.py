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


async def test_a_write_an_acknowledgement_waits_on_goes_before_queued_writers(sqlite: Database) -> None:
    """The inbox write behind a Slack ack takes the next write turn, ahead of the events already queued."""
    order: list[str] = []
    holding, release = asyncio.Event(), asyncio.Event()

    async def write(name: str, *, ahead: bool = False, hold: bool = False) -> None:
        async with sqlite.session(ahead=ahead) as session:
            await (await session.connection()).execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})
            order.append(name)
            if hold:
                holding.set()
                await release.wait()

    first = asyncio.create_task(write("event-0", hold=True))
    await holding.wait()
    queued = [asyncio.create_task(write(f"event-{i}")) for i in (1, 2, 3)]
    await asyncio.sleep(0.01)  # the events are queued for the turn
    acks = [asyncio.create_task(write(f"ack-{i}", ahead=True)) for i in (1, 2)]
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(first, *queued, *acks)
    assert order == ["event-0", "ack-1", "ack-2", "event-1", "event-2", "event-3"]
    async with sqlite.session() as session:  # all committed, the turn free again
        rows = (await (await session.connection()).execute(text("SELECT count(*) FROM t"))).scalar_one()
    assert rows == 6


async def test_a_writer_that_gives_up_waiting_passes_the_turn_on(sqlite: Database) -> None:
    """A cancelled wait never keeps the turn: neither while queued nor when handed the turn as it left."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with sqlite.session():
            holding.set()
            await release.wait()

    async def write(name: str, *, ahead: bool = False) -> None:
        async with sqlite.session(ahead=ahead) as session:
            await (await session.connection()).execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})

    holder = asyncio.create_task(hold())
    await holding.wait()
    gone = asyncio.create_task(write("gone", ahead=True))
    late = asyncio.create_task(write("late"))
    await asyncio.sleep(0.01)
    gone.cancel()  # queued, then cancelled
    release.set()
    await holder
    handed = asyncio.create_task(write("handed"))  # the turn is free or held by `late`: either way it ends
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.wait_for(asyncio.gather(late, handed), 5)
    async with sqlite.session() as session:
        names = (await (await session.connection()).execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
    assert names == ["late", "handed"]


async def test_a_turn_handed_to_a_writer_as_it_is_cancelled_is_passed_on() -> None:
    from storage.db import _TurnQueue

    queue = _TurnQueue()
    await queue.take(ahead=False)
    waiting = asyncio.create_task(queue.take(ahead=False))
    await asyncio.sleep(0)
    queue.hand_over()  # the turn is now the waiter's…
    waiting.cancel()  # …which gives up before it runs again
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not queue.held
    await asyncio.wait_for(queue.take(ahead=True), 1)
