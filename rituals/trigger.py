"""An APScheduler trigger over a ritual's schedule and its steps (e.g. 7 days before, 1 hour before).

It is pickled into the job store, so it holds only plain values: the schedule and step offsets.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

from bot.schedule import Schedule


class RitualTrigger(BaseTrigger):  # type: ignore[misc]
    """Fires at every `occurrence + offset` of every step, in order."""

    __slots__ = ("offsets", "schedule")

    def __init__(self, schedule: Schedule, offsets: tuple[timedelta, ...]) -> None:
        self.schedule = schedule
        self.offsets = tuple(sorted(set(offsets)))

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The first fire time after `previous_fire_time` (or at/after `now` when there is none)."""
        candidates = []
        for offset in self.offsets:
            if previous_fire_time is None:
                found = next(self.schedule.after(now - offset, inclusive=True), None)
            else:
                found = next(self.schedule.after(previous_fire_time - offset), None)
            if found is not None:
                candidates.append(found + offset)
        return min(candidates) if candidates else None

    def __getstate__(self) -> dict[str, object]:
        return {"version": 1, "schedule": self.schedule, "offsets": self.offsets}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.schedule = state["schedule"]  # type: ignore[assignment]
        self.offsets = state["offsets"]  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"ritual[{self.schedule.rrule} {self.schedule.timezone}]"

    def __repr__(self) -> str:
        return f"<RitualTrigger {self.schedule.rrule!r} tz={self.schedule.timezone!r} offsets={self.offsets}>"
