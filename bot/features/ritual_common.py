"""What ritual features share: a ritual's schedule and settings, where it posts, a run of one step, and
the registry of ritual kinds.

A kind is declared once, with `declare(RitualKind(...))` in the feature that runs it: its label, its
steps (and when each fires relative to an occurrence), the handler of each step, and whether it shows
in the iCalendar feed. The scheduler, the step runner, the `rituals` listing and the feed read it here.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from babel.dates import format_datetime

from bot.config import CommunityConfig
from bot.schedule import Schedule
from storage.models import Ritual

if TYPE_CHECKING:
    from bot.context import Context

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
    """The ritual's schedule as stored, with its one-off moves and skips."""
    exdates = tuple(date.fromisoformat(d) for d in ritual.exdates.split(",") if d)
    moves = []
    for item in (ritual.moves or "").split(","):
        original, sep, new = item.partition(">")
        if sep:
            moves.append((datetime.fromisoformat(original), datetime.fromisoformat(new) if new else None))
    return Schedule(ritual.rrule, datetime.fromisoformat(ritual.dtstart), ritual.timezone, exdates, tuple(moves))


def moves_text(schedule: Schedule) -> str:
    """How `Ritual.moves` stores a schedule's one-off changes."""
    return ",".join(f"{o.isoformat(timespec='seconds')}>{n.isoformat(timespec='seconds') if n else ''}"
                    for o, n in schedule.moves)


def title_of(ritual: Ritual, _: Callable[..., str]) -> str:
    """The ritual's title as people read it: built-in rituals' titles are messages, in the reader's language."""
    return _(ritual.title) if ritual.source == "system" and ritual.title else ritual.title


def settings_of(ritual: Ritual) -> dict[str, Any]:
    """The ritual's settings over the defaults."""
    loaded = json.loads(ritual.settings or "{}")
    return DEFAULTS | (loaded if isinstance(loaded, dict) else {})


StepHandler = Callable[["Context", RitualRun], Awaitable[None]]
Steps = Callable[[Ritual], list[tuple[str, timedelta]]]


def one_step(ritual: Ritual) -> list[tuple[str, timedelta]]:
    """Most kinds have one step, named after the kind, at the occurrence itself."""
    return [(ritual.kind, timedelta(0))]


@dataclass(frozen=True)
class RitualKind:
    """One kind of ritual: everything Steward must know to schedule, run, list and publish it."""

    name: str  # stored in `ritual.kind`
    label: str  # how people read it (a msgid: N_("meetup"))
    handlers: dict[str, StepHandler]  # step name (or prefix ending in "-") → what runs then
    steps: Steps = one_step
    on_calendar: bool = False  # in the community's iCalendar feed
    extra: dict[str, Any] = field(default_factory=dict)

    def handler(self, step: str) -> StepHandler | None:
        """What runs at `step` (an exact name, else the longest prefix ending in "-")."""
        if step in self.handlers:
            return self.handlers[step]
        prefixes = [p for p in self.handlers if p.endswith("-") and step.startswith(p)]
        return self.handlers[max(prefixes, key=len)] if prefixes else None


KINDS: dict[str, RitualKind] = {}


def declare(kind: RitualKind) -> RitualKind:
    """Make a ritual kind known (once, at import of the feature that runs it)."""
    if kind.name in KINDS and KINDS[kind.name] != kind:
        raise ValueError(f"ritual kind {kind.name!r} declared twice")
    KINDS[kind.name] = kind
    return kind


def kind_of(ritual: Ritual | str) -> RitualKind | None:
    """The declared kind of a ritual (or of a kind name); None for one no feature declares."""
    return KINDS.get(ritual if isinstance(ritual, str) else ritual.kind)


def step_offsets(ritual: Ritual) -> list[tuple[str, timedelta]]:
    """The ritual's steps and when each fires relative to an occurrence."""
    kind = kind_of(ritual)
    return kind.steps(ritual) if kind is not None else one_step(ritual)


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
