"""Routing under care: whom `steward who --replay` asks, beside the baselines given the same cap naively.

    python -m bench.routing_care [--communities dev,s1,...] [--postgres]

Each community goes through the product: `steward import slack-export` into a fresh database, then
`steward who --batch queries.jsonl --top 10` (the ranking: MRR@10) and `steward who --batch
queries.jsonl --replay` (whom Steward asks, question after question in time order, under its live care
rules: evidence, weekly cap, availability, spreading). The baselines of bench/baselines.py get the
same cap applied naively: each question, in time order, asks the first three of their ranking who were
asked fewer than 3 times in the 7 days before it. Figures per community:

- hit@3 under care: the share of questions where a real answerer (gold.jsonl) is among those asked;
- MRR@10 of the ranking itself (first real answerer in the top 10, no cap);
- load: the busiest member's share of all asks, and the Gini of asks over the members who answered at
  least once in the history (the same people for every method);
- expected hit@3 (synthetic communities): what the same asks would hit on average under the generator's
  own model, without the noise of sampling one set of real answerers per question (a 200-question
  hit rate near 0.25 moves by about ±0.03 from that noise alone).

Communities: `dev` (shared/data/routing-dev, 98 real questions) and synthetic ones made by
shared/data/gen_synthetic.py with the hook of bench/routing_ceiling.py, which also yields the
generator's own model: the best any ranking can be in expectation, here given the naive rule too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import platform
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

from bench.baselines import Baselines
from bench.routing_ceiling import generate, generator_chances, generator_rankings
from bench.routing_cli import ADMIN, _admin, _steward
from bench.routing_quality import DEV, iter_posts, load_queries, measure, unsuggestable

CAP, ASKED, WEEK = 3, 3, 7 * 86_400.0
# Synthetic communities of different sizes and shapes (gen_synthetic.py options), 200 questions each.
# "s", "h" and "v" were used while choosing the method; "w" were generated after it was fixed (held out).
SYNTHETIC = {
    "s1": "--members 300 --messages 20000 --channels 5 --days 120 --seed 21",
    "s2": "--members 1000 --messages 60000 --channels 10 --days 365 --zipf 1.3 --seed 22",
    "s3": "--members 2000 --messages 100000 --channels 20 --days 180 --seed 3",
    "s4": "--members 3000 --messages 200000 --channels 30 --days 365 --zipf 0.9 --expert-p 0.6 --seed 24",
    "s5": "--members 600 --messages 40000 --channels 8 --mean-replies 1.0 --expert-p 0.9 --seed 25",
    "h1": "--members 500 --messages 30000 --channels 6 --days 90 --seed 31",
    "h2": "--members 800 --messages 50000 --channels 12 --days 365 --zipf 1.5 --seed 32",
    "h3": "--members 1500 --messages 60000 --channels 15 --days 200 --expert-p 0.7 --seed 33",
    "h4": "--members 400 --messages 25000 --channels 4 --topics-per-channel 6 --seed 34",
    "h5": "--members 1200 --messages 80000 --channels 10 --mean-replies 3 --seed 35",
    "h6": "--members 300 --messages 20000 --channels 5 --zipf 0.8 --seed 36",
    "h7": "--members 2500 --messages 100000 --channels 25 --expert-p 0.9 --seed 37",
    "h8": "--members 700 --messages 40000 --channels 8 --days 60 --mean-replies 1.5 --zipf 1.2 --seed 38",
    "v1": "--members 400 --messages 30000 --channels 6 --days 120 --seed 41",
    "v2": "--members 1000 --messages 60000 --channels 12 --days 300 --zipf 1.4 --seed 42",
    "v3": "--members 2000 --messages 80000 --channels 16 --days 200 --expert-p 0.75 --seed 43",
    "v4": "--members 600 --messages 40000 --channels 5 --topics-per-channel 5 --mean-replies 2.5 --seed 44",
    "v5": "--members 1500 --messages 50000 --channels 20 --zipf 0.9 --seed 45",
    "v6": "--members 800 --messages 50000 --channels 8 --days 90 --expert-p 0.85 --mean-replies 1.5 --seed 46",
    "w1": "--members 350 --messages 25000 --channels 5 --days 150 --zipf 1.2 --seed 51",
    "w2": "--members 900 --messages 45000 --channels 9 --days 240 --expert-p 0.65 --seed 52",
    "w3": "--members 1800 --messages 90000 --channels 18 --days 300 --seed 53",
    "w4": "--members 500 --messages 35000 --channels 6 --topics-per-channel 3 --mean-replies 2.5 --seed 54",
    "w5": "--members 2500 --messages 150000 --channels 25 --days 365 --zipf 1.0 --seed 55",
    "w6": "--members 700 --messages 30000 --channels 10 --days 45 --mean-replies 1.2 --expert-p 0.85 --seed 56",
}
Queries = list[tuple[dict[str, Any], dict[str, Any]]]
STEWARD = "Steward (replay)"


def naive(rankings: list[list[str]], queries: Queries) -> list[list[str]]:
    """Each question in time order asks the first ASKED of its ranking asked fewer than CAP times in a week."""
    recent: dict[str, deque[float]] = {}
    asked: list[list[str]] = [[] for _ in queries]
    for i in sorted(range(len(queries)), key=lambda i: float(queries[i][0]["ts"])):
        now = float(queries[i][0]["ts"])
        for m in rankings[i]:
            seen = recent.setdefault(m, deque())
            while seen and seen[0] <= now - WEEK:
                seen.popleft()
            if len(seen) < CAP and m not in asked[i]:
                asked[i].append(m)
                if len(asked[i]) == ASKED:
                    break
        for m in asked[i]:
            recent[m].append(now)
    return asked


def gini(values: Iterable[int]) -> float:
    """Gini coefficient (0: everyone asked as often; near 1: one person asked for everything)."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if not total:
        return 0.0
    return sum((2 * (i + 1) - n - 1) * x for i, x in enumerate(xs)) / (n * total)


