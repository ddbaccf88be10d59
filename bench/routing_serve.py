"""Routing at scale, in-process: get the index (load the saved one, or build it), then time `who` per query.

    python -m bench.routing_serve --community synth --queries /tmp/synth/queries.jsonl [--limit 200] [--no-snapshot]

Uses the database Steward would (STEWARD_DATABASE_URL or the SQLite file in STEWARD_DATA_DIR) and the
index files saved in STEWARD_DATA_DIR/index (`--no-snapshot`: build, never load nor save); import first
with `steward import slack-export`. Prints how long the index took (and how long the event loop stalled
meanwhile), the seconds from the process's start to the first answer, p50/p95 per query of the whole
`who` path (ranking + care filters reading the database; wall and CPU) and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


def since_process_start() -> float:
    """Seconds since this process was created (imports included), from /proc."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - ticks / os.sysconf("SC_CLK_TCK")


async def run(community: str, queries: list[dict[str, object]], top: int, snapshots: bool) -> None:
    """Build, rank, report."""
    data_dir = default_data_dir()
    db = database_from_env(data_dir)
    services = Services.for_database(db, data_dir if snapshots else None)
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
    times, cpu, first = [], [], 0.0
    for q in queries:
        at = datetime.fromtimestamp(float(str(q["ts"])), UTC) if q.get("ts") else datetime.now(UTC)
        t, c = time.perf_counter(), time.process_time()
        async with db.session() as session:
            await candidates(session, index, found.id, str(q["text"]), asker=str(q.get("asker") or ""), now=at,
                             top=top)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        first = first or since_process_start()
    times.sort()
    cpu.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    rss_serving = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
    print(f"{db.engine.url.get_backend_name()}: index {'load' if snapshots else 'build'} {build:.1f} s (the event "
          f"loop meanwhile: longest stall {stalls[-1]:.0f} ms, p99 {stalls[int(0.99 * (len(stalls) - 1))]:.0f} ms); "
          f"first answer {first:.2f} s after the process started; who over {len(times)} queries: p50 "
          f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms (CPU p50 {statistics.median(cpu):.1f} ms, p95 "
          f"{cpu[int(0.95 * (len(cpu) - 1))]:.1f} ms); peak RSS before the opt-in {rss_serving:.0f} MB; opt-in of the "
          f"most prolific member ({n} messages) {restore:.1f} s; peak RSS {rss:.0f} MB")
    await db.dispose()


def main() -> None:
    """Parse arguments and run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--community", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--no-snapshot", action="store_true", help="build the index, never load nor save a file")
    a = ap.parse_args()
    queries = [json.loads(line) for line in Path(a.queries).read_text(encoding="utf-8").splitlines()][: a.limit]
    asyncio.run(run(a.community, queries, a.top, not a.no_snapshot))


if __name__ == "__main__":
    main()
