"""Moving the clock forward in the terminal (`/advance 2d`): what would have happened meanwhile, in order.

A newcomer trying Steward in the terminal should see a meetup announced, a survey closed, a question
escalated, without waiting days. `advance` replays the interval as the scheduler would have lived it:
every ritual step due in it, in time order, each after the periodic jobs (closings, escalations) due
before it; then the periodic jobs at the end. Everything goes through the core as `Scheduled` events,
exactly as in production, so nothing here is a special path: only the clock is chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from bot.core import Steward
from bot.features.ritual_common import schedule_of, step_offsets
from bot.i18n import N_
from bot.scheduling import run_due
from rituals.jobs import fire
from rituals.trigger import RitualTrigger
from storage.models import Ritual

MAX_ADVANCE = timedelta(days=400)
MAX_STEPS = 500  # ritual firings replayed by one advance at most
_DURATION = re.compile(r"^\s*(\d{1,4})\s*(m|min|mins|minutes?|h|hours?|d|days?|w|weeks?|j|jours?|semaines?)\s*$",
                       re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "j": "days", "w": "weeks", "s": "weeks"}


class BadDuration(ValueError):
    """Not a duration `/advance` understands; `msgid` and `params` say why, in the reader's language."""

    def __init__(self, msgid: str, **params: object) -> None:
        self.msgid, self.params = msgid, params
        super().__init__(msgid.format(**params))


def parse_duration(text: str) -> timedelta:
    """`2d`, `3 hours`, `1w`, `90m`, `2 jours`… → a timedelta between one minute and `MAX_ADVANCE`."""
    match = _DURATION.match(text)
    if match is None:
        raise BadDuration(N_("“{text}” is not a duration: try `/advance 2d`, `/advance 3h` or `/advance 1w`."),
                          text=text.strip()[:40])
    amount, unit = int(match.group(1)), match.group(2).lower()
    key = "m" if unit.startswith("m") else "s" if unit.startswith("se") else unit[0]
    delta = timedelta(**{_UNITS[key]: amount})
    if not timedelta(minutes=1) <= delta <= MAX_ADVANCE:
        raise BadDuration(N_("Advance between 1 minute and {days} days, e.g. `/advance 2d`."), days=MAX_ADVANCE.days)
    return delta


@dataclass(frozen=True)
class Travel:
    """What an advance did: ritual steps handled and periodic events handled."""

    steps: int
    jobs: int


async def advance(steward: Steward, start: datetime, end: datetime) -> Travel:
    """Live the interval (start, end] as the scheduler would have: ritual steps and periodic jobs, in order."""
    async with steward.db.session() as session:
        rituals = list((await session.exec(select(Ritual).where(Ritual.status == "active"))).all())
    fires: list[tuple[datetime, int]] = []
    for ritual in rituals:
        assert ritual.id is not None
        trigger = RitualTrigger(schedule_of(ritual), tuple(o for _, o in step_offsets(ritual)))
        at = trigger.get_next_fire_time(None, start)
        while at is not None and at <= end and len(fires) < MAX_STEPS * 4:
            if at > start:
                fires.append((at, ritual.id))
            at = trigger.get_next_fire_time(at, at)
    steps = jobs = 0
    for at, ritual_id in sorted(fires)[:MAX_STEPS]:
        jobs += await run_due(steward, at)
        steps += await fire(steward, ritual_id, at, now=at)
    jobs += await run_due(steward, end)
    return Travel(steps, jobs)
