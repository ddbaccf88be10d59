"""Following the change log, so this process's expertise indexes learn what other processes stored.

Several Steward processes may share one database (deliveries spread between them); each keeps its own
in-memory indexes. Every few seconds a follower reads the changes logged since its mark (one query
when there are none) and re-checks what each names against storage, with the operations live events
use. Those are idempotent, so the process's own changes, applied live already, apply again harmlessly.

Polling by id rather than LISTEN/NOTIFY: it works on SQLite too, a notification lost while a connection
was down needs this catch-up anyway, and one indexed query every two seconds costs nothing. Ids are not
committed in order on PostgreSQL (a transaction holding id 7 may commit after id 8), so ids skipped
below the mark are "holes", re-read until they appear or HOLE_GRACE passes (rolled back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.expertise import ExpertiseIndex, Post
from bot.metrics import INDEX_SECONDS
from storage.expertise import all_declared_topics
from storage.index_changes import RETENTION, Change, change_ids_after, changes_after, latest_change, prune

if TYPE_CHECKING:
    from bot.routing.registry import ExpertiseRegistry

log = logging.getLogger(__name__)

INTERVAL = 2.0  # seconds between two passes (config: steward.index_follow_seconds)
BATCH = 2_000  # changes read and applied between two turns of the event loop
HOLE_GRACE = 60.0  # seconds an id skipped below the mark is waited for; a transaction open longer is unheard of
MAX_HOLES = 1_000
START_LOOKBACK = 1_000  # ids below the start mark checked for transactions still open at start
PRUNE_EVERY = 300.0
STALE_AFTER = RETENTION.total_seconds() / 2  # no pass for this long: changes may be pruned unread, rebuild


class Cursor:
    """Where a follower stands: every change id up to `mark` applied (or given up on), except `holes`."""

    def __init__(self, mark: int, holes: Iterable[int] = (), now: float = 0.0) -> None:
        self.mark = mark
        self.holes: dict[int, float] = dict.fromkeys(holes, now)  # id → when first missed

    def waiting(self) -> list[int]:
        """Ids below the mark still expected (an open transaction's)."""
        return list(self.holes)

    def advance(self, ids: Sequence[int], now: float) -> None:
        """Take in the ids just read (ascending); the ids jumped over become holes."""
        for i in ids:
            if self.holes.pop(i, None) is not None or i <= self.mark:
                continue
            for missing in range(max(self.mark + 1, i - MAX_HOLES), i):
                self.holes[missing] = now
            self.mark = i
        self.expire(now)

    def expire(self, now: float) -> None:
        """Give up on holes older than HOLE_GRACE: those transactions rolled back."""
        for i in [i for i, at in self.holes.items() if now - at > HOLE_GRACE]:
            del self.holes[i]
        while len(self.holes) > MAX_HOLES:
            del self.holes[min(self.holes)]


async def start_cursor(registry: ExpertiseRegistry, since: int | None) -> Cursor:
    """A cursor at the log's end (or at `since`, an earlier build's mark); recent missing ids are holes."""
    async with registry.db.reader() as conn:
        top = await latest_change(conn)
        mark = top if since is None else min(since, top)
        present = await change_ids_after(conn, max(0, mark - START_LOOKBACK))
    below = [i for i in present if i <= mark]
    holes = set(range(min(below), mark + 1)) - set(below) if below else set()
    return Cursor(mark, holes, time.monotonic())


class IndexFollower:
    """The background task that keeps a registry's indexes following the change log."""

    def __init__(self, registry: ExpertiseRegistry, cursor: Cursor, interval: float = INTERVAL) -> None:
        self.registry, self.cursor, self.interval = registry, cursor, interval
        self._task: asyncio.Task[None] | None = None
        self._passing = asyncio.Lock()  # one pass at a time: the background one and any asked for
        self._last_pass = self._last_prune = time.monotonic()

    def start(self) -> None:
        """Poll in the background until `stop`."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="expertise-index-follower")

    async def stop(self) -> None:
        """End the background task (a pass in progress is abandoned; the next process start rebuilds)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.catch_up()
                await self._maybe_prune()
            except Exception:  # the database may be away for a while: keep trying, serving goes on
                log.exception("could not follow the expertise change log")
            await asyncio.sleep(self.interval)

    async def catch_up(self) -> int:
        """Apply every change logged since the last pass; returns how many were read."""
        async with self._passing:
            started = time.perf_counter()
            read = await self._pass()
            INDEX_SECONDS.labels("catch_up").observe(time.perf_counter() - started)
            return read

    async def _pass(self) -> int:
        now = time.monotonic()
        if now - self._last_pass > STALE_AFTER:
            log.warning("the expertise change log was not read for %.0f s: rebuilding the indexes",
                        now - self._last_pass)
            self.registry.rebuild_all_later()
        read = 0
        while True:
            async with self.registry.db.reader() as conn:
                changes = await changes_after(conn, self.cursor.mark, self.cursor.waiting(), BATCH)
                topics = await self._topics(conn, changes)
            for change in changes:  # no await in this loop: the state read above is applied as one step
                self._apply(change, topics)
            self.cursor.advance([c.id for c in changes], time.monotonic())
            read += len(changes)
            if len(changes) < BATCH:
                break
            await asyncio.sleep(0)
        self._last_pass = time.monotonic()
        return read

    async def _topics(self, conn: AsyncConnection, changes: list[Change]) -> dict[tuple[int, str], list[str]]:
        """The current declared topics of the members whose topics changed (rare: a query each)."""
        out: dict[tuple[int, str], list[str]] = {}
        for c in changes:
            if c.kind == "topics" and c.member and not c.member_out and self.registry.follows(c.community_id):
                found = await all_declared_topics(conn, c.community_id, c.member)
                out[(c.community_id, c.member)] = found.get(c.member, [])
        return out

    def _apply(self, c: Change, topics: dict[tuple[int, str], list[str]]) -> None:
        registry, cid = self.registry, c.community_id
        if not registry.follows(cid):
            return  # not in memory: a build reads storage, this change included
        if c.kind == "rebuild":  # someone was forgotten: their old platform id is gone from storage
            registry.rebuild_later(cid)
        elif c.kind == "member":
            self._member(c)
        elif c.kind == "topics":
            if c.member is not None and (cid, c.member) in topics:
                registry.update(cid, _declare(c.member, topics[(cid, c.member)]))
        elif c.platform_id is not None:
            registry.update(cid, message_op(c, c.platform_id))

    def _member(self, c: Change) -> None:
        if c.member is None or c.member_forgotten:
            return  # a forget logs a rebuild of its own
        if c.member_out:
            member = c.member
            self.registry.update(c.community_id, lambda index: index.forget_member(member))
        else:  # through `update`, so a rebuild under way restores them into the new index too
            registry, cid, member = self.registry, c.community_id, c.member
            registry.update(cid, lambda _index: registry.restore_later(cid, member))

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = time.monotonic()
        async with self.registry.db.session() as session:
            await prune(session)


def _declare(member: str, topics: list[str]) -> Callable[[ExpertiseIndex], None]:
    return lambda index: index.declare(member, topics)


def message_op(c: Change, platform_id: str) -> Callable[[ExpertiseIndex], None]:
    """The index operation that makes the index agree with what storage now holds for the change."""

    def apply(index: ExpertiseIndex) -> None:
        if c.kind == "reaction":
            if c.member is None or c.member_forgotten or not c.stored:
                return
            if c.reaction_kept:
                index.add_reaction(platform_id, c.emoji or "", c.member)
            else:
                index.remove_reaction(platform_id, c.emoji or "", c.member)
        elif not c.stored:
            index.remove(platform_id)
        elif c.author is not None and c.posted_at is not None:
            index.add(Post(platform_id, c.thread_id or platform_id, c.author, c.text or "", c.posted_at.timestamp()))
            if c.kind == "edited":
                index.edit(platform_id, c.text or "")

    return apply
