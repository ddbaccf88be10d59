"""How much each contribution counts, how fast it fades, and the levels shown instead of ranks.

One place for every number, so the README, `reputation @ana` and routing all tell the same story:
an entry is worth `WEIGHTS[kind] × 0.5 ** (age in whole days / HALF_LIFE_DAYS)`, and a member's
score (on a topic, or overall) is the plain sum of their entries' worths.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import N_
from bot.markup import Markup

WEIGHTS: dict[str, float] = {
    "answered": 3.0,  # replied in a question's thread (once per thread)
    "accepted": 5.0,  # the asker marked the answer ✅
    "thanked": 2.0,  # a kudos from a peer
    "shared": 1.0,  # shared a resource (a link with a comment)
    "hosted": 4.0,  # hosted or presented at a meetup
    "welcomed": 1.0,  # replied to a newcomer's first message
    # Answered a pulse survey: counted for the member alone, worth no points. Scores are shown to others
    # (reputation, leaderboard, routing), so a score moving when a survey closes would say who took part.
    "surveyed": 0.0,
}
HALF_LIFE_DAYS = 180.0
KUDOS_WINDOW_HOURS = 24  # the same person thanking the same person again within this counts once

# (threshold, name): the highest threshold reached names the level; below the first, no level.
LEVELS: tuple[tuple[float, str], ...] = (
    (1.0, N_("Contributor")),
    (10.0, N_("Regular")),
    (30.0, N_("Mentor")),
    (60.0, N_("Steward")),
)

ENTRY_LABELS: dict[str, str] = {  # one entry
    "answered": N_("answer"),
    "accepted": N_("accepted answer"),
    "thanked": N_("kudos"),
    "shared": N_("shared a resource"),
    "hosted": N_("hosted or presented a meetup"),
    "welcomed": N_("welcomed a newcomer"),
    "surveyed": N_("answered a pulse survey"),
}
def kind_count(n_: Callable[..., Markup], kind: str, n: int) -> Markup:
    """A count of entries of one kind, through ngettext: "1 answer", "3 kudos received", "1 remerciement reçu"."""
    match kind:
        case "answered":
            return n_("{n} answer", "{n} answers", n)
        case "accepted":
            return n_("{n} accepted answer", "{n} accepted answers", n)
        case "thanked":
            return n_("{n} kudos received", "{n} kudos received", n)
        case "shared":
            return n_("{n} resource shared", "{n} resources shared", n)
        case "hosted":
            return n_("{n} meetup hosted or presented", "{n} meetups hosted or presented", n)
        case "welcomed":
            return n_("{n} newcomer welcomed", "{n} newcomers welcomed", n)
        case "surveyed":
            return n_("{n} survey answered", "{n} surveys answered", n)
    return Markup("{kind} {n}").format(kind=kind, n=n)


def decay(age_days: int) -> float:
    """The share of its weight an entry keeps after `age_days` whole days (1 today, ½ after a half-life)."""
    return float(0.5 ** (max(age_days, 0) / HALF_LIFE_DAYS))


def worth(kind: str, day: int, today: int) -> float:
    """The points one entry of `kind`, made on `day`, is worth on `today` (days since 1970-01-01)."""
    return WEIGHTS.get(kind, 0.0) * decay(today - day)


def level(score: float) -> str | None:
    """The level's msgid for a score, or None below the first level."""
    name = None
    for threshold, label in LEVELS:
        if score >= threshold:
            name = label
    return name
