"""Routing quality through the product itself: `steward import` then `steward who --batch`, beside baselines.

    python -m bench.routing_cli [--data DIR] [--postgres]

DIR holds export/, queries.jsonl and gold.jsonl (default: the shared routing-dev set). With --postgres the
run uses a fresh database on the local PostgreSQL (STEWARD_BENCH_POSTGRES, default
postgresql://postgres@127.0.0.1:5432/postgres for creating it); otherwise SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

from bench.routing_quality import DEV, iter_posts, load_queries, measure, summarise, table, unsuggestable

ADMIN = os.environ.get("STEWARD_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _steward(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"steward {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    """Import, rank through the CLI, score, and print Steward beside every baseline."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEV)
    ap.add_argument("--postgres", action="store_true")
    a = ap.parse_args(argv)
    export, queries = os.path.join(a.data, "export"), load_queries(a.data)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "STEWARD_DATA_DIR": tmp}
        env.pop("STEWARD_DATABASE_URL", None)
        dbname = f"steward_bench_{uuid.uuid4().hex[:8]}"
        if a.postgres:
            asyncio.run(_admin(f'CREATE DATABASE "{dbname}"'))
            env["STEWARD_DATABASE_URL"] = ADMIN.rsplit("/", 1)[0] + f"/{dbname}"
        try:
            t0 = time.perf_counter()
            print(_steward(env, "import", "slack-export", export, "--community", "bench").strip())
            t1 = time.perf_counter()
            batch = os.path.join(tmp, "queries.jsonl")
            with open(batch, "w", encoding="utf-8") as f:
                for q, _ in queries:
                    line = {"id": q["id"], "text": q["text"], "asker": q["asker"], "ts": q.get("ts")}
                    f.write(json.dumps(line) + "\n")
            lines = _steward(env, "who", "--community", "bench", "--batch", batch, "--top", "10").splitlines()
            t2 = time.perf_counter()
        finally:
            if a.postgres:
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
    ranked = {row["id"]: [e["member"] for e in row["experts"]] for row in map(json.loads, lines)}
    from bench.baselines import Baselines

    banned = unsuggestable(export)
    base = Baselines(iter_posts(export))
    rows: dict[str, list[Any]] = {n: [] for n in Baselines.NAMES}
    for q, g in queries:
        for name, r in base.rank(q["text"]).items():
            rows[name].append(measure([m for m in r if m != q["asker"] and m not in banned], g))
    results = {n: summarise(r) for n, r in rows.items()}
    results["Steward (CLI)"] = summarise([measure(ranked.get(q["id"], []), g) for q, g in queries])
    backend = "PostgreSQL" if a.postgres else "SQLite"
    print(f"{a.data} on {backend}: {len(queries)} queries; import {t1 - t0:.1f} s, who --batch {t2 - t1:.1f} s")
    print(table(results))
    best = max(v[0] for n, v in results.items() if not n.startswith("Steward"))
    print(f"Steward MRR@10 / best baseline = {results['Steward (CLI)'][0] / best:.2f}")


if __name__ == "__main__":
    main()
