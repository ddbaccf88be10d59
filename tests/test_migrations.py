"""Migrations from empty, on the backend under test (CI runs SQLite, then PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import SQLModel

from storage.db import Database, alembic_config
from tests.conftest import BACKEND, create_pg_database, drop_pg_database


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    if BACKEND == "postgres":
        url = create_pg_database("steward_migrate")
        yield url
        drop_pg_database(url)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_from_empty_creates_every_table_and_downgrade_removes_them(empty_url: str) -> None:
    from alembic import command

    db = Database(empty_url)
    try:
        assert await _tables(db) == set()
        await db.upgrade()
        expected = {t.name for t in SQLModel.metadata.sorted_tables}
        assert expected <= await _tables(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        assert await _tables(db) <= {"alembic_version"}
        await db.upgrade()  # and up again: migrations are repeatable
        assert expected <= await _tables(db)
        await db.upgrade()  # a second upgrade at head is a no-op
    finally:
        await db.dispose()


async def test_models_and_migrations_agree(empty_url: str) -> None:
    """Autogenerate finds nothing to add: every model change has its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(empty_url)
    try:
        await db.upgrade()
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata))
        assert diff == []
    finally:
        await db.dispose()
