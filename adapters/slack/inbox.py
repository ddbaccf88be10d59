"""Ack fast, lose nothing: keep each delivery, acknowledge, then do the work in the background.

`accept` runs inside Slack's 3-second window: it writes the body to the inbound ledger as `pending`
(under this process's owner id) and only then lets the caller acknowledge. Writes are group-committed:
one writer task puts every delivery that arrived meanwhile in one transaction (SQLite has one writer
at a time). The work (`Sink`, i.e. `Steward.dispatch`) runs afterwards, one event at a time per
channel so a channel's events keep their order. The core claims the event by turning its row `done`
in the event's own transaction: no second write. Otherwise (a failed commit, a shutdown, a crash) it
stays `pending`: replayed when Slack retries, at the next start, or — when its process died — by a
live process within seconds (`ADOPT_EVERY`, PostgreSQL), never while its owner lives.

The core's own concurrency slot covers an event's transaction, not the sending of its replies
(bot/delivery.py sends in per-conversation lanes), and so does a channel's turn here: its next event
starts once the previous one's transaction is over (`TRANSACTION_OVER`), while the replies go out. A
reply waiting out one channel's `429` holds up only that channel's next replies, which queue behind it.

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
from typing import Any

from bot.adapter import TRANSACTION_OVER, Sink
from bot.events import ChoicePicked, CommandInvoked, Event
from storage import inbound
from storage.db import Database
from storage.owners import Liveness

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
ADOPT_EVERY = 3.0  # seconds between looks for deliveries a dead process acknowledged (PostgreSQL)
Translate = Callable[[dict[str, Any]], Event | None]
Enrich = Callable[[Event, float | None], Awaitable[Event]]  # the event and when it arrived (None: replayed)


class Intake:
    """The inbox of one platform and the background work it feeds."""

    def __init__(self, db: Database, platform: str, translate: Translate, enrich: Enrich) -> None:
        self.db, self.platform = db, platform
        self._translate, self._enrich = translate, enrich
        self._sink: Sink | None = None
        self._inflight: set[str] = set()
        self._tails: dict[str, asyncio.Future[None]] = {}  # lane -> the turn of its latest event
        self._tasks: set[asyncio.Task[None]] = set()
        self._puts: list[tuple[str, str, asyncio.Future[bool]]] = []
        self._done: list[str] = []
        self._attempted: list[str] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._adopter: asyncio.Task[None] | None = None
        self.liveness = Liveness(db)

    def start(self, sink: Sink, liveness: Liveness | None = None) -> None:
        """Where events go from now on, under whose ownership; starts the inbox writer."""
        self._sink = sink
        if liveness is not None:
            self.liveness = liveness
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_batches())
        if not self.db.is_sqlite:
            self._adopter = loop.create_task(self._adopt_forever())

    async def close(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._adopter is not None:
            self._adopter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._adopter
            self._adopter = None
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
            async with self.db.session(ahead=bool(puts)) as session:  # acks wait on the puts
                fresh = await inbound.put_many(session, self.platform, self.liveness.owner,
                                               [(e, p) for e, p, _ in puts])
                kept = await inbound.settle(session, done, attempted, MAX_ATTEMPTS)
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
        """Take over and schedule the deliveries dead processes acknowledged (at start: an earlier run's).

        Returns how many were scheduled.
        """
        async with self.db.session() as session:
            owners = await inbound.owners_waiting(session, self.platform, self.liveness.owner)
        dead = [o for o in owners if await self.liveness.dead(o)]
        if not dead:
            return 0
        async with self.db.session() as session:
            rows = await inbound.adopt(session, self.platform, dead, self.liveness.owner)
        scheduled = 0
        for event_id, payload in rows:
            try:
                body = json.loads(payload)
            except ValueError:
                log.error("an acknowledged Slack delivery %s cannot be read: left in the inbound ledger", event_id)
                continue
            event = self._translate(body)
            if event is None or event.event_id in self._inflight:
                continue
            self._schedule(event, None)  # its interaction, if any, expired long ago
            scheduled += 1
        if scheduled:
            log.info("handling %d Slack deliveries a stopped Steward had acknowledged", scheduled)
        return scheduled

    async def _adopt_forever(self) -> None:
        while True:
            await asyncio.sleep(ADOPT_EVERY)
            try:
                await self.replay()
            except Exception:
                log.exception("could not look for deliveries a stopped Steward left; trying again soon")

    def _schedule(self, event: Event, arrived: float | None) -> None:
        self._inflight.add(event.event_id)
        lane = event.channel or f"user:{event.sender.id}"
        previous = self._tails.get(lane)
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()  # done once this event's transaction is over
        task = loop.create_task(self._work(event, arrived, previous, turn))
        self._tails[lane] = turn
        self._tasks.add(task)

        def forget(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            _end_turn(turn)
            if self._tails.get(lane) is turn:
                del self._tails[lane]

        task.add_done_callback(forget)

    async def _work(self, event: Event, arrived: float | None, previous: asyncio.Future[None] | None,
                    turn: asyncio.Future[None]) -> None:
        try:
            if previous is not None:
                await asyncio.shield(previous)
            assert self._sink is not None, "start the intake first"
            enriched = await self._enrich(event, arrived)
            TRANSACTION_OVER.set(lambda: _end_turn(turn))  # this task's own context: the next event may start
            handled = await self._sink(enriched)
            # The core's claim turned the row done in its own transaction; what it did not claim is
            # settled by the writer: done when it was not for the core, else one failed attempt.
            if handled is not True:
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


def _end_turn(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_result(None)


def _ignored_by_core(event: Event) -> bool:
    # The core drops other bots' messages before claiming them; they are done, not failed.
    return event.sender.is_bot and not isinstance(event, CommandInvoked | ChoicePicked)
