"""Routing under care, in process: the replay's care rule simulated beside a candidate-model estimate, for fast trials.

    python -m bench.routing_care_sim --communities s5,v4 [--variant NAME] [--pool3 [--profile questions|replies|all]
                                     [--power 1]] [--no-focus] [--no-room]

Each community (as in bench/routing_care.py: `dev` or a name of its SYNTHETIC) is generated once into
/tmp/routing-care-sim/NAME, indexed in process, and replayed question after question in time order
under the rule of `bot.routing.care` (evidence, weekly cap of 3 counting the replay's own asks,
worth = chance × focus × room, near-equals to the least asked), without the database: the
reputation tie-break of `care.spread` is left out, so figures can differ from `steward who --replay`
by a question or two. Replayed:

- `steward`: the index's own chances (`ExpertiseIndex.rank`, whatever the checked-out code does);
- `--variant NAME`: the same chances under another way of spending the cap (`VARIANTS`, session 8 of
  BENCHMARKS.md "Routing under care"); `oracle-*` ones know the questions still to come: bounds, not
  candidates;
- `--pool3`: the candidates' chances pooled again with a BM25 candidate model (one document per member:
  the words of the questions they answered, of their replies, or of all their posts), its scores
  normalised over the candidates (`--power` sharpens them), at equal weight with the fitted softmax
  and the shares.

Steward's candidates per question, the generator's chances and the best baseline's figures are computed
once per community and cached in /tmp/routing-care-sim (keyed by a digest of bot/expertise and the bench
modules they come from), so a variant's replay takes a second.

Printed per community: hit@3 under care, MRR@10 and expected hit@3 (the generator's model), each
also as a multiple of the best baseline of bench/baselines.py under the naive cap.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import heapq
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

Candidates = list[dict[str, Any]]
VARIANTS = ("care", "lift-answers", "lift-history", "price-past", "price-history", "price-history-half",
            "oracle-price", "oracle-price-gott", "oracle-offline", "care-halves", "price-last-week")

DATA = "/tmp/routing-care-sim"
HERE = os.path.dirname(os.path.abspath(__file__))


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


def indexed(export: str) -> ExpertiseIndex:
    """The community's expertise index, built and calibrated as `steward` builds it."""
    index = ExpertiseIndex()
    index.bulk_load()
    for p in iter_posts(export):
        index.add(p)
    index.loaded()
    index.calibrate()
    return index


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


def _focus(s: dict[str, Any]) -> float:
    return min(1.0, float(s["similar"] + s["declared"]) / float(s["answers"] + 1))


def _values(lists: Iterable[Candidates], *, focus: bool, excess: bool) -> dict[str, list[float]]:
    """Each member's values over a sample of questions, largest first: chance (× focus), less the 4th
    candidate's when `excess` (what the member adds over whoever would be asked instead)."""
    out: dict[str, list[float]] = defaultdict(list)
    for cands in lists:
        vals = [s["score"] * (_focus(s) if focus else 1.0) for s in cands]
        ref = vals[ASKED] if excess and len(vals) > ASKED else 0.0
        for s, v in zip(cands, vals, strict=True):
            if v > ref:
                out[s["member"]].append(v - ref)
    for xs in out.values():
        xs.sort(reverse=True)
    return out


def _offline(lists: list[Candidates]) -> list[list[str]]:
    """Global greedy over every question at once (knows the future): whom a clairvoyant cap would ask."""
    heap = [(-s["score"], i, s["member"], s["score"]) for i, cands in enumerate(lists) for s in cands[:40]]
    heapq.heapify(heap)
    miss, uses, asked = [1.0] * len(lists), Counter[str](), [list[str]() for _ in lists]
    while heap:
        gain, i, m, p = heapq.heappop(heap)
        if len(asked[i]) >= ASKED or uses[m] >= CAP:
            continue
        if abs(miss[i] * p + gain) > 1e-12:
            heapq.heappush(heap, (-miss[i] * p, i, m, p))
            continue
        asked[i].append(m)
        uses[m] += 1
        miss[i] *= 1 - p
    return asked


