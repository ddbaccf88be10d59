"""Outgoing pacing: one FIFO lane per channel, one token bucket per Web API method tier.

Slack documents per-method tiers (Tier 2 ≈ 20/min, Tier 3 ≈ 50/min, Tier 4 ≈ 100/min, with bursts)
and a special limit for `chat.postMessage`: about one message per second per channel. Every send
goes through a lane so a channel's messages leave in the order they were queued; each Web API call
first takes a token from its method's bucket. A `429` pauses that method for `Retry-After`
seconds for every lane and the same call is retried: nothing is dropped, nothing overtakes.

We use this instead of slack_sdk's `AsyncRateLimitErrorRetryHandler`: that handler sleeps inside one
call only, while other lanes keep hitting the limited method; here the pause is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.errors import RateLimited, Transient

log = logging.getLogger(__name__)
T = TypeVar("T")

TIER_PER_MINUTE = {1: 1.0, 2: 20.0, 3: 50.0, 4: 100.0}
METHOD_TIER = {
    "auth.test": 4, "chat.postEphemeral": 4, "views.open": 4, "users.info": 4,
    "conversations.open": 3, "conversations.replies": 3, "reactions.add": 3,
}
POST_MESSAGE = "chat.postMessage"


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


class Pacer:
    """Runs jobs one after the other per lane; `call` paces and retries one Web API call."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buckets: dict[str, Bucket] = {}
        self._lanes: dict[str, asyncio.Task[None]] = {}

    def _bucket(self, key: str, rate: float | None, burst: float) -> Bucket:
        if key not in self._buckets:
            self._buckets[key] = Bucket(rate, burst)
        return self._buckets[key]

    async def _take(self, method: str, channel: str) -> list[Bucket]:
        lim = self.limits
        if method == POST_MESSAGE:
            buckets = [self._bucket(method, lim.post_per_workspace_per_second, lim.tier_burst),
                       self._bucket(f"{method}:{channel}", lim.post_per_channel_per_second, lim.post_burst)]
        else:
            tier = METHOD_TIER.get(method, 3)
            buckets = [self._bucket(f"tier{tier}:{method}", lim.tier_per_second.get(tier), lim.tier_burst)]
        for bucket in buckets:
            await bucket.take()
        return buckets

    async def call(self, method: str, channel: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Call `fn` once a token is free; on `RateLimited` pause the method and retry the same call."""
        limited = transient = 0
        while True:
            buckets = await self._take(method, channel)
            try:
                return await fn()
            except RateLimited as err:
                limited += 1
                if limited > self.limits.max_rate_limited_retries:
                    raise
                log.info("%s rate limited (%s): pausing %.1fs", method, channel or "-", err.retry_after)
                buckets[0].pause(err.retry_after)
            except Transient:
                transient += 1
                if transient > self.limits.max_transient_retries:
                    raise
                await asyncio.sleep(min(0.2 * 2 ** transient, 5.0))

    async def in_lane(self, lane: str, job: Callable[[], Awaitable[T]]) -> T:
        """Run `job` after every job queued earlier on `lane` (a channel keeps its order)."""
        previous = self._lanes.get(lane)
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()

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

        task = asyncio.get_running_loop().create_task(run())
        self._lanes[lane] = task
        task.add_done_callback(lambda t: self._lanes.pop(lane, None) if self._lanes.get(lane) is t else None)
        return await done

    async def drain(self) -> None:
        """Wait until every queued job has run."""
        while self._lanes:
            await asyncio.gather(*list(self._lanes.values()), return_exceptions=True)
