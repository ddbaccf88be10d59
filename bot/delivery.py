"""Delivery: replies kept in the outbox with their event's effects, sent after commit, crossed out once sent.

The one road out, for chat replies and scheduled messages alike:
- `keep` writes the replies in the event's transaction (a crash before sending loses nothing);
- `deliver` queues them on their *lane* (one per conversation: a channel, a DM) and waits for the
  first attempt; lanes run independently, so a platform holding back one channel (a 429) delays that
  channel only, and replies of one conversation still leave in order;
- a sent reply is crossed out within moments: by the next event's transaction if one comes (most of
  the time, under load, at no cost of its own), else by a write of its own after `LINGER`;
- a reply that failed for a passing reason (network, homeserver down, rate limit) stays on its lane
  and is retried with backoff; one the platform refuses is dropped and logged.

Every kept reply has a stable key, `o<row id>`, handed to the adapter: platforms with idempotent
sends (Matrix transaction ids) recognise a resend after a crash, so there it is exactly once. Others
(Slack) get at least once, the window being the time between the platform's answer and the crossing out;
where the adapter can look a sent reply up by its key (`already_sent`: Slack message metadata), a reply
taken over from a dead process is looked for before it is sent again.

Replies left by a dead process (`storage.owners.Liveness`) are taken over by a live one: at start, and
every few seconds on PostgreSQL where several processes run. Replies older than `STALE_AFTER` are dropped:
sent late they would only confuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import reply_codec
from bot.errors import AdapterError, RateLimited, Transient
from bot.metrics import REPLIES_RETRIED, REPLIES_SENT
from bot.replies import AskChoice, AskForm, DirectMessage, Ephemeral, Prerendered, Reply, SentRef
from storage import outbox
from storage.db import Database
from storage.owners import Liveness
from storage.types import utcnow

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=1)  # a reply left longer than this is dropped, not sent late
ADOPT_EVERY = 5.0  # seconds between looks for replies a dead process left (PostgreSQL)
MAX_BACKOFF = 30.0
LINGER = 0.02  # seconds a crossing out waits for an event's transaction to carry it before writing alone
NOWHERE = "none"  # the platform of scheduled work with no place to post (e.g. a ritual without a channel)

Send = Callable[[str, Reply, str | None], Awaitable[SentRef]]
Find = Callable[[str, Reply, str], Awaitable[SentRef | None]]


async def _never_found(_platform: str, _reply: Reply, _key: str) -> SentRef | None:
    return None


def lane_of(reply: Reply) -> str:
    """The conversation a reply belongs to: its replies leave in order, others do not wait for it."""
    if isinstance(reply, DirectMessage):
        return f"dm:{reply.user}"
    if isinstance(reply, Prerendered):
        return "prerendered"
    if isinstance(reply, Ephemeral | AskChoice | AskForm) and not reply.channel and reply.user:
        return f"dm:{reply.user}"
    return reply.channel


@dataclass
class Parcel:
    """One reply on its way: its outbox row (None: not kept, e.g. a form), lane and tag."""

    id: int | None
    platform: str
    lane: str
    reply: Reply
    tag: str | None = None
    attempted: asyncio.Future[SentRef | None] | None = field(default=None, repr=False)
    adopted: bool = False  # left by a dead process, which may have sent it before dying
    born: float = field(default_factory=time.monotonic, repr=False)  # when it was queued

    @property
    def key(self) -> str | None:
        """The idempotency key adapters may hand to the platform."""
        return None if self.id is None else f"o{self.id}"


class _Lane:
    """The queue of one conversation and the task that empties it."""

    def __init__(self) -> None:
        self.queue: deque[Parcel] = deque()
        self.task: asyncio.Task[None] | None = None


class Delivery:
    """This process's outbox work: keeping, sending in lanes, crossing out, adopting orphans."""

    def __init__(self, db: Database, send: Send, platforms: Callable[[], Sequence[str]],
                 find: Find = _never_found) -> None:
        self.db, self._send, self._platforms, self._find = db, send, platforms, find
        self.liveness = Liveness(db)
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._crossed: list[tuple[int, bool, str | None, str | None]] = []
        self._dropped: list[int] = []
        self._writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._adopter: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def owner(self) -> str:
        """This process's owner id."""
        return self.liveness.owner

    # -- keeping -----------------------------------------------------------------------------------

    async def keep(self, session: AsyncSession, platform: str, event_id: str, replies: Sequence[Reply],
                   tags: dict[int, str] | None = None, elsewhere: dict[int, str] | None = None) -> list[Parcel]:
        """Write the event's replies down in its transaction; one parcel per reply, in order.

        `tags` and `elsewhere` map a reply's index to its tag and to another platform than the event's.
        """
        tags, elsewhere = tags or {}, elsewhere or {}
        parcels = [Parcel(None, elsewhere.get(i, platform), lane_of(r), r, tags.get(i)) for i, r in enumerate(replies)]
        parcels = [p for p in parcels if p.platform != NOWHERE]
        for on in sorted({p.platform for p in parcels}):
            kept = [p for p in parcels if p.platform == on and reply_codec.keepable(p.reply)]
            ids = await outbox.keep(session, self.owner, on, event_id,
                                    [outbox.Entry(p.lane, reply_codec.encode(p.reply), p.tag) for p in kept])
            for parcel, reply_id in zip(kept, ids, strict=True):
                parcel.id = reply_id
        return parcels

    # -- sending -----------------------------------------------------------------------------------

    def post(self, parcels: Sequence[Parcel]) -> list[asyncio.Future[SentRef | None]]:
        """Queue parcels on their lanes; each future resolves after the parcel's first attempt."""
        loop = asyncio.get_running_loop()
        futures = []
        for parcel in parcels:
            parcel.attempted = loop.create_future()
            futures.append(parcel.attempted)
            lane = self._lanes.setdefault((parcel.platform, parcel.lane), _Lane())
            lane.queue.append(parcel)
            if lane.task is None or lane.task.done():
                lane.task = loop.create_task(self._run_lane((parcel.platform, parcel.lane), lane))
        return futures

    async def deliver(self, parcels: Sequence[Parcel]) -> list[SentRef | None]:
        """Queue parcels and wait for their first attempt (retries go on in the background)."""
        if not parcels:
            return []
        return list(await asyncio.gather(*self.post(parcels)))

    async def _run_lane(self, name: tuple[str, str], lane: _Lane) -> None:
        try:
            while lane.queue and not self._stopping:
                parcel = lane.queue[0]
                done = await self._attempt(parcel)
                if done:
                    lane.queue.popleft()
        finally:
            for parcel in lane.queue if self._stopping else ():
                _settle(parcel, None)
            if self._lanes.get(name) is lane and not lane.queue:
                del self._lanes[name]

    async def _attempt(self, parcel: Parcel) -> bool:
        """Send one parcel, retrying passing failures with backoff; True once it is settled."""
        delay = 0.5
        while not self._stopping:
            try:
                ref = await self._send_one(parcel)
            except (Transient, RateLimited) as exc:
                if time.monotonic() - parcel.born > STALE_AFTER.total_seconds():
                    log.warning("dropping a %s on %s still not sent after %s (%s): too late to make sense",
                                type(parcel.reply).__name__, parcel.platform, STALE_AFTER, exc)
                    self._drop(parcel)
                    _settle(parcel, None)
                    return True
                wait = exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after else delay
                log.warning("could not send a %s on %s yet (%s): retrying in %.1fs",
                            type(parcel.reply).__name__, parcel.platform, exc, wait)
                _settle(parcel, None)
                why = "rate_limited" if isinstance(exc, RateLimited) else "transient"
                REPLIES_RETRIED.labels(parcel.platform, why).inc()
                await asyncio.sleep(wait)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            except AdapterError:
                log.exception("%s refused a %s: dropped", parcel.platform, type(parcel.reply).__name__)
                self._drop(parcel)
                _settle(parcel, None)
                return True
            except Exception:  # a bug, not the platform: keep it for the next start rather than loop on it
                log.exception("sending a %s on %s failed unexpectedly: it stays in the outbox for the next start",
                              type(parcel.reply).__name__, parcel.platform)
                _settle(parcel, None)
                return True
            self._cross_out(parcel, ref)
            REPLIES_SENT.labels(parcel.platform).inc()
            _settle(parcel, ref)
            return True
        return False

    async def _send_one(self, parcel: Parcel) -> SentRef:
        reply = parcel.reply
        if parcel.adopted and parcel.key is not None:
            parcel.adopted = False  # looked for once: a lookup that fails means "send it"
            found = await self._find(parcel.platform, reply, parcel.key)
            if found is not None:
                log.info("a %s left by a stopped Steward had been sent before it stopped: not sent again",
                         type(reply).__name__)
                return found
        return await self._send(parcel.platform, reply, parcel.key)  # a form's fallback is the adapter's

    def _cross_out(self, parcel: Parcel, ref: SentRef) -> None:
        if parcel.id is not None:
            self._crossed.append((parcel.id, parcel.tag is not None, ref.channel, ref.message_id))
            self._wake.set()

    def _drop(self, parcel: Parcel) -> None:
        if parcel.id is not None:
            self._dropped.append(parcel.id)
            self._wake.set()

    # -- crossing out ------------------------------------------------------------------------------

    def take_crossed(self) -> list[tuple[int, bool, str | None, str | None]]:
        """Hand what was sent since the last write to an event's transaction (which writes it with its own
        effects); `give_back` if that transaction does not commit."""
        crossed, self._crossed = self._crossed, []
        return crossed

    def give_back(self, crossed: list[tuple[int, bool, str | None, str | None]]) -> None:
        """Taken crossings out that were not written: the next write takes them again."""
        if crossed:
            self._crossed = crossed + self._crossed
            self._wake.set()

    async def _write_forever(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            await asyncio.sleep(LINGER)  # an event's transaction starting meanwhile carries them for free
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write what was sent or dropped since the last write (one transaction for all of it).

        Writes run one at a time: a caller returns once everything noted before its call is written.
        """
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        crossed, self._crossed = self._crossed, []
        dropped, self._dropped = self._dropped, []
        if not crossed and not dropped:
            return
        try:
            async with self.db.session() as session:
                await outbox.cross_out(session, crossed)
                await outbox.give_up(session, dropped)
        except Exception:
            log.exception("could not cross out %d sent replies; retrying with the next batch", len(crossed))
            self._crossed, self._dropped = crossed + self._crossed, dropped + self._dropped

    # -- lifecycle and orphans ---------------------------------------------------------------------

    async def start(self) -> None:
        """Say this process is alive, start crossing out, and take over what dead processes left."""
        self._stopping = False
        await self.liveness.start()
        loop = asyncio.get_running_loop()
        if self._writer is None:
            self._writer = loop.create_task(self._write_forever())
        await self.adopt()
        if not self.db.is_sqlite and self._adopter is None:
            self._adopter = loop.create_task(self._adopt_forever())

    async def stop(self, grace: float = 10.0) -> None:
        """Let queued replies go out (up to `grace` s), cross them out, then let go of the lock."""
        if self._adopter is not None:
            self._adopter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._adopter
            self._adopter = None
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None and not lane.task.done()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                log.warning("%d conversation(s) still had replies to send at shutdown: they stay in the outbox",
                            len(pending))
        self._stopping = True
        for lane in list(self._lanes.values()):
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
        self._lanes.clear()
        if self._writer is not None:  # not cancelled: a batch being written must not be lost
            self._wake.set()
            await self._writer
            self._writer = None
        await self.flush()
        await self.liveness.stop()

    async def _adopt_forever(self) -> None:
        while True:
            await asyncio.sleep(ADOPT_EVERY)
            try:
                await self.adopt()
            except Exception:
                log.exception("could not look for replies a stopped Steward left; trying again soon")

    async def adopt(self) -> int:
        """Take over the replies dead processes left on the platforms served here; returns how many were queued."""
        platforms = list(self._platforms())
        if not platforms:
            return 0
        async with self.db.session() as session:
            owners = await outbox.other_owners(session, self.owner)
        queued: list[Parcel] = []
        for owner in owners:
            if not await self.liveness.dead(owner):
                continue
            async with self.db.session() as session:
                rows = await outbox.adopt(session, owner, self.owner, platforms)
            stale: list[int] = []
            for row in rows:
                if utcnow() - row.created_at > STALE_AFTER:
                    stale.append(row.id)
                    continue
                try:
                    reply = reply_codec.decode(row.payload)
                except ValueError:
                    log.error("dropping an unreadable kept reply of event %s", row.event_id)
                    stale.append(row.id)
                    continue
                queued.append(Parcel(row.id, row.platform, row.lane or lane_of(reply), reply, row.tag, adopted=True))
                REPLIES_RETRIED.labels(row.platform, "taken_over").inc()
            if stale:
                log.warning("dropped %d replies a stopped Steward left more than %s ago (or unreadable)",
                            len(stale), STALE_AFTER)
                async with self.db.session() as session:
                    await outbox.give_up(session, stale)
        if queued:
            log.info("sending %d replies a stopped Steward had not sent", len(queued))
            self.post(queued)
        return len(queued)

    async def idle(self) -> None:
        """Wait until every queued reply had its first attempt and the crossing out is written (tests, tools)."""
        waiting = [p.attempted for lane in self._lanes.values() for p in lane.queue if p.attempted is not None]
        if waiting:
            await asyncio.wait(waiting)
        await self.flush()


def _settle(parcel: Parcel, ref: SentRef | None) -> None:
    if parcel.attempted is not None and not parcel.attempted.done():
        parcel.attempted.set_result(ref)
