"""Wenger's stages of a community of practice, read from a few signals (a heuristic, documented in README).

- potential: younger than 3 months, or never more than 5 active members in a month;
- transformation: activity fell by 30% or more (last 3 months against the 3 before);
- coalescing: the core group is still small (fewer than 5), or the community is under a year and growing;
- maturing: growing by more than 10% with newcomers making at least a tenth of the active members;
- stewardship: otherwise — steady activity sustained by a core group.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_, Translate

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
    """A stage and the signals behind it, as short translated sentences."""

    name: str
    signals: tuple[str, ...]


def _trend(active: tuple[int, ...]) -> float | None:
    if len(active) < 6:
        return None
    before, recent = sum(active[-6:-3]), sum(active[-3:])
    return None if before == 0 else (recent - before) / before


def read_stage(s: Signals, _: Translate) -> Stage:
    """The stage the signals suggest, with the reasons in words."""
    trend = _trend(s.active_by_month)
    peak = max(s.active_by_month, default=0)
    active = s.active_by_month[-1] if s.active_by_month else 0
    reasons = [_("{months} month(s) of history", months=s.age_months),
               _("{n} active members this month (peak {peak} over 6 months)", n=active, peak=peak),
               _("core group of {n}", n=s.core)]
    if trend is not None:
        reasons.append(_("activity {trend} over the last 3 months against the 3 before", trend=f"{100 * trend:+.0f}%"))
    if s.answer_rate is not None:
        reasons.append(_("{rate} of question threads answered", rate=f"{100 * s.answer_rate:.0f}%"))
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
    return Stage(name, tuple(reasons))
