"""Consultation deadlines as people write them: `until friday`, `jusqu'à vendredi 12h`, `by 2026-12-04`."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.commands import fold
from bot.errors import InputError
from bot.i18n import N_

DEFAULT_DAYS = 7
DEFAULT_TIME = time(17, 0)
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
             "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6}
_AT = re.compile(r"(?:\b(?:at|a)\s+)?(\d{1,2})(?:[:h](\d{2})|h)\s*$")
_IN = re.compile(r"^(?:in|dans)\s+(\d{1,2})\s+(days?|jours?|weeks?|semaines?)$")
BAD_DEADLINE = N_("I couldn't read the deadline “{text}”. Say e.g. `until friday`, `until 2026-12-04 at 12:00` "
                  "or `until in 10 days`.")


def parse_deadline(text: str, *, timezone: str, now: datetime) -> datetime:
    """The aware UTC moment `text` names (default 17:00 local); it must be in the future, within 90 days."""
    folded = fold(text).strip().rstrip(".")
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    at = DEFAULT_TIME
    if m := _AT.search(folded):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour > 23 or minute > 59:
            raise InputError(BAD_DEADLINE, text=text)
        at, folded = time(hour, minute), folded[:m.start()].strip()
    folded = re.sub(r"^(?:next|prochain|le|the)\s+", "", folded)
    day: date
    if folded in ("tomorrow", "demain"):
        day = local_now.date() + timedelta(days=1)
    elif folded in ("today", "aujourd'hui", "ce soir", "tonight"):
        day = local_now.date()
    elif folded in _WEEKDAYS:
        ahead = (_WEEKDAYS[folded] - local_now.weekday()) % 7 or 7
        day = local_now.date() + timedelta(days=ahead)
    elif m := _IN.match(folded):
        n = int(m.group(1)) * (7 if m.group(2).startswith(("week", "semaine")) else 1)
        day = local_now.date() + timedelta(days=n)
    else:
        try:
            day = date.fromisoformat(folded)
        except ValueError:
            raise InputError(BAD_DEADLINE, text=text) from None
    moment = datetime.combine(day, at, tzinfo=zone)
    if moment <= now or moment - now > timedelta(days=90):
        raise InputError(N_("The deadline must be in the future and within 90 days."))
    return moment.astimezone(ZoneInfo("UTC"))
