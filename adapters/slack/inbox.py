"""Ack fast, lose nothing: persist each delivery, acknowledge, then do the work in the background.

`accept` runs inside Slack's 3-second window: it writes the body to the inbox table and only then
lets the caller acknowledge. Writes are group-committed: one writer task puts every delivery that
arrived meanwhile in one transaction (SQLite has one writer at a time; one commit per delivery
made acks wait behind the core's transactions). The work (`Sink`, i.e. `Steward.dispatch`)
runs afterwards, one event at a time per channel so a channel's events keep their order. When the
core has claimed the event (its transaction committed) the row is deleted; otherwise (a failed
commit, a shutdown, a crash) it stays `pending` and is replayed at the next start or when Slack
retries the delivery.

On SQLite one event's work runs at a time (one writer). The slot covers the core's transaction, not
the sending of its replies: the adapter gives it back (`replies_started`) when the core starts
sending, so a reply waiting out a channel's `429` does not hold up other channels' events.

Each delivery carries the moment it reached us (`time.monotonic()`, from the transport): a modal's
trigger expires ~3 s after Slack sent it, however long the event then waited for its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from bot.adapter import Sink
from bot.events import ChoicePicked, CommandInvoked, Event
from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
Translate = Callable[[dict[str, Any]], Event | None]
Enrich = Callable[[Event, float | None], Awaitable[Event]]  # the event and when it arrived (None: replayed)


class _Slot:
    """One event's turn to run in the core; given back once, early or at the end."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore, self._held = semaphore, False

    async def __aenter__(self) -> _Slot:
        await self._semaphore.acquire()
        self._held = True
        return self

    async def __aexit__(self, *_: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


_SLOT: ContextVar[_Slot | None] = ContextVar("steward_slack_slot", default=None)


def replies_started() -> None:
    """The core sends after its transaction: let the next event's work start while this one's replies go out.

    Called by the adapter's `send`; it runs inside the event's work (same task), outside it does nothing.
    """
    slot = _SLOT.get()
    if slot is not None:
        slot.release()


class Intake:
    """The inbox of one platform and the background work it feeds."""

    def __init__(self, db: Database, platform: str, translate: Translate, enrich: Enrich,
                 concurrency: int | None = None) -> None:
        self.db, self.platform = db, platform
        # SQLite has one writer: more dispatches at once only make the inbox writer (the acks) wait.
        self._slots = asyncio.Semaphore(concurrency or (1 if db.is_sqlite else 8))
        self._translate, self._enrich = translate, enrich
        self._sink: Sink | None = None
        self._inflight: set[str] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._puts: list[tuple[str, str, asyncio.Future[bool]]] = []
        self._done: list[str] = []
        self._attempted: list[str] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def start(self, sink: Sink) -> None:
        """Where events go from now on; starts the inbox writer."""
        self._sink = sink
        self._writer = asyncio.get_running_loop().create_task(self._write_batches())

    async def close(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            self._wake.set()
            await writer

    async def _write_batches(self) -> None:
        while self._writer is not None or self._puts or self._done or self._attempted or self._waiters:
            await self._wake.wait()
            self._wake.clear()
            puts, self._puts = self._puts, []
            done, self._done = self._done, []
            attempted, self._attempted = self._attempted, []
            waiters, self._waiters = self._waiters, []
            try:
                await self._write(puts, done, attempted)
            finally:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def _write(self, puts: list[tuple[str, str, asyncio.Future[bool]]], done: list[str],
                     attempted: list[str]) -> None:
        try:
            async with self.db.session() as session:
                fresh = await inbox.put_many(session, self.platform, [(e, p) for e, p, _ in puts])
                kept = await inbox.settle(session, done, attempted, MAX_ATTEMPTS)
        except Exception as exc:  # those deliveries are not acked: Slack sends them again
            log.exception("could not write %d deliveries to the inbox", len(puts))
            for _, _, future in puts:
                if not future.done():
                    future.set_exception(exc)
            return
        for event_id, _, future in puts:
            if not future.done():
                future.set_result(event_id in fresh)
        if kept:
            log.warning("%d event(s) not committed: kept in the inbox for a retry", kept)

    async def accept(self, body: dict[str, Any], arrived: float | None = None) -> Event | None:
        """Persist a delivery before it is acknowledged and schedule its work; None if not for us.

        `arrived` is when the request reached the transport (`time.monotonic()`; default: now).
        Raises when the inbox cannot be written: the caller must then *not* acknowledge, so Slack
        delivers it again.
        """
        arrived = time.monotonic() if arrived is None else arrived
        event = self._translate(body)
        if event is None:
            return None
        assert self._writer is not None, "start the intake first"
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._puts.append((event.event_id, json.dumps(body), future))
        self._wake.set()
        fresh = await future
        if fresh or event.event_id not in self._inflight:
            self._schedule(event, arrived)  # a retried delivery of a pending row is worth a new attempt
        return event

    async def replay(self) -> int:
        """Schedule every pending delivery left by an earlier run; returns how many."""
        async with self.db.session() as session:
            rows = await inbox.pending(session, self.platform)
        for row in rows:
            body = json.loads(row.payload)
            event = self._translate(body)
            if event is None or event.event_id in self._inflight:
                continue
            self._schedule(event, None)  # its interaction, if any, expired long ago
        if rows:
            log.info("replaying %d pending Slack deliveries from the inbox", len(rows))
        return len(rows)

    def _schedule(self, event: Event, arrived: float | None) -> None:
        self._inflight.add(event.event_id)
        lane = event.channel or f"user:{event.sender.id}"
        previous = self._tails.get(lane)
        task = asyncio.get_running_loop().create_task(self._work(event, arrived, previous))
        self._tails[lane] = task
        self._tasks.add(task)

        def forget(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if self._tails.get(lane) is t:
                del self._tails[lane]

        task.add_done_callback(forget)

    async def _work(self, event: Event, arrived: float | None, previous: asyncio.Task[None] | None) -> None:
        try:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(previous)
            assert self._sink is not None, "start the intake first"
            enriched = await self._enrich(event, arrived)
            async with _Slot(self._slots) as slot:
                _SLOT.set(slot)  # this task's own context: `replies_started` releases this slot
                await self._sink(enriched)
            # Settled by the writer: deleted if the core claimed it, else counted as a failed attempt.
            (self._done if _ignored_by_core(event) else self._attempted).append(event.event_id)
            self._wake.set()
        except Exception:
            log.exception("work on %s failed; it stays in the inbox for a retry", event.event_id)
        finally:
            self._inflight.discard(event.event_id)

    async def wait(self, grace: float) -> None:
        """Let scheduled work finish (up to `grace` seconds; the rest is replayed next start)."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
        await self._flush()

    async def _flush(self) -> None:
        """Wait until the writer has written everything queued so far."""
        if self._writer is None:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        self._wake.set()
        await future


def _ignored_by_core(event: Event) -> bool:
    # The core drops other bots' messages before claiming them; they are done, not failed.
    return event.sender.is_bot and not isinstance(event, CommandInvoked | ChoicePicked)
