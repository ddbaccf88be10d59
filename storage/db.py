"""Engine, sessions and migrations: SQLite by default, PostgreSQL when STEWARD_DATABASE_URL says so."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import limits, sqlite_driver
from storage.faults import mask_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
PING_AFTER_REST = 5.0  # seconds a pooled PostgreSQL connection may rest before it is pinged at checkout


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says which forms work."""


def resolve_url(url: str | None, data_dir: Path) -> str:
    """The async SQLAlchemy URL to use: the given one, normalised, or SQLite in `data_dir`."""
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{data_dir / 'steward.db'}"
    if url.count("@") > 1:  # a password with a bare `@`: the parser would take part of it for the host
        raise DatabaseUrlError(
            f"STEWARD_DATABASE_URL ({mask_url(url)}) holds more than one `@`: percent-encode the password's "
            "special characters (@ as %40, / as %2F, : as %3A), e.g. postgresql://user:p%40ss@127.0.0.1:5432/steward")
    try:
        parsed = make_url(url)
    except Exception:  # sqlalchemy raises ArgumentError with a terse text
        raise DatabaseUrlError(  # never echo the password: the URL is shown masked
            f"STEWARD_DATABASE_URL ({mask_url(url)}) is not a database URL; expected e.g. "
            "postgresql://user@127.0.0.1:5432/steward or sqlite:////var/lib/steward/steward.db") from None
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
    if conn.get_execution_options().get("read_only"):
        conn.exec_driver_sql("BEGIN")
        return
    driver = conn.connection.dbapi_connection
    if isinstance(driver, sqlite_driver.OneTripConnection):
        # the lock free (the usual case): taken inline; else waited for on the thread; then the rest of
        # the transaction runs inline, since it holds the lock
        if not driver.begin_writing_inline(SQLITE_BUSY_TIMEOUT_MS):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            driver.writing()
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")


POOL_SIZE = 12  # PostgreSQL connections a process keeps (two processes stay far under max_connections=100)
POOL_OVERFLOW = 8  # opened beyond that under a burst, closed when returned


def create_engine(url: str) -> AsyncEngine:
    """An async engine with the per-backend settings Steward relies on."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                                     module=sqlite_driver.dbapi())  # one thread hop per statement
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        limits.install(engine)
        return engine
    # Kept connections cover the usual concurrency (events in flight, the inbox and outbox writers): an
    # overflow connection is closed when returned, and opening one forks a PostgreSQL backend, so a pool
    # of 5 under a burst opened ~3 connections per 100 events (bench/slack_throughput.py --postgres).
    engine = create_async_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    event.listen(engine.sync_engine.pool, "checkin", _rested_from)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_rested(engine))
    limits.install(engine)
    return engine


def _rested_from(_dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info["rested_from"] = time.monotonic()


def _ping_if_rested(engine: AsyncEngine) -> Callable[[Any, Any, Any], None]:
    """A pre-ping for connections that rested `PING_AFTER_REST` seconds, not for every checkout.

    SQLAlchemy's `pool_pre_ping` costs a round trip per transaction, i.e. per event; a connection that
    was used a moment ago is alive. After a database restart, a connection used within that moment may
    still fail once: the error invalidates the whole pool, and the event goes back for redelivery.
    """
    dialect = engine.sync_engine.dialect

    def ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        rested_from = record.info.get("rested_from")
        if rested_from is None or time.monotonic() - rested_from < PING_AFTER_REST:
            return
        try:
            alive = dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("the database closed a pooled connection") from exc
        if not alive:
            raise DisconnectionError("the database closed a pooled connection")

    return ping


WRITER_REST = 0.5  # seconds without a write before the writers' connection goes back to the pool


def _still_in_transaction(conn: AsyncConnection) -> bool:
    """Whether SQLite still holds a transaction open on this connection (True when it cannot tell)."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return True
    driver = sync.connection.dbapi_connection
    return not isinstance(driver, sqlite_driver.OneTripConnection) or driver.in_transaction


class WriteTurns:
    """SQLite's one writer at a time, queued in this process rather than in SQLite's busy handler.

    A writer that finds SQLite's lock taken sleeps in the busy handler and looks again after 1, 2, 5,
    10, 15… ms, so under load each transaction waited well past the commit it queued behind, holding a
    pooled connection and a thread meanwhile. Here writers queue and the next one starts the moment the
    previous one is done (the turn is handed over, no wake-up race). Other processes (the CLI) still meet
    SQLite's own lock.

    A writer that someone is waiting on right now (the inbox write that a platform's acknowledgement
    awaits) asks to go `ahead`: it takes the next turn before every queued ordinary writer, so an ack
    waits for at most the one transaction in progress, not for every event queued behind it.

    A session opened inside another one of the same task (or a task it started) does not queue: it
    would wait for itself. Nor does one that waited `SQLITE_BUSY_TIMEOUT_MS`: SQLite decides then, as before.
    """

    def __init__(self) -> None:
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _TurnQueue] = weakref.WeakKeyDictionary()
        self._holding: ContextVar[bool] = ContextVar(f"write_turn_{id(self)}", default=False)

    @asynccontextmanager
    async def turn(self, *, ahead: bool = False) -> AsyncIterator[bool]:
        """Wait for this process's other writers to finish, then write. Yields True when this writer
        holds the turn (False: nested in a turn it already holds, or gone ahead after the timeout)."""
        if self._holding.get():
            yield False
            return
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _TurnQueue()
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):  # no task per wait, unlike wait_for
                await queue.take(ahead)
        except TimeoutError:
            log.warning("waited %d ms for this process's other SQLite writers; going ahead", SQLITE_BUSY_TIMEOUT_MS)
            yield False
            return
        token = self._holding.set(True)
        try:
            yield True
        finally:
            self._holding.reset(token)
            queue.hand_over()


