"""Engine, sessions and migrations: SQLite by default, PostgreSQL when STEWARD_DATABASE_URL says so."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says which forms work."""


def resolve_url(url: str | None, data_dir: Path) -> str:
    """The async SQLAlchemy URL to use: the given one, normalised, or SQLite in `data_dir`."""
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{data_dir / 'steward.db'}"
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
        raise DatabaseUrlError(
            f"STEWARD_DATABASE_URL={url!r} is not a database URL; expected e.g. "
            "postgresql://user@127.0.0.1:5432/steward or sqlite:////var/lib/steward/steward.db") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False))
    if backend in ("postgresql", "postgres"):
        return str(parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False))
    raise DatabaseUrlError(
        f"STEWARD_DATABASE_URL uses {backend!r}; Steward supports sqlite and postgresql URLs")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers work while one writer commits; foreign keys make forget-me cascades real.
    # The driver's own transaction handling breaks SAVEPOINT, so we take over BEGIN (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache: imports and index builds touch many pages
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that later writes can fail with
    # SQLITE_BUSY without waiting, while IMMEDIATE waits for the busy timeout like any other writer.
    # Read-only work (see Database.reader) must not queue behind writers: WAL lets it read at once.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")


def create_engine(url: str) -> AsyncEngine:
    """An async engine with the per-backend settings Steward relies on."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """One engine and its session factory; `session()` opens a unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded default."""
        return self.url.startswith("sqlite")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed on success and rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading only: on SQLite it never waits for the write lock."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(read_only=True)

    def new_session(self) -> AsyncSession:
        """A bare session for callers that manage transactions themselves."""
        return self._sessions()

    async def upgrade(self, revision: str = "head") -> None:
        """Apply Alembic migrations up to `revision` (run at start and by `steward db upgrade`)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade_sync, revision)
        if self.is_sqlite and revision == "head":
            from storage.bulk import restore_indexes  # an import that crashed may have left some dropped

            async with self.engine.begin() as conn:
                await restore_indexes(conn)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's config pointing at our migrations (no alembic.ini needed)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade_sync(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def database_from_env(data_dir: Path) -> Database:
    """The database named by STEWARD_DATABASE_URL, or the SQLite file in `data_dir`."""
    return Database(resolve_url(os.environ.get("STEWARD_DATABASE_URL"), data_dir))
