"""The one-trip SQLite driver (storage/sqlite_driver.py) behaves as SQLAlchemy's aiosqlite adapter does."""

from __future__ import annotations

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


async def test_one_trip_per_statement(sqlite: Database, trips: list[Any]) -> None:
    async with sqlite.session() as session:
        conn = await session.connection()
        await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert (await conn.execute(text("SELECT name FROM t"))).scalar() == "a"
    assert len(trips) == 4  # BEGIN IMMEDIATE, INSERT, SELECT, COMMIT: no trip to reset a committed connection
