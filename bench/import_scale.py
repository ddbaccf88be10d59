"""`steward import slack-export` at scale, into a fresh database, with where the time goes.

    python3 ../shared/data/gen_synthetic.py --out /tmp/synth --members 10000 --messages 1000000 \
        --channels 50 --days 365 --seed 7 --queries 200      # once
    python -m bench.import_scale --data /tmp/synth/export [--postgres] [--keep DIR]

SQLite: a new file in a temporary folder (or DIR with --keep, to reuse it for `who` benchmarks).
PostgreSQL: a new database on 127.0.0.1:5432 (made like the tests' own), dropped after unless --keep.
Prints the figure the CLI prints (messages read per second, the ledger pass apart), the wall time of
each phase as the import awaited it, the CPU time of the whole process (all threads) and its peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.slack_export import reader
from app.cli_import import import_slack_export
from storage import bulk
from storage.db import Database

PHASES: Counter[str] = Counter()
CPU_AT_LEDGER: list[float] = []


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The same function, its wall time added to PHASES[name] (coroutine functions awaited)."""
    if asyncio.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def run_async(*args: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kw)
            finally:
                PHASES[name] += time.perf_counter() - started
        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            PHASES[name] += time.perf_counter() - started
    return run


async def main_async(data: Path, url: str) -> None:
    """Migrate, import, report."""
    db = Database(url)
    await db.upgrade()
    load = os.getloadavg()
    cpu, started = time.process_time(), time.perf_counter()
    cpu_start = cpu
    summary = await import_slack_export(db, data, "synth", progress=False)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    await db.dispose()
    import_cpu = CPU_AT_LEDGER[0] - cpu_start
    print(f"{db.engine.url.get_backend_name()}: {summary.messages_new:,} messages, {summary.reactions_new:,} "
          f"reactions in {summary.seconds:.1f} s = **{summary.rate:,.0f} msg/s** (as `steward import` reports it; "
          f"{import_cpu:.1f} s of CPU, all threads: {summary.messages_seen / import_cpu:,.0f} msg per CPU second); "
          f"ledger pass {summary.ledger.seconds:.1f} s; whole command {wall:.1f} s wall, {cpu:.1f} s CPU; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; load average before "
          f"{load[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    for name, seconds in PHASES.most_common():
        print(f"  {name:<28} {seconds:6.1f} s wall")


def main() -> None:
    """Parse arguments, make the database, run."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="the export folder (or .zip)")
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--keep", type=Path, help="SQLite: the data folder to import into (kept after)")
    a = ap.parse_args()
    from bot import importer

    ledger = importer.derive_ledger

    async def derive_ledger(*args: Any, **kw: Any) -> Any:
        CPU_AT_LEDGER.append(time.process_time())
        return await ledger(*args, **kw)

    importer.derive_ledger = derive_ledger  # type: ignore[assignment]
    reader.SlackExport.messages = timed("read day files", reader.SlackExport.messages)  # type: ignore[method-assign]
    for name in ("insert_messages", "insert_reactions", "upsert_members", "restore_indexes", "analyze"):
        setattr(bulk, name, timed(f"storage.bulk.{name}", getattr(bulk, name)))
    if a.postgres:
        from tests.conftest import create_pg_database, drop_pg_database

        url = create_pg_database("steward_import_bench")
        try:
            asyncio.run(main_async(a.data, url))
        finally:
            if not a.keep:
                drop_pg_database(url)
            else:
                print(f"kept: {url}")
        return
    folder = a.keep or Path(tempfile.mkdtemp(prefix="steward-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(a.data, f"sqlite+aiosqlite:///{folder / 'steward.db'}"))
    if not a.keep:
        for path in folder.glob("steward.db*"):
            os.unlink(path)


if __name__ == "__main__":
    main()
