"""Scale benchmark of the expertise index: build speed, rank latency, peak memory, quality.

    python3 /work/shared/data/gen_synthetic.py --out /tmp/synth-1m --members 10000 \
        --messages 1000000 --channels 50 --days 365 --seed 7 --queries 200
    python -m bench.routing_scale --data /tmp/synth-1m

The export is streamed one day file at a time, as an import from storage would feed the index. The
index is then saved to a file and loaded back (bot/expertise/snapshot.py), and ranks the same.
"""

from __future__ import annotations

import argparse
import gc
import resource
import tempfile
import time
from os.path import join
from pathlib import Path

from bench.routing_quality import (
    iter_posts,
    load_queries,
    measure,
    steward_rankings,
    summarise,
    table,
    unsuggestable,
)
from bot.expertise import ExpertiseIndex, snapshot


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def main(argv: list[str] | None = None) -> None:
    """Load, calibrate, rank every query twice (cold then warm) and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    a = ap.parse_args(argv)
    export = join(a.data, "export")
    banned, queries = unsuggestable(export), load_queries(a.data)
    index = ExpertiseIndex()
    # The index is built once and lives for the process: keep the collector out of the way, as a
    # bulk import should (gc.freeze would do the same for a long-lived bot).
    gc.disable()
    # CPU time is reported beside wall time: on a shared machine the wall clock measures the neighbours.
    n, in_add, cpu_add, t0, c0 = 0, 0.0, 0.0, time.perf_counter(), time.process_time()
    for p in iter_posts(export):
        t1, c1 = time.perf_counter(), time.process_time()
        index.add(p)
        in_add += time.perf_counter() - t1
        cpu_add += time.process_time() - c1
        n += 1
    total, cpu_total = time.perf_counter() - t0, time.process_time() - c0
    gc.enable()
    gc.collect()
    t1 = time.perf_counter()
    beta = index.calibrate()
    calib = time.perf_counter() - t1
    ranks, ms = steward_rankings(index, queries, banned)
    _, warm = steward_rankings(index, queries, banned)
    cpu = []
    for q, _ in queries:
        c1 = time.process_time()
        index.rank(q["text"], asker=q["asker"], exclude=banned, now=float(q["ts"]))
        cpu.append((time.process_time() - c1) * 1000)
    quality = summarise([measure(r, g) for r, (_, g) in zip(ranks, queries, strict=True)])
    print(f"{a.data}: {n} posts, {len(queries)} queries")
    print(f"import (JSON parse + add): {n / total:,.0f} posts/s wall, {n / cpu_total:,.0f} posts/s CPU")
    print(f"add alone:                 {n / in_add:,.0f} posts/s wall, {n / cpu_add:,.0f} posts/s CPU")
    print(f"calibrate: replay MRR={beta:.3f} in {calib:.1f} s")
    print(f"rank cold: p50 {pct(ms, 50):.1f} ms, p95 {pct(ms, 95):.1f} ms, max {max(ms):.1f} ms")
    print(f"rank warm: p50 {pct(warm, 50):.1f} ms, p95 {pct(warm, 95):.1f} ms, max {max(warm):.1f} ms")
    print(f"rank CPU:  p50 {pct(cpu, 50):.1f} ms, p95 {pct(cpu, 95):.1f} ms, max {max(cpu):.1f} ms")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.idx"
        t1 = time.perf_counter()
        size = snapshot.save(index, path, {})
        saved = time.perf_counter() - t1
        t1 = time.perf_counter()
        loaded, _ = snapshot.load(path)
        load = time.perf_counter() - t1
    same = all(loaded.rank(q["text"], asker=q["asker"], exclude=banned, now=float(q["ts"]))
               == index.rank(q["text"], asker=q["asker"], exclude=banned, now=float(q["ts"])) for q, _ in queries)
    print(f"snapshot: {size / 1e6:.0f} MB, saved in {saved:.2f} s, loaded in {load:.2f} s; "
          f"same rankings after loading: {same}")
    print(table({"Steward": quality}))


if __name__ == "__main__":
    main()
