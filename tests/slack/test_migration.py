"""Migration 0003_slack applies from empty, downgrades and applies again (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, inspect

from storage.db import Database, alembic_config


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_inbox_migration_round_trip(db: Database) -> None:
    async with db.engine.begin() as conn:
        assert "inbox_event" in await conn.run_sync(_tables)
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0002_routing"))
        assert "inbox_event" not in await conn.run_sync(_tables)
    await db.upgrade()
    async with db.engine.begin() as conn:
        assert "inbox_event" in await conn.run_sync(_tables)
