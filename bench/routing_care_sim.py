"""Routing under care, in process: the replay's care rule simulated beside a candidate-model estimate, for fast trials.

    python -m bench.routing_care_sim --communities s5,v4 [--profile questions|replies|all] [--power 1]
                                     [--no-focus] [--no-room]

Each community (as in bench/routing_care.py: `dev` or a name of its SYNTHETIC) is generated once into
/tmp/routing-care-sim/NAME, indexed in process, and replayed question after question in time order
under the rule of `bot.routing.care` (evidence, weekly cap of 3 counting the replay's own asks,
worth = chance × focus × room, near-equals to the least asked), without the database: the
reputation tie-break of `care.spread` is left out, so figures can differ from `steward who --replay`
by a question or two. Two methods are replayed:

- `steward`: the index's own chances (`ExpertiseIndex.rank`, whatever the checked-out code does);
- `pool3`: the candidates' chances pooled again with a BM25 candidate model (one document per member:
  the words of the questions they answered, of their replies, or of all their posts), its scores
  normalised over the candidates (`--power` sharpens them), at equal weight with the fitted softmax
  and the shares.

Printed per community: hit@3 under care, MRR@10 and expected hit@3 (the generator's model), each
also as a multiple of the best baseline of bench/baselines.py under the naive cap.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import pickle
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from bench.baselines import Baselines
from bench.routing_care import ASKED, CAP, SYNTHETIC, WEEK, figures, naive
from bench.routing_ceiling import generate, generator_chances
from bench.routing_quality import DEV, iter_posts, load_queries, unsuggestable
from bot.expertise import ExpertiseIndex, Post, features
from bot.expertise.postings import K1, B
from bot.expertise.text import tokens
from bot.routing.care import NEAR_EQUAL, room

DATA = "/tmp/routing-care-sim"


def community(name: str) -> tuple[str, dict[str, Any] | None]:
    """The community's folder (generated once) and the generator's hidden state (None for dev)."""
    if name == "dev":
        return DEV, None
    folder = os.path.join(DATA, name)
    hidden_file = os.path.join(folder, "hidden.pkl")
    if not os.path.exists(hidden_file):
        with contextlib.redirect_stdout(io.StringIO()):
            hidden = generate(folder, [*SYNTHETIC[name].split(), "--queries", "200"])
        with open(hidden_file, "wb") as f:
            pickle.dump(hidden, f)
    with open(hidden_file, "rb") as f:
        return folder, pickle.load(f)  # written just above, by this tool


class Profiles:
    """A BM25 candidate model over Steward's tokens: one document per member."""

    def __init__(self, posts: Iterable[Post], source: str) -> None:
        docs: dict[str, Counter[str]] = defaultdict(Counter)
        posts = list(posts)
        roots = {p.message_id: p for p in posts if p.is_root}
        for p in posts:
            if source == "questions":
                root = roots.get(p.thread_id)
                if not p.is_root and root is not None and root.author != p.author:
                    docs[p.author].update(tokens(root.text))
            elif source == "all" or not p.is_root:
                docs[p.author].update(tokens(p.text))
        self.row = {m: i for i, m in enumerate(docs)}
        self.lens = np.array([sum(c.values()) for c in docs.values()], dtype=float)
        self.avg = float(self.lens.mean()) if len(self.lens) else 1.0
        post: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for i, c in enumerate(docs.values()):
            for w, f in c.items():
                post[w][0].append(i)
                post[w][1].append(f)
        self.post = {w: (np.array(a), np.array(b, dtype=float)) for w, (a, b) in post.items()}

    def scores(self, question: str, members: list[str]) -> list[float]:
        """Each member's BM25 against the question (0.0 without a profile)."""
        acc = np.zeros(len(self.lens))
        for w in set(tokens(question)):
            if w in self.post:
                docs, tf = self.post[w]
                idf = math.log(1 + (len(self.lens) - len(docs) + 0.5) / (len(docs) + 0.5))
                acc[docs] += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.lens[docs] / self.avg))
        return [float(acc[self.row[m]]) if m in self.row else 0.0 for m in members]


