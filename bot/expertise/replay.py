"""Lessons from the past: the latest answered threads, each seen as it was when it was asked."""

from __future__ import annotations

import heapq
from array import array

from bot.expertise import features
from bot.expertise.activity import Activity
from bot.expertise.answers import NOBODY, AnswerLog
from bot.expertise.learning import Lesson
from bot.expertise.postings import ThreadPostings
from bot.expertise.scoring import topic_evidence

LESSONS = 240
WARM_UP = 0.1  # the oldest threads have too little history before them to teach anything
FILLERS = 20  # members ranked on activity alone, per half-life, behind those with topical evidence
FILLER_REFRESH = 25


def fillers(answers: AnswerLog, act: Activity, now: float, n: int = FILLERS) -> list[int]:
    """The n most active members at each half-life (union, most active first)."""
    ms = [m for m, c in enumerate(act.answers) if c > 0 and answers.names[m]]
    levels = {m: act.levels(m, now) for m in ms}
    out: dict[int, None] = {}
    for h in range(len(act.lams)):
        out.update(dict.fromkeys(heapq.nlargest(n, ms, key=lambda m: levels[m][h])))
    return list(out)


def lessons(postings: ThreadPostings, answers: AnswerLog, n: int = LESSONS) -> list[Lesson]:
    """Replay the latest n answered threads (past the warm-up) into ranking lessons."""
    picks = [
        t
        for t in range(len(answers.t_asker))
        if answers.t_asker[t] != NOBODY and postings.has(t) and any(map(answers.is_answer, answers.replies(t)))
    ]
    picks.sort(key=answers.t_at.__getitem__)
    picks = picks[int(len(picks) * WARM_UP) :][-n:]
    if not picks:
        return []
    start = answers.t_at[picks[0]]
    # Activity as it was at the first lesson: recount the earlier answers (subtracting the later ones
    # from today's sums would lose precision on the short half-lives), then replay the rest in order.
    act, live = Activity(), answers.activity
    for _ in live.answers:
        act.add_member()
    act.first = array("d", live.first)
    r_at, r_author = answers.r_at, answers.r_author
    later: list[int] = []
    for r, at in enumerate(r_at):
        if answers.is_answer(r):
            if at < start:
                act.count(r_author[r], at, answers.weight(r), answers.r_acc[r], +1)
            else:
                later.append(r)
    later.sort(key=r_at.__getitem__)
    out: list[Lesson] = []
    i, filler = 0, list[int]()
    for k, t in enumerate(picks):
        now = answers.t_at[t]
        while i < len(later) and r_at[later[i]] < now:
            r = later[i]
            act.count(r_author[r], r_at[r], answers.weight(r), answers.r_acc[r], +1)
            i += 1
        if k % FILLER_REFRESH == 0:
            filler = fillers(answers, act, now)
        gold: dict[int, float] = {}
        for r in answers.replies(t):
            if answers.is_answer(r):
                gold[r_author[r]] = max(gold.get(r_author[r], 0.0), 1.0 + answers.r_acc[r])
        ev = topic_evidence(postings, answers, list(postings.terms_of(t)), skip=t, before=now)
        asker = answers.t_asker[t]
        found = [m for m, e in ev.items() if e.threads]
        cands = [m for m in dict.fromkeys([*found, *filler]) if m != asker and m != NOBODY]
        if any(m in gold for m in cands):  # only what a ranking could have got right teaches
            out.append(Lesson(features.vectors(ev, cands, act, now), [gold.get(m, 0.0) for m in cands]))
    return out
