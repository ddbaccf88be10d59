"""How much better than the baselines any ranking could be: the ceiling of the routing quality target.

    python -m bench.routing_ceiling [--dev DIR] [--members 2000 --messages 100000 --channels 20
                                     --days 180 --seed 3 --queries 200]

Two measurements, printed beside the best baseline and Steward as shipped:

- **Synthetic set, the generator's own model.** The shared generator is run with a hook that keeps its
  hidden state (each member's activity and expertise topics, each topic's words). Ranking every query by
  the probability the generator itself gives each member of answering it (the query's topic inferred
  from its words) is the best any method can do in expectation: it knows everything the export only
  hints at. If even that ranking is not 1.2x the best baseline, no method is.
- **Development set, rankings fitted on the answers.** Steward's own features with weights fitted on
  the gold answers of the queries themselves (in-sample: optimistic), and members ordered by how many
  of the queries they answered. Neither is a method (both read the answers); they show how much
  headroom the history's signals leave.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter, defaultdict
from typing import Any

from bench.baselines import Baselines
from bench.routing_quality import (
    DEV,
    iter_posts,
    load_queries,
    measure,
    steward_rankings,
    summarise,
    table,
    unsuggestable,
)
from bot.expertise import ExpertiseIndex, features, learning

GENERATOR = os.path.join(os.path.dirname(os.path.dirname(DEV)), "gen_synthetic.py")
HOOK_AT = "    if a.queries:\n"
HOOK = (
    "    HIDDEN.update(activity=activity, member_topics=member_topics, topic_vocab=topic_vocab,\n"
    "                  general=general, channels=a.channels, per_channel=a.topics_per_channel,\n"
    "                  expert_p=a.expert_p, mean_replies=a.mean_replies)\n"
)
TOPIC_P = 0.4  # share of a question's words drawn from its topic (gen_synthetic.py: text(topic, 8, 30, 0.4))
Queries = list[tuple[dict[str, Any], dict[str, Any]]]


def generate(out: str, args: list[str]) -> dict[str, Any]:
    """Run the shared generator into `out` and return its hidden state."""
    with open(GENERATOR, encoding="utf-8") as f:
        source = f.read()
    if source.count(HOOK_AT) != 1:
        raise SystemExit(f"{GENERATOR} changed shape: cannot find one {HOOK_AT.strip()!r} to hook before")
    hidden: dict[str, Any] = {}
    ns: dict[str, Any] = {"__name__": "gen_synthetic", "HIDDEN": hidden}
    exec(compile(source.replace(HOOK_AT, HOOK + HOOK_AT), GENERATOR, "exec"), ns)  # the shared, trusted tool
    ns["main"](["--out", out, *args])
    return hidden


def generator_chances(hidden: dict[str, Any], queries: Queries) -> list[dict[str, float]]:
    """Per query, the generator's probability that one answer draw picks each member (the asker excluded)."""
    act: list[float] = hidden["activity"]
    topics: list[list[int]] = hidden["member_topics"]
    vocab: list[list[str]] = hidden["topic_vocab"]
    general, p_exp, per = set(hidden["general"]), float(hidden["expert_p"]), int(hidden["per_channel"])
    word_topic = {w: t for t, ws in enumerate(vocab) for w in ws}
    assert not general & set(word_topic), "topic words and general words are disjoint in the generator"
    # Channel c is drawn with weight 1/(c+1)^0.8, then one of its topics uniformly.
    prior = [1.0 / (t // per + 1) ** 0.8 / per for t in range(len(vocab))]
    members = defaultdict(list)
    for m, ts in enumerate(topics):
        for t in ts:
            members[t].append(m)
    z, z_t = sum(act), {t: sum(act[m] for m in ms) for t, ms in members.items()}
    out: list[dict[str, float]] = []
    for q, _ in queries:
        words = q["text"].split()
        counts = Counter(word_topic[w] for w in words if w in word_topic)
        # A word from a topic's vocabulary rules out every other topic; general words say nothing.
        if len(counts) == 1:
            post = {next(iter(counts)): 1.0}
        else:
            cand = list(counts) or list(range(len(vocab)))
            weight = {t: prior[t] * (TOPIC_P / len(vocab[t])) ** counts[t] for t in cand}
            total = sum(weight.values())
            post = {t: w / total for t, w in weight.items()}
        score = [(1.0 - p_exp) * a / z for a in act]
        for t, pt in post.items():
            for m in members[t]:
                score[m] += pt * p_exp * act[m] / z_t[t]
        asker = int(q["asker"][1:])
        rest = 1.0 - score[asker]
        out.append({f"U{m:07d}": p / rest for m, p in enumerate(score) if m != asker and p > 0.0})
    return out


def generator_rankings(hidden: dict[str, Any], queries: Queries, depth: int = 10) -> list[list[str]]:
    """Rank each query by the generator's probability that each member answers it (asker excluded)."""
    return [sorted(chances, key=lambda m: (-chances[m], m))[:depth] for chances in generator_chances(hidden, queries)]


def fitted_on_gold(index: ExpertiseIndex, queries: Queries, banned: set[str]) -> list[list[str]]:
    """Rank with Steward's features and weights fitted on these queries' own answers (in-sample)."""
    rows: list[tuple[list[int], list[list[float]]]] = []
    lessons: list[learning.Lesson] = []
    for q, g in queries:
        cands, x, _, _ = index.candidates(q["text"], asker=q["asker"], exclude=banned, now=float(q["ts"]))
        rows.append((cands, x))
        gold = set(g["answerers"])
        lessons.append(learning.Lesson(x, [1.0 if index.member_name(m) in gold else 0.0 for m in cands]))
    best: list[list[str]] = []
    best_mrr = -1.0
    for l2 in (0.01, 0.1, 1.0):
        w = learning.fit(lessons, features.PRIOR, l2)
        ranked = []
        for c, x in rows:
            order = sorted(zip((features.score(w, r) for r in x), c, strict=True), reverse=True)
            ranked.append([index.member_name(m) for _, m in order])
        got = sum(measure(r, g)[0] for r, (_, g) in zip(ranked, queries, strict=True))
        if got > best_mrr:
            best, best_mrr = ranked, got
    return best


def gold_counts(queries: Queries, banned: set[str]) -> list[list[str]]:
    """Members ordered by how many of the queries they answered (the best fixed order, near enough)."""
    counts = Counter(m for _, g in queries for m in g["answerers"] if m not in banned)
    order = [m for m, _ in counts.most_common()]
    return [[m for m in order if m != q["asker"]] for q, _ in queries]


def measure_set(export: str, queries: Queries, extra: dict[str, list[list[str]]]) -> dict[str, list[float]]:
    """Baselines, Steward as shipped, then the extra rankings, summarised."""
    banned = unsuggestable(export)
    base = Baselines(iter_posts(export))
    per: dict[str, list[Any]] = {n: [] for n in Baselines.NAMES}
    for q, g in queries:
        for name, r in base.rank(q["text"]).items():
            per[name].append(measure([m for m in r if m != q["asker"] and m not in banned], g))
    results = {n: summarise(r) for n, r in per.items()}
    index = ExpertiseIndex()
    for p in iter_posts(export):
        index.add(p)
    index.calibrate()
    ranks, _ = steward_rankings(index, queries, banned)
    results["Steward (as shipped)"] = summarise([measure(r, g) for r, (_, g) in zip(ranks, queries, strict=True)])
    for name, rankings in extra.items():
        results[name] = summarise([measure(r, g) for r, (_, g) in zip(rankings, queries, strict=True)])
    return results


def report(title: str, results: dict[str, list[float]], ceiling: str) -> None:
    """Print the table and each ranking's MRR@10 as a multiple of the best baseline."""
    best = max(v[0] for n, v in results.items() if n in Baselines.NAMES)
    print(f"\n{title}\n")
    print(table(results))
    print(f"\nbest baseline MRR@10 {best:.3f}; the target (1.2x) is {1.2 * best:.3f}")
    for name in results:
        if name not in Baselines.NAMES:
            print(f"  {name}: {results[name][0] / best:.2f}x")
    print(f"  ceiling: {ceiling} reaches {results[ceiling][0] / best:.2f}x")


def main(argv: list[str] | None = None) -> None:
    """Measure both ceilings and print them beside the baselines."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", default=DEV)
    for flag, default in (
        ("members", 2000),
        ("messages", 100000),
        ("channels", 20),
        ("days", 180),
        ("seed", 3),
        ("queries", 200),
    ):
        ap.add_argument(f"--{flag}", type=int, default=default)
    a = ap.parse_args(argv)
    if os.path.isdir(a.dev):
        export, queries = os.path.join(a.dev, "export"), load_queries(a.dev)
        banned = unsuggestable(export)
        index = ExpertiseIndex()
        for p in iter_posts(export):
            index.add(p)
        extra = {
            "Steward features, weights fitted on the gold": fitted_on_gold(index, queries, banned),
            "members by gold answers": gold_counts(queries, banned),
        }
        report(
            f"{a.dev} ({len(queries)} queries)",
            measure_set(export, queries, extra),
            "Steward features, weights fitted on the gold",
        )
    gen_args = [f"--{k}={getattr(a, k)}" for k in ("members", "messages", "channels", "days", "seed", "queries")]
    with tempfile.TemporaryDirectory() as tmp:
        hidden = generate(tmp, gen_args)
        export, queries = os.path.join(tmp, "export"), load_queries(tmp)
        extra = {"the generator's own model": generator_rankings(hidden, queries)}
        report(
            f"synthetic set ({' '.join(gen_args)})", measure_set(export, queries, extra), "the generator's own model"
        )


if __name__ == "__main__":
    main()