class _TurnQueue:
    """One loop's write turn: held or not, and who waits for it (those going ahead first, each in order)."""

    def __init__(self) -> None:
        self.held = False
        self._ahead: deque[asyncio.Future[None]] = deque()
        self._behind: deque[asyncio.Future[None]] = deque()

    async def take(self, ahead: bool) -> None:
        """Return holding the turn."""
        if not self.held:
            self.held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._ahead if ahead else self._behind).append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.hand_over()  # handed to us as we gave up: pass it on
            else:
                waiter.cancel()  # skipped by `hand_over`
            raise

    def hand_over(self) -> None:
        """The holder is done: the turn goes to the next waiter still waiting, or is free."""
        for waiters in (self._ahead, self._behind):
            while waiters:
                waiter = waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn stays held: it is theirs now
                    return
        self.held = False


class Database:
    """One engine and its session factory; `session()` opens a unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._turns = WriteTurns() if self.is_sqlite else None
        self._writer: AsyncConnection | None = None  # SQLite: the writers' connection, kept while writes keep coming
        self._writer_loop: asyncio.AbstractEventLoop | None = None
        self._writer_used = 0.0
        self._rest: asyncio.TimerHandle | None = None
        self._releasing: asyncio.Task[None] | None = None

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded default."""
        return self.url.startswith("sqlite")

    @asynccontextmanager
    async def session(self, *, ahead: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed on success and rolled back on error.

        `ahead`: someone waits on this write right now (an acknowledgement): on SQLite it takes the next
        write turn before the ordinary writers already queued (`WriteTurns`)."""
        if self._turns is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._turns.turn(ahead=ahead) as mine:
            if not mine:
                async with self._sessions() as session, session.begin():
                    yield session
                return
            async with self._writer_session() as session:
                yield session

    @asynccontextmanager
    async def _writer_session(self) -> AsyncIterator[AsyncSession]:
        """SQLite, holding the write turn: a session on the writers' connection, kept between turns while
        writes keep coming (a burst of events pays no pool checkout and return per event) and given back to
        the pool once none came for `WRITER_REST` seconds, or at `dispose`. After the commit the session's
        objects are detached, as a closed session leaves them."""
        loop = asyncio.get_running_loop()
        conn = self._writer
        if conn is not None and (self._writer_loop is not loop or conn.closed or conn.invalidated):
            conn = self._writer = None  # another loop's (its own run ended): left to the pool's clean-up
            self._rest = None  # its timer, if any, is that loop's
        if conn is None:
            conn = self._writer = await self.engine.connect()
            self._writer_loop = loop
        self._writer_used = loop.time()
        session = self._sessions(bind=conn)
        try:
            yield session
            await session.commit()
        except BaseException:
            try:
                await session.rollback()
            except Exception:
                self._writer = None
                await conn.invalidate()  # a connection that cannot roll back is not used again
                raise
            if self._writer is conn and _still_in_transaction(conn):
                # e.g. a COMMIT refused by a deferred constraint leaves SQLite's transaction open, and
                # SQLAlchemy leaves it to the pool's reset: give the connection back so the pool does it
                self._writer = None
                await conn.close()
            raise
        finally:
            session.expunge_all()
            if self._writer is conn and self._rest is None:
                # in a context of its own: the writer's holds its turn (`WriteTurns`), the release must queue for one
                self._rest = loop.call_later(WRITER_REST, self._maybe_rest, context=contextvars.Context())

    def _maybe_rest(self) -> None:
        """Give the writers' connection back to the pool when no write used it for `WRITER_REST` seconds."""
        self._rest = None
        conn, loop = self._writer, self._writer_loop
        if conn is None or loop is None:
            return
        idle = loop.time() - self._writer_used
        if idle < WRITER_REST:
            self._rest = loop.call_later(WRITER_REST - idle, self._maybe_rest, context=contextvars.Context())
            return
        self._releasing = loop.create_task(self._release_writer(conn))  # kept: the loop holds tasks weakly

    async def _release_writer(self, conn: AsyncConnection) -> None:
        assert self._turns is not None
        async with self._turns.turn() as mine:  # not while a write uses it
            if mine and self._writer is conn:
                self._writer = None
                await conn.close()

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
        if self._rest is not None:
            self._rest.cancel()
            self._rest = None
        if self._writer is not None:
            writer, self._writer = self._writer, None
            if self._writer_loop is asyncio.get_running_loop():
                await writer.close()
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