def ranked(index: ExpertiseIndex, profiles: Profiles | None, power: float, q: dict[str, Any],
           banned: set[str]) -> list[dict[str, Any]]:
    """The candidates of one question with their chance and evidence, best first."""
    now = float(q["ts"])
    if profiles is None:
        return [{"member": s.member, "score": s.score, "similar": s.evidence.similar_threads,
                 "declared": bool(s.evidence.declared), "answers": s.evidence.answers}
                for s in index.rank(q["text"], asker=q["asker"], exclude=banned, top=200, now=now)]
    cands, rows, ev, _ = index.candidates(q["text"], asker=q["asker"], exclude=banned, now=now)
    if not cands:
        return []
    names = [index.member_name(m) for m in cands]
    linear = [features.score(index.weights, r) for r in rows]
    odds = [math.exp(x - max(linear)) for x in linear]
    pool = [[x / sum(odds) for x in odds]]
    for estimate in ([e.share if (e := ev.get(m)) else 0.0 for m in cands],
                     [s ** power for s in profiles.scores(q["text"], names)]):
        if sum(estimate) > 0:
            pool.append([x / sum(estimate) for x in estimate])
    out = []
    for i, (m, name) in enumerate(zip(cands, names, strict=True)):
        e = ev.get(m)
        out.append({"member": name, "score": sum(p[i] for p in pool) / len(pool),
                    "similar": len(e.threads) if e else 0, "declared": bool(e and e.declared),
                    "answers": index._answers.m_answers[m]})
    return sorted(out, key=lambda s: (-s["score"], s["member"]))


def replay(index: ExpertiseIndex, profiles: Profiles | None, power: float, queries: list[Any],
           banned: set[str], *, use_focus: bool = True, use_room: bool = True
           ) -> tuple[list[list[str]], list[list[str]]]:
    """Whom the care rule asks per question (in time order), and each question's top 10."""
    asked_at: dict[str, list[float]] = defaultdict(list)
    asked: list[list[str]] = [[] for _ in queries]
    top10: list[list[str]] = [[] for _ in queries]
    for i in sorted(range(len(queries)), key=lambda i: float(queries[i][0]["ts"])):
        q = queries[i][0]
        now = float(q["ts"])
        used = Counter({m: sum(t > now - WEEK for t in ts) for m, ts in asked_at.items()})
        evident = [s for s in ranked(index, profiles, power, q, banned) if s["similar"] or s["declared"]]
        top10[i] = [s["member"] for s in evident[:10]]
        ok = [s for s in evident if used[s["member"]] < CAP][: ASKED * 4]
        focus = {s["member"]: min(1.0, (s["similar"] + s["declared"]) / (s["answers"] + 1)) if use_focus else 1.0
                 for s in ok}
        worth = {s["member"]: s["score"] * focus[s["member"]] * (room(used[s["member"]] / CAP) if use_room else 1.0)
                 for s in ok}
        left = [s["member"] for s in ok]
        while left and len(asked[i]) < ASKED:
            best = max(worth[m] for m in left)
            pick = min((m for m in left if worth[m] >= best * (1 - NEAR_EQUAL)), key=lambda m: (used[m], -worth[m]))
            asked[i].append(pick)
            left.remove(pick)
        for m in asked[i]:
            asked_at[m].append(now)
    return asked, top10


def main(argv: list[str] | None = None) -> None:
    """Replay every community asked for; print each method's figures beside the best baseline."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--communities", default="s5,v4")
    ap.add_argument("--profile", choices=("questions", "replies", "all"), default="questions")
    ap.add_argument("--power", type=float, default=1.0)
    ap.add_argument("--no-focus", action="store_true", help="worth without the focus factor")
    ap.add_argument("--no-room", action="store_true", help="worth without the room factor")
    a = ap.parse_args(argv)
    for name in a.communities.split(","):
        folder, hidden = community(name)
        export, queries = os.path.join(folder, "export"), load_queries(folder)
        banned = unsuggestable(export)
        index = ExpertiseIndex()
        index.bulk_load()
        for p in iter_posts(export):
            index.add(p)
        index.loaded()
        index.calibrate()
        chances = generator_chances(hidden, queries) if hidden else None
        mean_replies = float(hidden.get("mean_replies", 2.0)) if hidden else 2.0
        base = Baselines(iter_posts(export))
        pool = {m for m, n in base.replies.items() if n > 0 and m not in banned}
        best = [0.0] * 5
        for method in Baselines.NAMES:
            rk = [[m for m in base.rank(q["text"])[method] if m != q["asker"] and m not in banned][:200]
                  for q, _ in queries]
            best = [max(x, y) for x, y in zip(best, figures(naive(rk, queries), rk, queries, pool, chances,
                                                               mean_replies), strict=True)]
        line = [name]
        for label, profiles in (("steward", None), ("pool3", Profiles(iter_posts(export), a.profile))):
            asked, top10 = replay(index, profiles, a.power, queries, banned, use_focus=not a.no_focus,
                                  use_room=not a.no_room)
            hit, mrr, _, _, expected = figures(asked, top10, queries, pool, chances, mean_replies)
            line.append(f"{label}: hit@3 {hit:.3f} ({hit / best[0]:.2f}×) MRR@10 {mrr / best[1]:.2f}× expected "
                        + ("–" if math.isnan(expected) else f"{expected:.3f} ({expected / best[4]:.2f}×)"))
        print(" | ".join(line), flush=True)


if __name__ == "__main__":
    main()
