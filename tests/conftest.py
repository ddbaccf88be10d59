"""Shared fixtures: a real database (SQLite file or the machine's PostgreSQL) and a whole bot in-process.

STEWARD_TEST_DATABASE=sqlite (default) or postgres selects the backend; on PostgreSQL each test session
gets its own freshly created database (dropped afterwards), each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.features import build_router
from storage.db import Database

BACKEND = os.environ.get("STEWARD_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("STEWARD_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_report_header() -> str:
    return f"steward test database: {BACKEND}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database(prefix: str = "steward_test") -> str:
    """A new empty PostgreSQL database; returns its SQLAlchemy URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"


def drop_pg_database(url: str) -> None:
    """Drop a database made by `create_pg_database`."""
    name = url.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole session (tests truncate it)."""
    url = create_pg_database()

    async def migrate() -> None:
        db = Database(url)
        await db.upgrade()
        await db.dispose()

    asyncio.run(migrate())
    yield url
    drop_pg_database(url)


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty, migrated database for this test."""
    if BACKEND == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'steward.db'}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A real database with the schema applied and no rows."""
    database = Database(database_url)
    await database.upgrade()
    if not database.is_sqlite:
        names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        async with database.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            # APScheduler's job store is not one of our tables (no migration creates it): start without it.
            await conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
    yield database
    await database.dispose()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A config with one community, `k8s`, living in channel C1 of the recording platform."""
    return Config(data_dir=tmp_path, communities=(CommunityConfig(
        slug="k8s", name="Kubernetes CoP", channels=("recording:C1",), coordinators=("recording:UCOORD",),
        sponsors=("recording:USPONSOR",)),))


@pytest.fixture
async def bot(db: Database, config: Config) -> AsyncIterator[tuple[Steward, RecordingAdapter]]:
    """The whole bot in-process, on the recording adapter."""
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    yield steward, platform
    await steward.stop()


@pytest.fixture
async def ritual_bot(bot: tuple[Steward, RecordingAdapter]) -> AsyncIterator[tuple[Steward, RecordingAdapter]]:
    """The bot, with the scheduler's job targets (rituals, surveys, consultations) bound to it."""
    from rituals import jobs

    jobs.bind(bot[0])
    yield bot
    jobs.bind(None)
