"""Fitting the ranking weights on the community's own past: every answered thread is a lesson.

Replaying the most recent answered threads in time order, each one is ranked as it would have been
when it was asked (activity and similar threads as of that moment, the thread itself left out), and
the members who answered it are the labels. A conditional logit (softmax over the candidates of each
thread, accepted answers counting double) is fitted by Newton's method, pulled toward the prior
weights by an L2 penalty so that a small or noisy history moves them only a little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import mul

PENALTIES = (2.0, 16.0)  # on standardised weights, in units of one thread's log-likelihood
MAX_ITERS = 30
EXACT_ITERS = 4  # later steps reuse the last curvature (the likelihood is smooth; it saves time)
TOLERANCE = 1e-4


@dataclass(slots=True)
class Lesson:
    """One past thread: candidate feature vectors and how much each candidate answered (0 = not)."""

    rows: list[list[float]]
    gold: list[float]


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a x = b for a small symmetric positive definite a (Gaussian elimination, pivoting)."""
    n = len(b)
    m = [[*row, v] for row, v in zip(a, b, strict=True)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        piv = m[c][c]
        for r in range(c + 1, n):
            f = m[r][c] / piv
            if f:
                m[r] = [x - f * y for x, y in zip(m[r], m[c], strict=True)]
    x = [0.0] * n
    for c in range(n - 1, -1, -1):
        x[c] = (m[c][n] - sum(m[c][k] * x[k] for k in range(c + 1, n))) / m[c][c]
    return x


def _standardise(lessons: list[Lesson], f: int) -> tuple[list[float], list[float]]:
    n = sum(len(ls.rows) for ls in lessons)
    mu = [sum(r[j] for ls in lessons for r in ls.rows) / n for j in range(f)]
    var = [sum((r[j] - mu[j]) ** 2 for ls in lessons for r in ls.rows) / n for j in range(f)]
    return mu, [math.sqrt(v) if v > 1e-12 else 1.0 for v in var]


def fit(lessons: list[Lesson], prior: tuple[float, ...], l2: float) -> list[float]:
    """Return the weights maximising the penalised likelihood of who answered each lesson."""
    f = len(prior)
    lessons = [ls for ls in lessons if any(ls.gold) and len(ls.rows) > 1]
    if not lessons:
        return list(prior)
    mu, sd = _standardise(lessons, f)
    data = [([[(r[j] - mu[j]) / sd[j] for r in ls.rows] for j in range(f)], ls.gold, sum(ls.gold)) for ls in lessons]
    w0 = [p * s for p, s in zip(prior, sd, strict=True)]
    w, best_obj, step = list(w0), -math.inf, [0.0] * f
    h: list[list[float]] = []
    for it in range(MAX_ITERS):
        exact = it < EXACT_ITERS
        obj = -0.5 * l2 * sum((a - b) ** 2 for a, b in zip(w, w0, strict=True))
        g = [-l2 * (a - b) for a, b in zip(w, w0, strict=True)]
        if exact:
            h = [[l2 if i == j else 0.0 for j in range(f)] for i in range(f)]
        for cols, y, ysum in data:
            s = [0.0] * len(y)
            for wj, col in zip(w, cols, strict=True):
                if wj:
                    s = [a + wj * b for a, b in zip(s, col, strict=True)]
            top = max(s)
            e = [math.exp(x - top) for x in s]
            z = sum(e)
            p = [x / z for x in e]
            obj += sum(map(mul, y, s)) - ysum * (top + math.log(z))
            ez = [sum(map(mul, p, col)) for col in cols]
            for j, col in enumerate(cols):
                g[j] += sum(map(mul, y, col)) - ysum * ez[j]
                if not exact:
                    continue
                pz = list(map(mul, p, col))
                for k in range(j + 1):
                    v = ysum * (sum(map(mul, pz, cols[k])) - ez[j] * ez[k])
                    h[j][k] += v
                    if k != j:
                        h[k][j] += v
        if obj < best_obj - 1e-9:  # overshot: go back half way
            step = [x / 2 for x in step]
            w = [a - b for a, b in zip(w, step, strict=True)]
            continue
        best_obj = obj
        step = _solve(h, g)
        w = [a + b for a, b in zip(w, step, strict=True)]
        if max(map(abs, step)) < TOLERANCE:
            break
    return [a / s for a, s in zip(w, sd, strict=True)]


def mrr(lessons: list[Lesson], weights: list[float] | tuple[float, ...], cut: int = 10) -> float:
    """Mean reciprocal rank of the first answerer of each lesson under the weights (ties: pessimistic)."""
    total = 0.0
    for ls in lessons:
        s = [sum(map(mul, weights, r)) for r in ls.rows]
        best = max((x for x, y in zip(s, ls.gold, strict=True) if y), default=None)
        if best is not None:
            rank = sum(1 for x in s if x >= best)
            total += 1.0 / rank if rank <= cut else 0.0
    return total / max(1, len(lessons))


def choose(lessons: list[Lesson], prior: tuple[float, ...]) -> tuple[list[float], float]:
    """Pick the penalty by a time split (older lessons fit, newer ones judge); return weights, MRR.

    The prior itself competes (an infinite penalty): when the history teaches nothing that holds
    on the newer threads, the prior weights stay.
    """
    cut = len(lessons) * 2 // 3
    old, new = lessons[:cut], lessons[cut:]
    best, best_mrr = math.inf, mrr(new, prior)
    for l2 in PENALTIES:
        got = mrr(new, fit(old, prior, l2))
        if got > best_mrr + 1e-9:
            best, best_mrr = l2, got
    return (list(prior) if best == math.inf else fit(lessons, prior, best)), best_mrr
