"""Topical evidence: what each member did in the past threads most similar to a question.

A member's share is the part of the answering done by them in the TOP_THREADS past questions most
similar to this one (BM25), each answer weighted by its thread's similarity (relative to the best)
and by its quality (acceptance, upvotes). How share, activity and the rest combine into a score is
learned per community (see learning.py); this module only gathers the evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bot.expertise.answers import NOBODY, AnswerLog
from bot.expertise.postings import ThreadPostings

# Many threads, not a handful: a member's share is an estimate, and it needs a sample.
TOP_THREADS = 100
NEAR_THREADS = 20  # a second, sharper neighbourhood: the few closest questions only
DECLARED_SHARE = 0.5


@dataclass(slots=True)
class TopicEvidence:
    """What one member did in the threads similar to a question."""

    share: float = 0.0
    near: float = 0.0  # the same share over the NEAR_THREADS closest questions
    threads: list[tuple[float, int]] = field(default_factory=list)  # (similarity, thread slot)
    accepted: int = 0
    upvotes: int = 0
    asked: float = 0.0  # similarity-weighted count of similar questions the member asked
    declared: tuple[str, ...] = ()


def topic_evidence(
    postings: ThreadPostings,
    answers: AnswerLog,
    terms: list[int],
    skip: int = -1,
    before: float = math.inf,
) -> dict[int, TopicEvidence]:
    """Return each member's share of answering in the threads most similar to the terms.

    `before` limits the evidence to questions and answers posted earlier (to replay the past).
    """
    out: dict[int, TopicEvidence] = {}
    hits = postings.search(terms, TOP_THREADS if before == math.inf else 2 * TOP_THREADS, skip)
    if before != math.inf:
        hits = [(t, s) for t, s in hits if answers.t_at[t] < before][:TOP_THREADS]
    if not hits or hits[0][1] <= 0.0:
        return out
    best, total, near = hits[0][1], 0.0, 0.0
    r_at, r_author = answers.r_at, answers.r_author
    for i, (t, s) in enumerate(hits):
        sim = s / best
        close = i < NEAR_THREADS
        asker = answers.t_asker[t]
        if asker != NOBODY:
            ev = out.get(asker)
            if ev is None:
                ev = out[asker] = TopicEvidence()
            ev.asked += sim
        rs = [r for r in answers.replies(t) if r_at[r] < before and answers.is_answer(r)]
        if not rs:
            continue
        ws = [answers.weight(r) for r in rs]
        total += sim * sum(ws)
        if close:
            near += sim * sum(ws)
        for r, x in zip(rs, ws, strict=True):
            a = r_author[r]
            ev = out.get(a)
            if ev is None:
                ev = out[a] = TopicEvidence()
            ev.share += sim * x
            if close:
                ev.near += sim * x
            if not ev.threads or ev.threads[-1][1] != t:
                ev.threads.append((sim, t))
            ev.accepted += answers.r_acc[r]
            ev.upvotes += answers.r_up[r]
    if total > 0.0:
        for ev in out.values():
            ev.share /= total
            ev.near /= near
    return out
