"""How evidence becomes a score: topic share of similar threads times the answering rate.

score(m) = log rate(m) + beta * log(EPSILON + share(m)), where
- rate(m) is the member's recent, quality-weighted answering rate (see answers.py), and
- share(m) is the part of the answering done by m in the TOP_THREADS past questions most similar to
  this one (BM25), each answer weighted by its thread's similarity (relative to the best) and by its
  quality (acceptance, upvotes), plus DECLARED_SHARE when the question names a topic m declared.
beta says how much to trust topical evidence over plain activity. It is the one fitted knob: on a
community where topics are crisp it should be large, on one dominated by a few generalists small;
`calibrate` picks it per community by replaying its own recent threads (leave-one-out).
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field

from bot.expertise.answers import AnswerLog
from bot.expertise.postings import ThreadPostings

# Many threads, not a handful: a member's share is an estimate, and it needs a sample.
TOP_THREADS = 100
EPSILON = 0.01
DECLARED_SHARE = 0.5
BETAS = (1.0, 2.0, 4.0, 8.0)
DEFAULT_BETA = 2.0
CALIBRATION_THREADS = 200
FILLERS = 50  # members ranked on activity alone, behind those with topical evidence


@dataclass(slots=True)
class TopicEvidence:
    """What one member did in the threads similar to a question."""

    share: float = 0.0
    threads: list[tuple[float, int]] = field(default_factory=list)  # (similarity, thread slot)
    accepted: int = 0
    upvotes: int = 0
    declared: tuple[str, ...] = ()


def topic_evidence(
    postings: ThreadPostings, answers: AnswerLog, terms: list[int], skip: int = -1
) -> dict[int, TopicEvidence]:
    """Return each member's share of answering in the threads most similar to the terms."""
    out: dict[int, TopicEvidence] = {}
    hits = postings.search(terms, TOP_THREADS, skip)
    if not hits or hits[0][1] <= 0.0:
        return out
    best, total = hits[0][1], 0.0
    for t, s in hits:
        rs = [r for r in answers.replies(t) if answers.is_answer(r)]
        if not rs:
            continue
        sim = s / best
        ws = [answers.weight(r) for r in rs]
        total += sim * sum(ws)
        for r, x in zip(rs, ws, strict=True):
            a = answers.r_author[r]
            ev = out.get(a)
            if ev is None:
                ev = out[a] = TopicEvidence()
            ev.share += sim * x
            if not ev.threads or ev.threads[-1][1] != t:
                ev.threads.append((sim, t))
            ev.accepted += answers.r_acc[r]
            ev.upvotes += answers.r_up[r]
    for ev in out.values():
        ev.share /= total
    return out


def score(rate: float, share: float, beta: float) -> float:
    """Combine the answering rate and the topical share in log space."""
    return math.log(rate) + beta * math.log(EPSILON + share)


def most_active(answers: AnswerLog, now: float, n: int = FILLERS) -> list[int]:
    """Return the n members with the highest answering rate at `now`."""
    ms = (m for m, c in enumerate(answers.m_answers) if c > 0)
    return heapq.nlargest(n, ms, key=lambda m: answers.rate(m, now))


def calibrate(postings: ThreadPostings, answers: AnswerLog, now: float) -> float:
    """Pick beta by mean reciprocal rank over recent answered threads, each ranked without itself."""
    picked: list[tuple[int, set[int]]] = []
    for t in range(len(answers.t_asker) - 1, -1, -1):
        if len(picked) >= CALIBRATION_THREADS:
            break
        gold = {answers.r_author[r] for r in answers.replies(t) if answers.is_answer(r)}
        if gold and postings.has(t):
            picked.append((t, gold))
    if len(picked) < 20:
        return DEFAULT_BETA
    fillers = most_active(answers, now)
    rr = dict.fromkeys(BETAS, 0.0)
    for t, gold in picked:
        ev = topic_evidence(postings, answers, list(postings.terms_of(t)), skip=t)
        minus: dict[int, float] = defaultdict(float)
        for r in answers.replies(t):
            if answers.is_answer(r):
                minus[answers.r_author[r]] += answers.decayed(r, now)
        asker = answers.t_asker[t]
        cands = [m for m in dict.fromkeys([*ev, *fillers]) if m != asker]
        rates = {m: answers.rate(m, now, minus.get(m, 0.0)) for m in cands}
        for beta in BETAS:
            ranked = sorted(cands, key=lambda m: -score(rates[m], ev[m].share if m in ev else 0.0, beta))
            rr[beta] += next((1.0 / (i + 1) for i, m in enumerate(ranked[:10]) if m in gold), 0.0)
    # Ties go to the smaller beta: activity is the safer bet when topics do not tell members apart.
    return max(BETAS, key=lambda b: (round(rr[b], 9), -b))
