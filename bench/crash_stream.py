"""Kill -9 at random points during a stream of questions and scheduled steps, on Matrix and on Slack.

A real `steward run` child process (this repository's code, `python -m app run --config FILE`) serves a
local Synapse (through a loopback relay) or the local fake Slack Web API (`[slack] api_url`), on SQLite or
PostgreSQL. A member asks `--questions` times; `--scheduled` survey closings fall due meanwhile (made due in
the database, found by the leader every 0.5 s: STEWARD_PERIODIC_SECONDS). The process is SIGKILLed
`--kills` times, in turn on a timer, as the platform accepts a reply (before Steward hears so) and, on
Slack, as a delivery is acknowledged; each time it is started again. Then every question's replies and
every closing's posts are counted. Expected: Matrix exactly once; Slack never lost, duplicates counted.

    .venv/bin/python bench/crash_stream.py [--seed 7] [--questions 50] [--scheduled 10] [--kills 4]
                                           [--database sqlite|postgres] [--platforms matrix,slack]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import Database
from tests.conftest import create_pg_database, drop_pg_database
from tests.crash.scenarios import Outcome, Plan, matrix_stream, slack_stream
from tests.matrix.homeserver import Synapse
from tests.slack.fake_slack import FakeSlack

MODES = {"matrix": ("timer", "send"), "slack": ("timer", "send", "ack")}


async def one(kind: str, args: argparse.Namespace, work: Path, synapse: Synapse | None) -> Outcome:
    """One platform's run on a fresh database."""
    tmp = work / kind
    tmp.mkdir()
    url = await asyncio.to_thread(create_pg_database, "steward_crash") if args.database == "postgres" else \
        f"sqlite+aiosqlite:///{tmp / 'steward.db'}"
    db = Database(url)
    await db.upgrade()
    plan = Plan.draw(args.seed, kills=args.kills, questions=args.questions, surveys=args.scheduled,
                     span=args.span, modes=MODES[kind])
    print(f"{kind}: plan {plan.describe()}", flush=True)
    try:
        if kind == "matrix":
            assert synapse is not None
            return await matrix_stream(synapse=synapse, db=db, database=args.database, database_url=url, tmp=tmp,
                                       plan=plan, within=args.within)
        fake = FakeSlack()
        await fake.start()
        try:
            return await slack_stream(fake=fake, db=db, database=args.database, database_url=url, tmp=tmp,
                                      plan=plan, within=args.within)
        finally:
            await fake.stop()
    finally:
        await db.dispose()
        if args.database == "postgres":
            await asyncio.to_thread(drop_pg_database, url)


def table(outcomes: list[Outcome]) -> str:
    head = ("platform", "db", "questions", "scheduled", "kills", "lost", "duplicates", "resent after restart",
            "deliveries replayed", "deliveries retried", "restart s (mean)", "run s")
    rows = [head]
    for o in outcomes:
        mean = sum(o.restarts) / len(o.restarts) if o.restarts else 0.0
        rows.append((o.platform, o.database, str(len(o.replies)), str(len(o.posts)), str(o.kills), str(len(o.lost)),
                     str(o.duplicates), str(o.adopted), str(o.replayed) if o.platform == "slack" else "-",
                     str(o.retried) if o.platform == "slack" else "-", f"{mean:.1f}", f"{o.elapsed:.1f}"))
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "---|" * len(head))
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR)
    kinds = [k.strip() for k in args.platforms.split(",") if k.strip()]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; database {args.database}; seed {args.seed}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="steward-crash-"))
    synapse = Synapse(work / "synapse") if "matrix" in kinds else None
    if synapse is not None:
        synapse.start()
    outcomes = []
    try:
        for kind in kinds:
            outcome = await one(kind, args, work, synapse)
            print(outcome.summary(), flush=True)
            if outcome.errors:
                print(f"  {len(outcome.errors)} ERROR line(s) in the child's log, first: {outcome.errors[0]}")
            outcomes.append(outcome)
    finally:
        if synapse is not None:
            synapse.stop()
    print()
    print(table(outcomes))
    for o in outcomes:
        if o.lost:
            print(f"{o.platform}: LOST {o.lost} (logs in {work / o.platform})")
        if o.platform == "matrix" and o.duplicates:
            print(f"matrix: {o.duplicates} DUPLICATE(S) (logs in {work / o.platform})")
    bad = any(o.lost or (o.platform == "matrix" and o.duplicates) for o in outcomes)
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--scheduled", type=int, default=10)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--span", type=float, default=20.0, help="seconds over which questions and closings spread")
    parser.add_argument("--within", type=float, default=180.0, help="seconds to wait for everything to be answered")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--platforms", default="matrix,slack")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
