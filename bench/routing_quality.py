"""Routing quality of Steward's expertise ranker against classic baselines on a Slack export.

    python -m bench.routing_quality [--data DIR] [--no-baselines]

DIR holds export/ (users.json + one folder of day files per channel), queries.jsonl and gold.jsonl.
Prints MRR@10 (first gold answerer), Hit@1, Hit@5, nDCG@10 (binary) and MRR@10 on the accepted answerer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Iterator
from typing import Any

from bot.expertise import ExpertiseIndex, Post

DEV = "/work/shared/data/routing-dev/quantumcomputing"
METRICS = ("MRR@10", "Hit@1", "Hit@5", "nDCG@10", "MRR-acc")


def unsuggestable(export: str) -> set[str]:
    """Users marked deleted or bots: never suggested."""
    with open(os.path.join(export, "users.json")) as f:
        return {u["id"] for u in json.load(f) if u.get("deleted") or u.get("is_bot")}


def to_post(m: dict[str, Any]) -> Post | None:
    """Turn one exported Slack message into a Post (None for joins, bots and other noise)."""
    user = m.get("user")
    if not user or m.get("subtype") not in (None, "thread_broadcast"):
        return None
    reactions: list[tuple[str, str]] = []
    for r in m.get("reactions", ()):
        users = r.get("users", [])
        reactions += [(r["name"], u) for u in users]
        # Exports list at most a few reactors; `count` is the truth, the rest stay anonymous.
        reactions += [(r["name"], "")] * max(0, r.get("count", len(users)) - len(users))
    ts = m["ts"]
    return Post(ts, m.get("thread_ts", ts), user, m.get("text", ""), float(ts), tuple(reactions))


def iter_posts(export: str) -> Iterator[Post]:
    """Stream the posts of every channel, one day file at a time."""
    for ch in sorted(os.listdir(export)):
        folder = os.path.join(export, ch)
        if not os.path.isdir(folder):
            continue
        for day in sorted(os.listdir(folder)):
            with open(os.path.join(folder, day)) as f:
                for m in json.load(f):
                    p = to_post(m)
                    if p is not None:
                        yield p


def load_queries(data: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Return (query, gold) pairs."""
    with open(os.path.join(data, "gold.jsonl")) as f:
        gold = {g["id"]: g for g in map(json.loads, f)}
    with open(os.path.join(data, "queries.jsonl")) as f:
        return [(q, gold[q["id"]]) for q in map(json.loads, f) if q["id"] in gold]


def measure(ranking: list[str], gold: dict[str, Any]) -> tuple[float, float, float, float, float | None]:
    """Per-query metrics of one ranking (top 10 read)."""
    answerers, top = set(gold["answerers"]), ranking[:10]
    rr = next((1.0 / (i + 1) for i, m in enumerate(top) if m in answerers), 0.0)
    dcg = sum(1.0 / math.log2(i + 2) for i, m in enumerate(top) if m in answerers)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(10, len(answerers))))
    acc = None
    if gold.get("accepted"):
        acc = next((1.0 / (i + 1) for i, m in enumerate(top) if m == gold["accepted"]), 0.0)
    hit5 = float(bool(answerers & set(top[:5])))
    return rr, float(bool(top) and top[0] in answerers), hit5, dcg / idcg if idcg else 0.0, acc


def summarise(rows: list[tuple[float, float, float, float, float | None]]) -> list[float]:
    """Average the per-query metrics (accepted MRR over queries that have an accepted answer)."""
    n = max(1, len(rows))
    out = [sum(r[i] or 0.0 for r in rows) / n for i in range(4)]
    acc = [r[4] for r in rows if r[4] is not None]
    return [*out, sum(acc) / max(1, len(acc))]


def table(results: dict[str, list[float]]) -> str:
    """Format results as a Markdown table."""
    lines = ["| method | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    for name, vals in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    return "\n".join(lines)


def steward_rankings(
    index: ExpertiseIndex, queries: list[tuple[dict[str, Any], dict[str, Any]]], banned: set[str]
) -> tuple[list[list[str]], list[float]]:
    """Rank every query with Steward (asker and unsuggestable users excluded); return rankings, ms."""
    out, ms = [], []
    for q, _ in queries:
        t0 = time.perf_counter()
        got = index.rank(q["text"], asker=q["asker"], exclude=banned, top=10, now=float(q["ts"]))
        ms.append((time.perf_counter() - t0) * 1000)
        out.append([s.member for s in got])
    return out, ms


def main(argv: list[str] | None = None) -> None:
    """Build the index and the baselines, rank every query, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEV)
    ap.add_argument("--no-baselines", action="store_true")
    a = ap.parse_args(argv)
    export = os.path.join(a.data, "export")
    banned, queries = unsuggestable(export), load_queries(a.data)
    index = ExpertiseIndex()
    for p in iter_posts(export):
        index.add(p)
    beta = index.calibrate()
    results: dict[str, list[float]] = {}
    if not a.no_baselines:
        from bench.baselines import Baselines

        base = Baselines(iter_posts(export))
        rows: dict[str, list[Any]] = {n: [] for n in Baselines.NAMES}
        for q, g in queries:
            for name, r in base.rank(q["text"]).items():
                rows[name].append(measure([m for m in r if m != q["asker"] and m not in banned], g))
        results = {n: summarise(r) for n, r in rows.items()}
    ranks, _ = steward_rankings(index, queries, banned)
    results["Steward"] = summarise([measure(r, g) for r, (_, g) in zip(ranks, queries, strict=True)])
    print(f"{a.data}: {len(queries)} queries, replay MRR={beta:.3f}, weights={[round(w, 2) for w in index.weights]}")
    print(table(results))
    if not a.no_baselines:
        best = max(v[0] for n, v in results.items() if n != "Steward")
        print(f"Steward MRR@10 / best baseline = {results['Steward'][0] / best:.2f}")


if __name__ == "__main__":
    main()