def replay_variant(prepared: dict[str, Any], variant: str, hist: list[Candidates] | None = None
                   ) -> tuple[list[list[str]], list[list[str]]]:
    """Whom a variant of the care rule asks per question (in time order), and each question's top 10.

    - `care`: as shipped (worth = chance × focus × room, near-equals to the least asked);
    - `lift-answers`: worth = chance × (chance / (answers + 1)) × room, a topical lift over the member's
      chance on a typical question (their share of the answers), in place of focus;
    - `lift-history`: the same with the typical chance measured: the member's mean chance over the threads
      of the history's last week (`history`);
    - `price-*`: a bid price (online matching with budgets): worth = chance less λ_m, λ_m = the (r+1)-th
      largest of the member's values (chance less the 4th candidate's) over a sample of questions to
      come, r = asks left; `past`: this window's questions so far, as many still to come as came (focus
      kept); `history`: the history's last week of threads, that many still to come less those already
      routed; `history-half`: a week of it always to come, its prices halved (a scale with no reason
      behind it, shown as such);
    - `care-halves` / `price-last-week`: every other question (in time order) replayed as a week of its own,
      with the shipped rule / priced (as `price-history`, full prices, that many to come less those routed)
      from the other half, a disjoint week of the same community: the steady state where last week's
      questions are known; to compare with each other (half the questions per cap), not with the baselines;
    - `oracle-price`: the price from the questions actually still to come; `oracle-price-gott`: that
      sample, but as many to come as came; `oracle-offline`: a global greedy knowing every question (one
      cap of 3 over the whole replay: a bound for the synthetic bursts only, meaningless on `dev`).
    """
    queries, lists = prepared["queries"], [[s for s in r if s["similar"] or s["declared"]]
                                           for r in prepared["ranked"]]
    n = len(queries)
    if variant in ("care-halves", "price-last-week"):
        return _halves(prepared, lists, variant)
    top10 = [[s["member"] for s in cands[:10]] for cands in lists]
    if variant == "oracle-offline":
        return _offline(lists), top10
    order = sorted(range(n), key=lambda i: float(queries[i][0]["ts"]))
    hist = hist or []
    typical = Counter[str]()
    for cands in hist:
        for s in cands:
            typical[s["member"]] += s["score"] / max(1, len(hist))
    uses_focus = variant in ("care", "price-past", "oracle-price-gott")
    fixed = _values(hist, focus=False, excess=True) if variant.startswith("price-history") else {}
    asked_at: dict[str, list[float]] = defaultdict(list)
    asked: list[list[str]] = [[] for _ in queries]
    for k, i in enumerate(order):
        now = float(queries[i][0]["ts"])
        used = Counter({m: sum(t > now - WEEK for t in ts) for m, ts in asked_at.items()})
        ok = [s for s in lists[i] if used[s["member"]] < CAP][: ASKED * 4]
        value = {s["member"]: s["score"] * (_focus(s) if uses_focus else 1.0) for s in ok}
        if variant in ("care", "lift-answers", "lift-history"):
            for s in ok:
                m, p = s["member"], s["score"]
                lift = (1.0 if variant == "care" else p / (s["answers"] + 1) if variant == "lift-answers"
                        else p / (typical[m] + p / (len(hist) + 1)))
                value[m] *= lift * room(used[m] / CAP)
            price = dict.fromkeys(value, 0.0)
        else:
            if variant == "price-past":
                sample, scale = _values((lists[j] for j in order[:k]), focus=True, excess=True), 1.0
            elif variant == "price-history":
                sample, scale = fixed, len(hist) / max(1e-9, len(hist) - k)
            elif variant == "price-history-half":
                sample, scale = fixed, 1.0
            else:
                sample = _values((lists[j] for j in order[k + 1:]), focus=uses_focus, excess=True)
                scale = 1.0 if variant == "oracle-price" else (n - k - 1) / k if k else math.inf
            price = {}
            for m in value:
                j = round((CAP - used[m] + 1) * scale) - 1 if scale < 1e9 else 1 << 30
                xs = sample.get(m, [])
                j = min(max(j, 0), len(xs))  # a horizon past the sample: its largest value; none: no price
                price[m] = (xs[j] if j < len(xs) else 0.0) * (0.5 if variant.endswith("-half") else 1.0)
        chance = {s["member"]: s["score"] for s in ok}
        miss, left = 1.0, dict(value)
        while left and len(asked[i]) < ASKED:
            worth = {m: miss * p - price[m] for m, p in left.items()}  # care and lifts: no price, miss alike
            best = max(worth.values())
            pick = min((m for m in worth if worth[m] >= best - NEAR_EQUAL * abs(best)),
                       key=lambda m: (used[m], -worth[m]))
            asked[i].append(pick)
            left.pop(pick)
            miss *= 1 - chance[pick]  # what the next one asked adds: their chance when these did not answer
        for m in asked[i]:
            asked_at[m].append(now)
    return asked, top10