def expected_hit(asked: list[list[str]], chances: list[dict[str, float]], mean_replies: float) -> float:
    """The hit@3 to expect from these asks under the generator's own model, free of the gold's sampling noise.

    A synthetic question's answerers are max(1, n) draws (n geometric with the given mean), each picking a
    member with the probability in `chances`; the question is missed when no draw picks someone asked.
    """
    p, total = 1.0 / (1.0 + mean_replies), 0.0
    for members, chance in zip(asked, chances, strict=True):
        x = 1.0
        for m in members:
            x *= 1.0 - chance.get(m, 0.0)
        total += 1.0 - (p * x + p / (1.0 - (1.0 - p) * x) - p)  # one draw when n = 0, else n draws
    return total / max(1, len(asked))


def figures(asked: list[list[str]], ranked: list[list[str]], queries: Queries, pool: set[str],
            chances: list[dict[str, float]] | None = None, mean_replies: float = 2.0) -> list[float]:
    """hit@3 under care, MRR@10 of the ranking, busiest member's share of asks, Gini of asks, and (synthetic
    communities) the expected hit@3 under the generator's model (NaN otherwise)."""
    hit = sum(bool(set(a) & set(g["answerers"])) for a, (_, g) in zip(asked, queries, strict=True))
    mrr = sum(measure(r, g)[0] for r, (_, g) in zip(ranked, queries, strict=True))
    asks = Counter(m for a in asked for m in a)
    total = sum(asks.values()) or 1
    expected = expected_hit(asked, chances, mean_replies) if chances is not None else math.nan
    return [hit / len(queries), mrr / len(queries), max(asks.values(), default=0) / total,
            gini(asks.get(m, 0) for m in pool | set(asks)), expected]


def through_the_product(export: str, queries: Queries, postgres: bool) -> tuple[list[list[str]], list[list[str]]]:
    """Import, then `who --batch --top 10` and `who --batch --replay`: (rankings, asked) per query."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "STEWARD_DATA_DIR": tmp}
        env.pop("STEWARD_DATABASE_URL", None)
        dbname = f"steward_bench_{uuid.uuid4().hex[:8]}"
        if postgres:
            asyncio.run(_admin(f'CREATE DATABASE "{dbname}"'))
            env["STEWARD_DATABASE_URL"] = ADMIN.rsplit("/", 1)[0] + f"/{dbname}"
        try:
            _steward(env, "import", "slack-export", export, "--community", "bench")
            batch = os.path.join(tmp, "queries.jsonl")
            with open(batch, "w", encoding="utf-8") as f:
                for q, _ in queries:
                    f.write(json.dumps({k: q.get(k) for k in ("id", "text", "asker", "ts")}) + "\n")
            ranked = _steward(env, "who", "--community", "bench", "--batch", batch, "--top", "10").splitlines()
            asked = _steward(env, "who", "--community", "bench", "--batch", batch, "--replay").splitlines()
        finally:
            if postgres:
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))

    def members(lines: list[str]) -> list[list[str]]:
        by_id = {row["id"]: [e["member"] for e in row["experts"]] for row in map(json.loads, lines)}
        return [by_id.get(q["id"], []) for q, _ in queries]

    return members(ranked), members(asked)


def community(name: str, export: str, queries: Queries, hidden: dict[str, Any] | None,
              postgres: bool) -> dict[str, list[float]]:
    """Every method's figures on one community."""
    banned = unsuggestable(export)
    base = Baselines(iter_posts(export))
    pool = {m for m, n in base.replies.items() if n > 0 and m not in banned}
    chances = generator_chances(hidden, queries) if hidden is not None else None
    mean_replies = float(hidden.get("mean_replies", 2.0)) if hidden is not None else 2.0

    def row(asked: list[list[str]], ranked: list[list[str]]) -> list[float]:
        return figures(asked, ranked, queries, pool, chances, mean_replies)

    rows: dict[str, list[float]] = {}
    for method in Baselines.NAMES:
        ranked = []
        for q, _ in queries:
            ranking = base.rank(q["text"])[method]
            ranked.append([m for m in ranking if m != q["asker"] and m not in banned][:200])
        rows[method] = row(naive(ranked, queries), ranked)
    ranked, asked = through_the_product(export, queries, postgres)
    rows[STEWARD] = row(asked, ranked)
    if hidden is not None:
        ideal = generator_rankings(hidden, queries, depth=200)
        rows["generator's own model (ceiling), naive"] = row(naive(ideal, queries), ideal)
    gold = [[m for m in g["answerers"] if m != q["asker"] and m not in banned] for q, g in queries]
    padded = [list(dict.fromkeys(a + [m for m in base.active if m != q["asker"] and m not in banned]))
              for a, (q, _) in zip(gold, queries, strict=True)]
    # The oracles know this draw of answerers: an expectation over other draws says nothing of them.
    rows["oracle: real answerers, naive"] = figures(naive(gold, queries), gold, queries, pool)
    rows["oracle, then most-active, naive"] = figures(naive(padded, queries), padded, queries, pool)
    return rows


