"""Routing at scale, in-process: build the index from the database, then time `who` per query.

    python -m bench.routing_serve --community synth --queries /tmp/synth-main/queries.jsonl [--limit 200]

Uses the database Steward would (STEWARD_DATABASE_URL or the SQLite file in STEWARD_DATA_DIR); import
first with `steward import slack-export`. Prints index build time (and how long the event loop stalled
meanwhile), p50/p95 per query of the whole `who` path (ranking + care filters reading the database) and
the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.config import default_data_dir
from bot.routing.care import candidates
from bot.services import Services
from storage.communities import get_community
from storage.db import database_from_env


async def _watch_loop(stalls: list[float], tick: float = 0.01) -> None:
    """Record how late each 10 ms tick of the event loop is: what other events would wait meanwhile."""
    while True:
        t = time.perf_counter()
        await asyncio.sleep(tick)
        stalls.append((time.perf_counter() - t - tick) * 1000)


async def run(community: str, queries: list[dict[str, object]], top: int) -> None:
    """Build, rank, report."""
    db = database_from_env(default_data_dir())
    services = Services.for_database(db)
    async with db.session() as session:
        found = await get_community(session, community)
    assert found is not None and found.id is not None, f"import a community named {community} first"
    stalls: list[float] = []
    watch = asyncio.create_task(_watch_loop(stalls))
    t0 = time.perf_counter()
    index = await services.expertise.index(found.id)
    build = time.perf_counter() - t0
    await asyncio.sleep(0.05)  # let the watcher see the stall that may have ended the build
    watch.cancel()
    stalls.sort()
    times = []
    for q in queries:
        at = datetime.fromtimestamp(float(str(q["ts"])), UTC) if q.get("ts") else datetime.now(UTC)
        t = time.perf_counter()
        async with db.session() as session:
            await candidates(session, index, found.id, str(q["text"]), asker=str(q.get("asker") or ""), now=at,
                             top=top)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    # An opt-in puts the member back in place: time it for the most prolific member (forgotten first).
    async with db.reader() as conn:
        uid, n = (await conn.execute(text(
            "SELECT a.platform_user_id, count(*) FROM message m JOIN member a ON a.id = m.author_id "
            "WHERE m.community_id = :c GROUP BY a.platform_user_id ORDER BY 2 DESC LIMIT 1"), {"c": found.id})).one()
    index.forget_member(uid)
    t = time.perf_counter()
    await services.expertise.restore_member(found.id, uid)
    restore = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{db.engine.url.get_backend_name()}: index build {build:.1f} s (the event loop meanwhile: longest "
          f"stall {stalls[-1]:.0f} ms, p99 {stalls[int(0.99 * (len(stalls) - 1))]:.0f} ms); who over {len(times)} "
          f"queries: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms; opt-in of the most prolific member "
          f"({n} messages) {restore:.1f} s; peak RSS {rss:.0f} MB")
    await db.dispose()


def main() -> None:
    """Parse arguments and run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--community", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()
    queries = [json.loads(line) for line in Path(a.queries).read_text(encoding="utf-8").splitlines()][: a.limit]
    asyncio.run(run(a.community, queries, a.top))


if __name__ == "__main__":
    main()
