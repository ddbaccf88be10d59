"""Wenger's stages of a community of practice, read from a few signals (a heuristic, documented in README).

- potential: younger than 3 months, or never more than 5 active members in a month;
- transformation: activity fell by 30% or more (last 3 months against the 3 before);
- coalescing: the core group is still small (fewer than 5), or the community is under a year and growing;
- maturing: growing by more than 10% with newcomers making at least a tenth of the active members;
- stewardship: otherwise — steady activity sustained by a core group.

The signals are the digest's own figures (bot/digest/report.py), so what the stage says and what the
digest counts cannot disagree; the text of the signals is written by bot/digest/render.py from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_

STAGES = {"potential": N_("potential"), "coalescing": N_("coalescing"), "maturing": N_("maturing"),
          "stewardship": N_("stewardship"), "transformation": N_("transformation")}


@dataclass(frozen=True)
class Signals:
    """What the reading rests on."""

    age_months: int
    active_by_month: tuple[int, ...]  # oldest first, the digest's month last
    core: int
    newcomers: int
    answer_rate: float | None  # share of question threads answered, None when there were none


@dataclass(frozen=True)
class Stage:
    """A stage, the signals it was read from, and the activity trend among them."""

    name: str
    signals: Signals
    trend: float | None  # active members, last 3 months against the 3 before (-0.3 = down 30%)


def activity_trend(active: tuple[int, ...]) -> float | None:
    """Active members of the last 3 months against the 3 before; None without 6 months or from zero."""
    if len(active) < 6:
        return None
    before, recent = sum(active[-6:-3]), sum(active[-3:])
    return None if before == 0 else (recent - before) / before


def read_stage(s: Signals) -> Stage:
    """The stage the signals suggest."""
    trend = activity_trend(s.active_by_month)
    peak = max(s.active_by_month, default=0)
    active = s.active_by_month[-1] if s.active_by_month else 0
    if s.age_months < 3 or peak <= 5:
        name = "potential"
    elif trend is not None and trend <= -0.3:
        name = "transformation"
    elif s.core < 5 or (s.age_months < 12 and (trend or 0) > 0.1):
        name = "coalescing"
    elif (trend or 0) > 0.1 and s.newcomers * 10 >= active:
        name = "maturing"
    else:
        name = "stewardship"
    return Stage(name, s, trend)