def print_table(name: str, n: int, rows: dict[str, list[float]]) -> list[float]:
    """One community's table; returns Steward's hit, MRR and expected hit as multiples of the best baseline's."""
    best = [max(rows[m][i] for m in Baselines.NAMES) for i in (0, 1, 4)]
    print(f"\n{name}: {n} questions; best baseline hit@3 under care {best[0]:.3f}, MRR@10 {best[1]:.3f}\n")
    print("| method | hit@3 under care | MRR@10 | busiest member's share of asks | Gini of asks | expected hit@3 |")
    print("|---|---|---|---|---|---|")
    for method, (hit, mrr, busiest, g, expected) in rows.items():
        bold = "**" if method == STEWARD else ""
        shown = "–" if math.isnan(expected) else f"{expected:.3f}"
        print(f"| {bold}{method}{bold} | {hit:.3f} | {mrr:.3f} | {busiest:.3f} | {g:.3f} | {shown} |")
    return [rows[STEWARD][i] / b if b else math.nan for i, b in zip((0, 1, 4), best, strict=True)]


def main(argv: list[str] | None = None) -> None:
    """Measure every community asked for, then the summary against the target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--communities", default="dev," + ",".join(SYNTHETIC),
                    help="dev and/or names of SYNTHETIC, comma-separated")
    ap.add_argument("--queries", type=int, default=200, help="questions per synthetic community")
    ap.add_argument("--postgres", action="store_true")
    a = ap.parse_args(argv)
    started = time.perf_counter()
    summary: dict[str, list[float]] = {}
    for name in a.communities.split(","):
        if name == "dev":
            queries = load_queries(DEV)
            rows = community(name, os.path.join(DEV, "export"), queries, None, a.postgres)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                with contextlib.redirect_stdout(io.StringIO()):  # the generator's own summary line
                    hidden = generate(tmp, [*SYNTHETIC[name].split(), "--queries", str(a.queries)])
                queries = load_queries(tmp)
                rows = community(name, os.path.join(tmp, "export"), queries, hidden, a.postgres)
        label = "dev set routing-dev/quantumcomputing" if name == "dev" else f"{name} ({SYNTHETIC[name]})"
        summary[name] = print_table(label, len(queries), rows)
    hits, mrrs = [r[0] for r in summary.values()], [r[1] for r in summary.values()]
    print(f"\nSteward / best baseline, hit@3 under care: mean {sum(hits) / len(hits):.2f}, min {min(hits):.2f}; "
          f"MRR@10: min {min(mrrs):.2f}")
    expected = [r[2] for r in summary.values() if not math.isnan(r[2])]
    if expected:
        print(f"expected hit@3 (synthetic, the generator's model), Steward / best baseline: mean "
              f"{sum(expected) / len(expected):.2f}, min {min(expected):.2f}")
    print("per community (hit, MRR, expected hit): " + ", ".join(
        f"{n} {r[0]:.2f}/{r[1]:.2f}/{r[2]:.2f}" for n, r in summary.items()))
    backend = "PostgreSQL" if a.postgres else "SQLite"
    print(f"{backend}, {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
