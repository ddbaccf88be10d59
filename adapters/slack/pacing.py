"""Outgoing pacing: one FIFO lane per channel; token buckets per channel and per method.

Slack limits a Web API method in one of two scopes, and a `429` only says that *this call* was too
many, so we pause the narrowest bucket that can explain it:

- Channel-scoped posts (`chat.postMessage`, `chat.postEphemeral`, `reactions.add`, `files.upload_v2`):
  `chat.postMessage` allows about one message per second per channel (bursts allowed). Each call takes
  a token from its bucket for `(method, channel)` and one from the method's workspace bucket. A `429`
  pauses only the `(method, channel)` bucket: other channels keep posting. If the workspace-wide
  limit is what was hit, every channel gets its own `429` and pauses itself; nothing is lost.
- Workspace-wide methods (`users.info`, `conversations.open`, `views.open`, `auth.test`…): Slack's tiers
  (Tier 2 ≈ 20/min, Tier 3 ≈ 50/min, Tier 4 ≈ 100/min, with bursts) count per method and workspace.
  Each has one bucket at its tier's rate; a `429` pauses that bucket for every caller.

Every send goes through a lane so a channel's messages leave in the order they were queued; a
rate-limited call waits `Retry-After` seconds and is retried: nothing is dropped, nothing overtakes.
A call can carry a deadline (a modal's trigger expires): past it, waiting is useless and it fails
with `TooLate` instead.

We use this instead of slack_sdk's `AsyncRateLimitErrorRetryHandler`: that handler sleeps inside one
call only, while other calls keep hitting the limited bucket; here the pause is shared by its bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.errors import AdapterError, RateLimited, Transient

log = logging.getLogger(__name__)
T = TypeVar("T")

TIER_PER_MINUTE = {1: 1.0, 2: 20.0, 3: 50.0, 4: 100.0}
METHOD_TIER = {
    "auth.test": 4, "chat.postEphemeral": 4, "views.open": 4, "users.info": 4,
    "conversations.open": 3, "conversations.replies": 3, "conversations.history": 3, "reactions.add": 3,
}
POST_MESSAGE = "chat.postMessage"
CHANNEL_SCOPED = frozenset({POST_MESSAGE, "chat.postEphemeral", "reactions.add", "files.upload_v2"})


class TooLate(AdapterError):
    """The call could not be made before its deadline (e.g. a modal trigger expired while waiting)."""


@dataclass(frozen=True)
class Limits:
    """Rates in calls per second and bucket sizes; `None` rates mean unpaced (benchmarks)."""

    tier_per_second: dict[int, float | None] = field(
        default_factory=lambda: {t: n / 60 for t, n in TIER_PER_MINUTE.items()})
    tier_burst: float = 10.0
    post_per_channel_per_second: float | None = 1.0
    post_burst: float = 3.0
    post_per_workspace_per_second: float | None = 5.0  # "several hundred per minute"
    max_rate_limited_retries: int = 50
    max_transient_retries: int = 3

    @classmethod
    def unpaced(cls) -> Limits:
        """No proactive pacing (429s are still honoured)."""
        return cls(tier_per_second=dict.fromkeys(TIER_PER_MINUTE), post_per_channel_per_second=None,
                   post_per_workspace_per_second=None)


class Bucket:
    """A token bucket that can also be paused until a moment (after a 429)."""

    def __init__(self, rate: float | None, burst: float) -> None:
        self.rate, self.capacity = rate, max(burst, 1.0)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every taker for `seconds` (Slack's Retry-After)."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def wait_hint(self) -> float:
        """Seconds until this bucket could give a token (0 when one is ready); no token is taken."""
        now = time.monotonic()
        paused = max(0.0, self.paused_until - now)
        if self.rate is None:
            return paused
        tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        return max(paused, (1 - tokens) / self.rate if tokens < 1 else 0.0)

    async def take(self) -> None:
        """Wait for a token (and for any pause to end)."""
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self.paused_until:
                    await asyncio.sleep(self.paused_until - now)
                    continue
                if self.rate is None:
                    return
                self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


def _in_time(deadline: float | None, wait: float, method: str) -> None:
    """Raise `TooLate` when waiting `wait` seconds more would pass `deadline`."""
    if deadline is not None and time.monotonic() + wait > deadline:
        raise TooLate(f"{method}: would wait past its deadline")


class Pacer:
    """Runs jobs one after the other per lane; `call` paces and retries one Web API call."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lanes: dict[str, asyncio.Future[None]] = {}  # the last job queued on each lane

    def _bucket(self, method: str, pace_key: str, rate: float | None, burst: float) -> Bucket:
        key = (method, pace_key)
        if key not in self._buckets:
            self._buckets[key] = Bucket(rate, burst)
        return self._buckets[key]

    def buckets(self, method: str, pace_key: str) -> list[Bucket]:
        """The buckets a call takes from, narrowest first: the first is the one a 429 pauses."""
        lim = self.limits
        if method == POST_MESSAGE:
            workspace = self._bucket(method, "", lim.post_per_workspace_per_second, lim.tier_burst)
        else:
            tier = METHOD_TIER.get(method, 3)
            workspace = self._bucket(method, "", lim.tier_per_second.get(tier), lim.tier_burst)
        if method not in CHANNEL_SCOPED or not pace_key:
            return [workspace]
        rate = lim.post_per_channel_per_second if method == POST_MESSAGE else None  # others: pausable only
        return [self._bucket(method, pace_key, rate, lim.post_burst), workspace]

    async def call(self, method: str, pace_key: str, fn: Callable[[], Awaitable[T]],
                   deadline: float | None = None) -> T:
        """Call `fn` once tokens are free; on `RateLimited` pause the narrowest bucket and retry the call.

        `pace_key` is the channel for channel-scoped methods (ignored by workspace-wide ones). Past
        `deadline` (a `time.monotonic()` moment) the call raises `TooLate` instead of waiting.
        """
        limited = transient = 0
        buckets = self.buckets(method, pace_key)
        while True:
            await self._take(buckets, deadline, method)
            try:
                return await fn()
            except RateLimited as err:
                limited += 1
                if limited > self.limits.max_rate_limited_retries:
                    raise
                log.info("%s rate limited (%s): pausing %.1fs", method, pace_key or "workspace", err.retry_after)
                buckets[0].pause(err.retry_after)
            except Transient:
                transient += 1
                if transient > self.limits.max_transient_retries:
                    raise
                backoff = min(0.2 * 2 ** transient, 5.0)
                _in_time(deadline, backoff, method)
                await asyncio.sleep(backoff)

    @staticmethod
    async def _take(buckets: list[Bucket], deadline: float | None, method: str) -> None:
        for bucket in buckets:
            _in_time(deadline, bucket.wait_hint(), method)
            await bucket.take()

    async def in_lane(self, lane: str, job: Callable[[], Awaitable[T]]) -> T:
        """Run `job` after every job queued earlier on `lane` (a channel keeps its order).

        On an idle lane (the usual case) the job runs in the caller's own task, no task made: the lane
        holds a future the next caller waits on. Behind another job, it runs in a task of its own."""
        previous = self._lanes.get(lane)
        loop = asyncio.get_running_loop()
        if previous is None or previous.done():
            turn: asyncio.Future[None] = loop.create_future()
            self._lanes[lane] = turn
            try:
                return await job()
            finally:
                turn.set_result(None)
                if self._lanes.get(lane) is turn:
                    del self._lanes[lane]
        done: asyncio.Future[T] = loop.create_future()

        async def run() -> None:
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.shield(previous)
            try:
                result = await job()
            except asyncio.CancelledError:
                done.cancel()
                raise
            except Exception as exc:  # handed to the caller through the future
                if not done.done():
                    done.set_exception(exc)
            else:
                if not done.done():
                    done.set_result(result)

        task = loop.create_task(run())
        self._lanes[lane] = task
        task.add_done_callback(lambda t: self._lanes.pop(lane, None) if self._lanes.get(lane) is t else None)
        return await done

    async def drain(self) -> None:
        """Wait until every queued job has run."""
        while self._lanes:
            await asyncio.gather(*list(self._lanes.values()), return_exceptions=True)
