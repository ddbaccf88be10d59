"""Ack fast, lose nothing: persist each delivery, acknowledge, then do the work in the background.

`accept` runs inside Slack's 3-second window: it writes the body to the inbox table (one short
transaction) and only then lets the caller acknowledge. The work (`Sink`, i.e. `Steward.dispatch`)
runs afterwards, one event at a time per channel so a channel's events keep their order. When the
core has claimed the event (its transaction committed) the row is deleted; otherwise (a failed
commit, a shutdown, a crash) it stays `pending` and is replayed at the next start or when Slack
retries the delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.adapter import Sink
from bot.events import ChoicePicked, CommandInvoked, Event
from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
Translate = Callable[[dict[str, Any]], Event | None]
Enrich = Callable[[Event], Awaitable[Event]]


class Intake:
    """The inbox of one platform and the background work it feeds."""

    def __init__(self, db: Database, platform: str, translate: Translate, enrich: Enrich) -> None:
        self.db, self.platform = db, platform
        self._translate, self._enrich = translate, enrich
        self._sink: Sink | None = None
        self._inflight: set[str] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, sink: Sink) -> None:
        """Where events go from now on."""
        self._sink = sink

    async def accept(self, body: dict[str, Any]) -> Event | None:
        """Persist a delivery before it is acknowledged and schedule its work; None if not for us.

        Raises when the inbox cannot be written: the caller must then *not* acknowledge, so Slack
        delivers it again.
        """
        event = self._translate(body)
        if event is None:
            return None
        async with self.db.session() as session:
            fresh = await inbox.put(session, event.event_id, self.platform, json.dumps(body))
        if fresh or event.event_id not in self._inflight:
            self._schedule(event, body)  # a retried delivery of a pending row is worth a new attempt
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
            self._schedule(event, body)
        if rows:
            log.info("replaying %d pending Slack deliveries from the inbox", len(rows))
        return len(rows)

    def _schedule(self, event: Event, body: dict[str, Any]) -> None:
        self._inflight.add(event.event_id)
        lane = event.channel or f"user:{event.sender.id}"
        previous = self._tails.get(lane)
        task = asyncio.get_running_loop().create_task(self._work(event, previous))
        self._tails[lane] = task
        self._tasks.add(task)

        def forget(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if self._tails.get(lane) is t:
                del self._tails[lane]

        task.add_done_callback(forget)

    async def _work(self, event: Event, previous: asyncio.Task[None] | None) -> None:
        try:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(previous)
            assert self._sink is not None, "start the intake first"
            await self._sink(await self._enrich(event))
            async with self.db.session() as session:
                if await inbox.was_processed(session, event.event_id) or _ignored_by_core(event):
                    await inbox.finish(session, event.event_id)
                else:
                    row = await inbox.retry_later(session, event.event_id, MAX_ATTEMPTS)
                    log.warning("event %s not committed (attempt %s): kept in the inbox for a retry",
                                event.event_id, row.attempts if row else "?")
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


def _ignored_by_core(event: Event) -> bool:
    # The core drops other bots' messages before claiming them; they are done, not failed.
    return event.sender.is_bot and not isinstance(event, CommandInvoked | ChoicePicked)
