"""The ritual engine: one APScheduler 3 `AsyncIOScheduler`, its jobs kept in Steward's database.

- Job store: APScheduler's `SQLAlchemyJobStore` (table `apscheduler_jobs`, created by APScheduler) is
  synchronous, so it gets a *sync* URL derived from Steward's async one (`sync_url`), and every call
  into it runs in a worker thread (`_ThreadedScheduler`), never on the event loop.
- One job per active ritual, id `ritual:<id>`, firing at every step time (`RitualTrigger`); its target is
  `rituals.jobs.fire_ritual(ritual_id, fire_time)`, which hands each due step to the core as a `Scheduled`
  event. The features' periodic finders (`Router.periodic`: escalations, survey and consultation closings) run
  as local interval jobs on the leader and dispatch what they find the same way. The `ritual` table is the
  truth: the leader re-syncs rituals whose `revision` moved (whichever process changed them) every
  `sync_interval` seconds.
- Several processes on one PostgreSQL: only the holder of a session-level `pg_try_advisory_lock`, taken on
  a dedicated connection and held while leading, attaches the job store and fires jobs. Others retry every
  `leader_retry` seconds; when the leader dies its connection dies, the lock goes with it, and another
  process takes over within seconds. SQLite means one process: it always leads.
- Missed fire times: APScheduler hands over every missed time; the executor drops all but the last
  (coalesce, each logged), and `fire_ritual` skips even that one when it is older than the grace window.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core import Steward
from bot.errors import ConfigError
from bot.features.ritual_common import schedule_of, step_offsets
from bot.metrics import SCHEDULER_LATENESS
from bot.router import Periodic
from bot.scheduling import run_periodic
from rituals import jobs
from rituals.trigger import RitualTrigger
from storage.db import SQLITE_BUSY_TIMEOUT_MS
from storage.locks import advisory_lock, lock_engine
from storage.models import Ritual
from storage.rituals import mark_synced, rituals_to_sync

log = logging.getLogger(__name__)

RITUALS = "rituals"  # the shared, persistent job store
LOCAL = "local"  # this process's own housekeeping jobs (leader heartbeat, sync)
RETRY_AFTER_ERROR = 5.0  # seconds before the scheduler looks at its jobs again after a failure
LEADER_LOCK = 0x53_74_65_77_61_72_64_31  # "Steward1": the advisory lock key of the ritual leader
PERIODIC_ENV = "STEWARD_PERIODIC_SECONDS"


def periodic_override(env: Mapping[str, str] | None = None) -> float | None:
    """STEWARD_PERIODIC_SECONDS: one interval for every periodic finder instead of each one's own (60 s for
    survey closings); for tests and demos that cannot wait a minute for due work. None when unset."""
    raw = (os.environ if env is None else env).get(PERIODIC_ENV, "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0.1 <= seconds <= 86400:
        raise ConfigError(PERIODIC_ENV, raw, "a number of seconds between 0.1 and 86400 (unset: each job's own)")
    return seconds


def sync_url(async_url: str) -> str:
    """The synchronous twin of Steward's async URL, for APScheduler's synchronous job store.

    sqlite+aiosqlite → sqlite (stdlib driver), postgresql+asyncpg → postgresql+psycopg (psycopg 3).
    """
    url = make_url(async_url)
    backend = url.get_backend_name()
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}.get(backend)
    if driver is None:
        raise ValueError(f"no synchronous driver for {backend!r}")
    return url.set(drivername=driver).render_as_string(hide_password=False)


def _job_store_engine(async_url: str) -> Engine:
    """The job store's synchronous engine; on SQLite with the same WAL settings as Steward's own."""
    url = sync_url(async_url)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=2)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions begin below, IMMEDIATE: see `immediate`
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, no fsync per job update
        cur.close()

    def immediate(conn: Any) -> None:
        # A deferred transaction that read and then writes fails at once with "database is locked" in WAL
        # mode when another connection wrote meanwhile (no busy wait can help it); take the write lock first.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", pragmas)
    event.listen(engine, "begin", immediate)
    return engine


class _LoopExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs coroutine jobs on the scheduler's event loop; safe to submit from a worker thread."""

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._loop: asyncio.AbstractEventLoop = scheduler._eventloop
        self._futures: set[Future[Any]] = set()

    def shutdown(self, wait: bool = True) -> None:
        for future in list(self._futures):
            future.cancel()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        future = asyncio.run_coroutine_threadsafe(self._run(job, run_times), self._loop)
        self._futures.add(future)

        def done(f: Future[Any]) -> None:
            self._futures.discard(f)
            if f.cancelled() or f.exception() is not None:
                self._run_job_error(job.id, f.exception() if not f.cancelled() else asyncio.CancelledError())
            else:
                self._run_job_success(job.id, [])

        future.add_done_callback(done)

    async def _run(self, job: Any, run_times: list[datetime]) -> None:
        if job._jobstore_alias != RITUALS:
            await job.func(*job.args, **job.kwargs)
            return
        SCHEDULER_LATENESS.observe(max(0.0, (datetime.now(UTC) - run_times[-1]).total_seconds()))
        for missed in run_times[:-1]:
            log.warning("ritual job %s (%s): fire time %s missed while no scheduler ran: skipped",
                        job.id, job.name, missed)
        await job.func(*job.args, run_times[-1])