def _halves(prepared: dict[str, Any], lists: list[Candidates], variant: str) -> tuple[list[list[str]], list[list[str]]]:
    queries = prepared["queries"]
    order = sorted(range(len(queries)), key=lambda i: float(queries[i][0]["ts"]))
    asked: list[list[str]] = [[] for _ in queries]
    top10: list[list[str]] = [[] for _ in queries]
    for half in (0, 1):
        these, others = order[half::2], order[1 - half::2]
        sub = {"queries": [queries[i] for i in these], "ranked": [prepared["ranked"][i] for i in these]}
        got = replay_variant(sub, "care" if variant == "care-halves" else "price-history",
                             [lists[j][:40] for j in others])
        for i, a, t in zip(these, *got, strict=True):
            asked[i], top10[i] = a, t
    return asked, top10


def _code_hash() -> str:
    """A digest of the index's code and of this bench's inputs: a prepared cache is reused only if unchanged."""
    h = hashlib.sha256()
    root = os.path.dirname(HERE)
    for folder in ("bot/expertise", "bench"):
        for f in sorted(os.listdir(os.path.join(root, folder))):
            if f.endswith(".py") and (folder != "bench" or f in ("baselines.py", "routing_care.py",
                                                                   "routing_ceiling.py", "routing_quality.py")):
                with open(os.path.join(root, folder, f), "rb") as fh:
                    h.update(f.encode() + fh.read())
    return h.hexdigest()[:12]


def prepare(name: str) -> dict[str, Any]:
    """One community's care-free inputs, computed once (and cached beside it): per question Steward's
    candidates with evidence, the generator's chances, the best baseline's figures under the naive cap."""
    folder, hidden = community(name)
    cache = os.path.join(DATA, f"{name}-prepared-{_code_hash()}.pkl")
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            cached: dict[str, Any] = pickle.load(f)  # written below, by this tool
            return cached
    export, queries = os.path.join(folder, "export"), load_queries(folder)
    banned = unsuggestable(export)
    index = indexed(export)
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
    lists = [ranked(index, None, 1.0, q, banned) for q, _ in queries]
    out = {"queries": queries, "pool": pool, "chances": chances, "mean_replies": mean_replies, "best": best,
           "ranked": lists}
    os.makedirs(DATA, exist_ok=True)
    with open(cache + ".tmp", "wb") as f:
        pickle.dump(out, f)
    os.replace(cache + ".tmp", cache)
    return out


