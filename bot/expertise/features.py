"""The numbers a ranking weighs for each candidate member: topical evidence and activity."""

from __future__ import annotations

import math

from bot.expertise.activity import DAY, Activity
from bot.expertise.scoring import TopicEvidence

NAMES = (
    "log share",  # part of the answering in the similar threads (the thread model)
    "log near share",  # the same over the few closest threads
    "log similar threads",  # how many similar threads the member answered
    "log activity 7d",  # decayed answer weight, one per half-life
    "log activity 30d",
    "log activity 180d",
    "log days idle",  # since the member's latest answer
    "log days known",  # since the member's first post
    "log rate 30d",  # 30-day activity over the member's exposure (newcomers are not penalised)
    "log rate 180d",
    "asked similar",  # similar questions the member asked themselves
    "acceptance",  # smoothed share of the member's answers that were accepted
    "rr topic",  # reciprocal rank by share among the candidates
    "rr active",  # reciprocal rank by 30-day activity among the candidates
)
# Weights used until a community has enough answered threads to fit its own: roughly "activity
# times topical share squared", the hand-made model this index started with.
PRIOR = (2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
SHARE_FLOOR = 0.01
ACTIVITY_FLOOR = 0.05
RR_K = 10.0
NO_EVIDENCE = TopicEvidence()
SHARE, ACTIVE_30, RR_TOPIC, RR_ACTIVE = 0, 4, 12, 13  # columns the reciprocal ranks are read from / written to
# A gamma prior on rates: two weeks holding half an answer, so one answer yesterday is not a career.
RATE_PRIOR = 0.5
RATE_DAYS = 14.0


def exposure(lam: float, days: float) -> float:
    """Decayed number of days a member has been around to answer."""
    return -math.expm1(-lam * days * DAY) / lam / DAY


def vectors(ev: dict[int, TopicEvidence], cands: list[int], act: Activity, now: float) -> list[list[float]]:
    """Return one feature vector per candidate, in the order of `cands` (see NAMES)."""
    rows: list[list[float]] = []
    for m in cands:
        e = ev.get(m, NO_EVIDENCE)
        a7, a30, a180 = act.levels(m, now)
        last, first, n = act.last[m], act.first[m], act.answers[m]
        idle = (now - last) / DAY if last else 3650.0
        known = (now - first) / DAY if first != math.inf else 0.0
        rows.append(
            [
                math.log(SHARE_FLOOR + e.share),
                math.log(SHARE_FLOOR + e.near),
                math.log1p(len(e.threads)),
                math.log(ACTIVITY_FLOOR + a7),
                math.log(ACTIVITY_FLOOR + a30),
                math.log(ACTIVITY_FLOOR + a180),
                math.log1p(max(0.0, idle)),
                math.log1p(max(0.0, known)),
                math.log((a30 + RATE_PRIOR) / (exposure(act.lams[1], known) + RATE_DAYS)),
                math.log((a180 + RATE_PRIOR) / (exposure(act.lams[2], known) + RATE_DAYS)),
                math.log1p(e.asked),
                (act.accepted[m] + 0.5) / (n + 2.0),
                0.0,
                0.0,
            ]
        )
    # Reciprocal ranks among the candidates (as in rank fusion); no topical rank without a share.
    for col, key, floor in ((RR_TOPIC, SHARE, math.log(SHARE_FLOOR)), (RR_ACTIVE, ACTIVE_30, -math.inf)):
        order = sorted(range(len(rows)), key=lambda i: -rows[i][key])
        for rank, i in enumerate(order):
            if rows[i][key] > floor + 1e-12:
                rows[i][col] = RR_K / (RR_K + rank + 1)
    return rows


def score(weights: tuple[float, ...] | list[float], row: list[float]) -> float:
    """Linear score of one candidate."""
    return sum(w * x for w, x in zip(weights, row, strict=True))


def chances(weights: tuple[float, ...] | list[float], rows: list[list[float]], shares: list[float]) -> list[float]:
    """Each candidate's chance of being the one who answers, from two estimates averaged.

    The fitted model's softmax over the candidates knows the community's habits (who answers at all,
    how recently) and is best at the top; the topical shares (the thread model: each member's part of
    the answering in the similar threads) are the direct estimate further down, where a care rule
    sends the question once the first names are busy. An equal-weight linear opinion pool keeps both
    probabilities and needs no tuning; the result is never negative and sums to 1 over the candidates,
    so "within 10%" means the same for every question.
    """
    if not rows:
        return []
    linear = [score(weights, row) for row in rows]
    top = max(linear)
    odds = [math.exp(x - top) for x in linear]
    z, total = sum(odds), sum(shares)
    if total <= 0.0:
        return [x / z for x in odds]
    return [0.5 * x / z + 0.5 * s / total for x, s in zip(odds, shares, strict=True)]
