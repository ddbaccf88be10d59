"""What ritual features share: a ritual's schedule and settings, where it posts, a run of one step."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_datetime

from bot.config import CommunityConfig
from rituals.schedule import Schedule
from storage.models import Ritual

DEFAULTS: dict[str, Any] = {"announce_days": 7, "reminders": [24.0, 1.0], "followup_hours": 2.0}


@dataclass(frozen=True)
class RitualRun:
    """One step of one occurrence being run by the scheduler (or by a test with a chosen `now`)."""

    ritual: Ritual
    step: str
    occurrence: datetime  # aware UTC
    now: datetime
    key: str  # the idempotency key claimed for this run


def schedule_of(ritual: Ritual) -> Schedule:
    """The ritual's schedule as stored."""
    exdates = tuple(date.fromisoformat(d) for d in ritual.exdates.split(",") if d)
    return Schedule(ritual.rrule, datetime.fromisoformat(ritual.dtstart), ritual.timezone, exdates)


def settings_of(ritual: Ritual) -> dict[str, Any]:
    """The ritual's settings over the defaults."""
    loaded = json.loads(ritual.settings or "{}")
    return DEFAULTS | (loaded if isinstance(loaded, dict) else {})


def step_offsets(ritual: Ritual) -> list[tuple[str, timedelta]]:
    """The ritual's steps and when each fires relative to an occurrence."""
    if ritual.kind == "meetup":
        s = settings_of(ritual)
        steps = [("announce", timedelta(days=-int(s["announce_days"])))] if int(s["announce_days"]) > 0 else []
        steps += [(f"remind-{float(h):g}h", timedelta(hours=-float(h))) for h in s["reminders"]]
        return [*steps, ("followup", timedelta(hours=float(s["followup_hours"])))]
    if ritual.kind == "explore":
        return [("explore", timedelta(0)), ("digest", timedelta(days=7))]
    return [(ritual.kind, timedelta(0))]


def ritual_target(ritual: Ritual, cc: CommunityConfig | None) -> tuple[str, str] | None:
    """(platform, channel) where a ritual posts: its own channel, else the community's first one."""
    ref = ritual.channel or (cc.channels[0] if cc and cc.channels else "")
    platform, _, channel = ref.partition(":")
    return (platform, channel) if channel else None


def when(moment: datetime, timezone: str, locale: str) -> str:
    """A moment as people read it, in a time zone: `Tue, Dec 8, 2026, 4:00 PM (America/Montreal)`."""
    return format_datetime(moment, "EEE d MMM y, HH:mm", tzinfo=_zone(timezone), locale=locale) + f" ({timezone})"


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