def history(name: str, clean: bool = True) -> list[list[dict[str, Any]]]:
    """Steward's candidates (with evidence) for each thread the community started in the week before its
    first question: the sample of what a week asks of its members (cached beside the community). `clean`:
    ranked by an index of the history before that week (a thread's own answerers are not its evidence)."""
    folder, _ = community(name)
    cache = os.path.join(DATA, f"{name}-history{'-clean' if clean else ''}-{_code_hash()}.pkl")
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            sample: list[list[dict[str, Any]]] = pickle.load(f)  # written below, by this tool
            return sample
    export, queries = os.path.join(folder, "export"), load_queries(folder)
    banned = unsuggestable(export)
    first = min(float(q["ts"]) for q, _ in queries)
    index = ExpertiseIndex()
    index.bulk_load()
    for p in iter_posts(export):
        if not clean or p.at < first - WEEK:
            index.add(p)
    index.loaded()
    index.calibrate()
    roots = [p for p in iter_posts(export) if p.is_root and first - WEEK <= p.at < first]
    out = [[s for s in ranked(index, None, 1.0, {"text": p.text, "asker": p.author, "ts": first}, banned)
            if s["similar"] or s["declared"]][:40] for p in roots]
    with open(cache + ".tmp", "wb") as f:
        pickle.dump(out, f)
    os.replace(cache + ".tmp", cache)
    return out


def main(argv: list[str] | None = None) -> None:
    """Replay every community asked for; print each method's figures beside the best baseline."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--communities", default="s5,v4")
    ap.add_argument("--variant", choices=VARIANTS, help="also replay this way of spending the cap")
    ap.add_argument("--pool3", action="store_true", help="also replay the chances pooled with a candidate model")
    ap.add_argument("--profile", choices=("questions", "replies", "all"), default="questions")
    ap.add_argument("--power", type=float, default=1.0)
    ap.add_argument("--no-focus", action="store_true", help="worth without the focus factor (steward, pool3)")
    ap.add_argument("--no-room", action="store_true", help="worth without the room factor (steward, pool3)")
    a = ap.parse_args(argv)
    ratios: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for name in a.communities.split(","):
        prepared = prepare(name)
        queries, best = prepared["queries"], prepared["best"]
        runs: list[tuple[str, tuple[list[list[str]], list[list[str]]]]] = []
        if a.no_focus or a.no_room or a.pool3:
            folder, _ = community(name)
            export = os.path.join(folder, "export")
            banned = unsuggestable(export)
            index = indexed(export)
            runs.append(("steward", replay(index, None, a.power, queries, banned, use_focus=not a.no_focus,
                                           use_room=not a.no_room)))
            if a.pool3:
                runs.append(("pool3", replay(index, Profiles(iter_posts(export), a.profile), a.power, queries,
                                             banned, use_focus=not a.no_focus, use_room=not a.no_room)))
        else:
            runs.append(("steward", replay_variant(prepared, "care")))
        if a.variant:
            hist = history(name) if "history" in a.variant else None
            runs.append((a.variant, replay_variant(prepared, a.variant, hist)))
        line = [name]
        for label, (asked, top10) in runs:
            hit, mrr, _, _, expected = figures(asked, top10, queries, prepared["pool"], prepared["chances"],
                                               prepared["mean_replies"])
            ratios[label].append((hit / best[0], mrr / best[1], expected / best[4] if best[4] else math.nan))
            line.append(f"{label}: hit@3 {hit:.3f} ({hit / best[0]:.2f}×) MRR@10 {mrr / best[1]:.2f}× expected "
                        + ("–" if math.isnan(expected) else f"{expected:.3f} ({expected / best[4]:.3f}×)"))
        print(" | ".join(line), flush=True)
    for label, xs in ratios.items():
        exp = [x[2] for x in xs if not math.isnan(x[2])]
        print(f"{label}: hit@3 / best mean {sum(x[0] for x in xs) / len(xs):.3f}, min {min(x[0] for x in xs):.3f}; "
              f"MRR@10 / best min {min(x[1] for x in xs):.3f}"
              + (f"; expected / best mean {sum(exp) / len(exp):.3f}, min {min(exp):.3f}" if exp else ""))


if __name__ == "__main__":
    main()
