"""Rituals at scale: 10,000 rituals across 1,000 communities on the recording adapter (loopback only).

Prints: cold start (first sync of every ritual into the job store), warm start (restart on the same
database), RSS, and firing lateness p50/p95/max for `--fire` rituals re-planned a few seconds ahead.

    .venv/bin/python bench/rituals_scale.py                      # SQLite in a temp dir
    STEWARD_DATABASE_URL=postgresql://postgres@127.0.0.1/steward_bench .venv/bin/python bench/rituals_scale.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.recording import RecordingAdapter
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.features import build_router
from bot.replies import Reply, SentRef
from rituals.scheduler import RitualScheduler
from storage.db import database_from_env
from storage.models import Community, Ritual


class TimedAdapter(RecordingAdapter):
    """Records when each reply was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[datetime] = []

    async def send(self, reply: Reply) -> SentRef:
        self.at.append(datetime.now(UTC))
        return await super().send(reply)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(communities: int, rituals: int, fire: int, window: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    data = Path(tempfile.mkdtemp(prefix="steward-bench-"))
    config = Config(data_dir=data, communities=tuple(
        CommunityConfig(slug=f"c{i}", channels=(f"recording:C{i}",)) for i in range(communities)))
    db = database_from_env(data)
    await db.upgrade()
    far = datetime.now(UTC) + timedelta(days=30)
    async with db.session() as session:
        rows = [Community(slug=f"c{i}", name=f"c{i}") for i in range(communities)]
        session.add_all(rows)
        await session.flush()
        for n in range(rituals):
            community = rows[n % communities]
            assert community.id is not None
            start = far + timedelta(minutes=n % 1440)
            session.add(Ritual(community_id=community.id, kind="reminder", title=f"ritual {n}", status="active",
                               rrule="FREQ=WEEKLY", dtstart=start.replace(tzinfo=None).isoformat(timespec="seconds"),
                               timezone="UTC", channel=f"recording:C{n % communities}"))
    steward = Steward(db, config, build_router())
    adapter = TimedAdapter()
    steward.add_adapter(adapter)
    await steward.start_adapters()
    rss0 = rss_mb()

    t0 = time.perf_counter()
    cold = RitualScheduler(steward, sync_interval=3600)
    await cold.start()
    cold_s = time.perf_counter() - t0
    await cold.stop()
    t0 = time.perf_counter()
    engine = RitualScheduler(steward, sync_interval=3600)
    await engine.start()
    warm_s = time.perf_counter() - t0
    rss1 = rss_mb()

    # Re-plan `fire` rituals to a single occurrence a few seconds ahead, spread over `window` seconds.
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    planned: dict[str, datetime] = {}
    async with db.session() as session:
        for n in range(fire):
            ritual = await session.get(Ritual, n + 1)
            assert ritual is not None
            at = base + timedelta(seconds=int(n * window / fire))
            ritual.rrule, ritual.dtstart = "FREQ=DAILY;COUNT=1", at.replace(tzinfo=None).isoformat()
            ritual.revision += 1
            planned[f"ritual {n}"] = at
    t0 = time.perf_counter()
    await engine.sync()
    resync_s = time.perf_counter() - t0
    deadline = base + timedelta(seconds=window + 30)
    while len(adapter.sent) < fire and datetime.now(UTC) < deadline:  # noqa: ASYNC110 (bounded wait)
        await asyncio.sleep(0.2)
    lateness = sorted((at - planned[r.text.removeprefix("🔔 ")]).total_seconds()
                      for r, at in zip(adapter.sent, adapter.at, strict=True))
    await engine.stop()
    await steward.stop()
    await db.dispose()
    q = statistics.quantiles(lateness, n=100) if len(lateness) > 1 else [float("nan")] * 99
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"db {'sqlite' if db.is_sqlite else 'postgresql'}")
    print(f"rituals {rituals} in {communities} communities")
    print(f"cold start (sync {rituals} jobs into the store): {cold_s:.1f} s")
    print(f"warm start (restart, jobs already stored): {warm_s:.2f} s")
    print(f"RSS: {rss0:.0f} MB before the scheduler, {rss1:.0f} MB with it")
    print(f"re-sync of {fire} changed rituals: {resync_s:.1f} s")
    print(f"fired {len(lateness)}/{fire} over {window:.0f} s; lateness p50 {q[49]:.3f} s, p95 {q[94]:.3f} s, "
          f"max {max(lateness, default=float('nan')):.3f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=1000)
    parser.add_argument("--rituals", type=int, default=10_000)
    parser.add_argument("--fire", type=int, default=1000, help="rituals re-planned to fire during the run")
    parser.add_argument("--window", type=float, default=10.0, help="seconds over which they fire")
    args = parser.parse_args()
    asyncio.run(main(args.communities, args.rituals, args.fire, args.window))
