"""The learned part: activity arithmetic, the conditional-logit fit and calibration on a past."""

from __future__ import annotations

import math
import random

from bot.expertise import ExpertiseIndex, Post, features, learning
from bot.expertise.activity import DAY, Activity

NOW = 1_700_000_000.0
TOPICS = [[f"topic{t}word{k}" for k in range(6)] for t in range(16)]
FILLER = ["error", "setup", "config", "version", "issue", "problem", "build", "deploy"]


def test_activity_is_order_free_and_halves_per_half_life() -> None:
    a, b = Activity(), Activity()
    for act in (a, b):
        act.add_member()
    events = [(NOW - 3 * DAY, 1.0), (NOW - 40 * DAY, 2.0), (NOW - DAY, 1.0)]
    for at, w in events:
        a.count(0, at, w, 0, +1)
    for at, w in sorted(events):
        b.count(0, at, w, 0, +1)
    assert all(math.isclose(x, y) for x, y in zip(a.levels(0, NOW), b.levels(0, NOW), strict=True))
    c = Activity()
    c.add_member()
    c.count(0, NOW, 1.0, 1, +1)
    assert round(c.levels(0, NOW + 7 * DAY)[0], 6) == 0.5
    c.count(0, NOW, 1.0, 1, -1)
    assert c.levels(0, NOW) == [0.0, 0.0, 0.0] and c.answers[0] == c.accepted[0] == 0


def test_fit_finds_the_feature_that_predicts_and_ignores_noise() -> None:
    rng = random.Random(1)
    lessons = []
    for _ in range(200):
        rows = [[rng.gauss(0, 1), rng.gauss(0, 1)] for _ in range(20)]
        best = max(range(20), key=lambda i: 2.0 * rows[i][0] + rng.gauss(0, 1))
        lessons.append(learning.Lesson(rows, [float(i == best) for i in range(20)]))
    w = learning.fit(lessons, (0.0, 1.0), l2=1.0)
    assert w[0] > 1.0 and abs(w[1]) < 0.3
    assert learning.mrr(lessons, w) > learning.mrr(lessons, (0.0, 1.0)) + 0.2
    # a huge penalty keeps the prior
    stiff = learning.fit(lessons, (0.0, 1.0), l2=1e9)
    assert abs(stiff[0]) < 1e-3 and abs(stiff[1] - 1.0) < 1e-3


def history(ix: ExpertiseIndex, rng: random.Random, threads: int) -> None:
    """Sixteen topics, each with its expert; one busy generalist answers 30% of everything.

    Per topic the expert answers more (70%) than the generalist, but the generalist is far more
    active overall: a ranking leaning on activity gets topical questions wrong.
    """
    for k in range(threads):
        t = k % len(TOPICS)
        at = NOW - (threads - k) * DAY / 4
        words = rng.sample(TOPICS[t], 3) + rng.sample(FILLER, 2)
        tid = f"t{k}"
        ix.add(Post(tid, tid, f"asker{rng.randrange(200)}", " ".join(words), at))
        who = f"expert{t}" if rng.random() < 0.7 else "generalist"
        ix.add(Post(f"{tid}.1", tid, who, "try this", at + 600))


def test_calibration_learns_that_topics_matter_here() -> None:
    rng = random.Random(3)
    ix = ExpertiseIndex()
    history(ix, rng, 240)

    def experts_first() -> int:
        tops = [ix.rank(" ".join(words[2:5]), asker=None, now=NOW)[0].member for words in TOPICS]
        return sum(top == f"expert{t}" for t, top in enumerate(tops))

    before = experts_first()  # the prior leans on activity: the generalist comes first too often
    held_out = ix.calibrate()
    assert ix.weights != features.PRIOR
    assert held_out > 0.5
    assert experts_first() >= max(before + 4, 12)  # 7 -> 13 of 16 on this seed


def test_small_communities_keep_the_prior() -> None:
    ix = ExpertiseIndex()
    history(ix, random.Random(5), 20)
    ix.calibrate()
    assert ix.weights == features.PRIOR