class _ThreadedScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """AsyncIOScheduler whose job-store work (blocking SQL) runs in a worker thread, one pass at a time."""

    _busy = False
    _again = False

    @run_in_event_loop  # type: ignore[untyped-decorator]
    def wakeup(self) -> None:
        self._stop_timer()
        if self._busy:
            self._again = True
            return
        self._busy = True
        self._eventloop.create_task(self._process_in_thread())

    async def _process_in_thread(self) -> None:
        try:
            wait = await asyncio.to_thread(self._process_jobs)
        except Exception:  # a job store that failed once must not stop the scheduler for good
            log.exception("the scheduler could not read its jobs; trying again in %.0f s", RETRY_AFTER_ERROR)
            wait = RETRY_AFTER_ERROR
        finally:
            self._busy = False
        if self._again:
            self._again = False
            wait = 0
        if self._eventloop is not None:
            self._start_timer(wait)


class RitualScheduler:
    """Owns the scheduler, the leadership and the sync of rituals into jobs."""

    def __init__(self, steward: Steward, *, leader_retry: float = 3.0, sync_interval: float = 5.0) -> None:
        self.steward = steward
        self.leader_retry, self.sync_interval = leader_retry, sync_interval
        self.scheduler = _ThreadedScheduler(timezone=UTC, executors={"default": _LoopExecutor()},
                                            jobstores={LOCAL: MemoryJobStore()},
                                            job_defaults={"coalesce": False, "max_instances": 1,
                                                          "misfire_grace_time": None})
        self.is_leader = False
        self._lock_engine: AsyncEngine | None = None
        self._lock_conn: AsyncConnection | None = None
        self._sync_lock = asyncio.Lock()

    @property
    def _sqlite(self) -> bool:
        return self.steward.db.is_sqlite

    async def start(self, paused: bool = False) -> None:
        """Bind the job targets to this Steward, start the scheduler (held back if `paused`) and try to lead."""
        jobs.bind(self.steward)
        self.scheduler.start(paused=paused)
        await self.heartbeat()
        self.scheduler.add_job(self.heartbeat, "interval", seconds=self.leader_retry, id="leader",
                               jobstore=LOCAL, replace_existing=True)
        self.scheduler.add_job(self.sync, "interval", seconds=self.sync_interval, id="sync", jobstore=LOCAL,
                               replace_existing=True)
        every = periodic_override()
        for periodic in self.steward.router.periodics:
            self.scheduler.add_job(self.run_periodic, "interval", args=(periodic,), seconds=every or periodic.every,
                                   id=f"periodic:{periodic.job}", jobstore=LOCAL, replace_existing=True)

    async def run_periodic(self, periodic: Periodic) -> None:
        """Leader only: dispatch what a feature's finder says is due now (escalations, closings…)."""
        if not self.is_leader:
            return
        try:
            await run_periodic(self.steward, periodic, datetime.now(UTC))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled job %s failed; it runs again in %.0f s", periodic.job, periodic.every)

    async def stop(self) -> None:
        """Stop firing, give up leadership (the lock), unbind."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # shutdown runs on the loop (APScheduler's run_in_event_loop)
        await self._resign()
        if self._lock_engine is not None:
            await self._lock_engine.dispose()
            self._lock_engine = None
        if jobs._current is self.steward:
            jobs.bind(None)

    async def heartbeat(self) -> None:
        """Leader: check the lock's connection is alive. Follower: try to take the lock."""
        try:
            if self.is_leader:
                if self._lock_conn is not None:
                    await self._lock_conn.execute(text("SELECT 1"))
                return
            if self._sqlite or await self._try_lock():
                await self._lead()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self.is_leader:
                log.warning("lost the ritual leader lock (%s): stop firing until it is taken again", exc)
            await self._resign()

    async def leader_known(self) -> bool:
        """True when a process leads the rituals: this one, or (PostgreSQL) whichever holds the leader lock."""
        if self.is_leader:
            return True
        if self._sqlite:
            return False
        async with self.steward.db.reader() as conn:  # advisory lock keys show in pg_locks split in two halves
            held = await conn.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :high AND objid = :low"), {"high": LEADER_LOCK >> 32, "low": LEADER_LOCK & 0xFFFFFFFF})
        return bool(held)

    async def _try_lock(self) -> bool:
        if self._lock_engine is None:
            self._lock_engine = lock_engine(self.steward.db.url)
        self._lock_conn = await advisory_lock(self._lock_engine, LEADER_LOCK, wait=False)
        return self._lock_conn is not None

    async def _lead(self) -> None:
        store = SQLAlchemyJobStore(engine=_job_store_engine(self.steward.db.url))
        await asyncio.to_thread(self.scheduler.add_jobstore, store, RITUALS)
        self.is_leader = True
        log.info("leading the ritual scheduler (advisory lock: %s)", "n/a on SQLite" if self._sqlite else "held")
        try:
            await self.sync()
        except Exception:  # the next periodic sync retries; leadership itself is fine
            log.exception("could not sync rituals into the job store")

    async def _resign(self) -> None:
        if self.is_leader:
            self.is_leader = False
            try:
                await asyncio.to_thread(self.scheduler.remove_jobstore, RITUALS)
            except KeyError:
                pass
        if self._lock_conn is not None:
            conn, self._lock_conn = self._lock_conn, None
            try:
                await conn.close()
            except Exception:  # the connection may be dead already: that released the lock
                log.debug("lock connection already closed", exc_info=True)

    async def sync(self) -> int:
        """Bring jobs in line with rituals changed since the last sync; returns how many were synced."""
        if not self.is_leader:
            return 0
        async with self._sync_lock:
            synced = 0
            while True:
                async with self.steward.db.session() as session:
                    batch = await rituals_to_sync(session)
                if not batch:
                    return synced
                await asyncio.to_thread(self._apply, batch)
                async with self.steward.db.session() as session:
                    for ritual in batch:
                        assert ritual.id is not None
                        await mark_synced(session, ritual.id, ritual.revision)
                synced += len(batch)

    def _apply(self, rituals: list[Ritual]) -> None:
        """In a worker thread: add, replace or remove each ritual's job."""
        now = datetime.now(UTC)
        for ritual in rituals:
            job_id = f"ritual:{ritual.id}"
            if ritual.status != "active":
                try:
                    self.scheduler.remove_job(job_id, jobstore=RITUALS)
                except JobLookupError:
                    pass
                continue
            trigger = RitualTrigger(schedule_of(ritual), tuple(o for _, o in step_offsets(ritual)))
            if trigger.get_next_fire_time(None, now) is None:
                try:
                    self.scheduler.remove_job(job_id, jobstore=RITUALS)
                except JobLookupError:
                    pass
                continue
            self.scheduler.add_job(jobs.fire_ritual, trigger=trigger, args=(ritual.id,), id=job_id,
                                   name=ritual.title or ritual.kind, jobstore=RITUALS, replace_existing=True)

    def next_fire_time(self, ritual_id: int) -> datetime | None:
        """When the ritual's job fires next (None: no job, or not leading). Blocking: for tests and tools."""
        job = self.scheduler.get_job(f"ritual:{ritual_id}", jobstore=RITUALS) if self.is_leader else None
        return None if job is None else job.next_run_time
