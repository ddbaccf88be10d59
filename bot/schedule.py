"""Schedule text ("every 2nd tuesday at 16:00 America/Montreal") ↔ an RFC 5545 rule in a time zone.

Recurrences are `dateutil.rrule` rules over *local wall-clock* times, localised one by one, so a
16:00 meetup stays at 16:00 local across daylight-saving changes. English and French forms are read
by the same parser: French words are mapped onto English tokens first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_skeleton, get_day_names
from babel.lists import format_list
from dateutil.rrule import rrule, rruleset, rrulestr

from bot.commands import fold
from bot.errors import Detail, InputError
from bot.i18n import N_

BAD_SCHEDULE = N_("I couldn't read that schedule: {problem}. Write it like `{usage}`.")
WEEKDAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR",
            "saturday": "SA", "sunday": "SU", "lundi": "MO", "mardi": "TU", "mercredi": "WE", "jeudi": "TH",
            "vendredi": "FR", "samedi": "SA", "dimanche": "SU"}
WEEKDAYS |= {k[:3]: v for k, v in list(WEEKDAYS.items()) if k.isascii()}
MONTHS = {name: i + 1 for i, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"))}
MONTHS |= {name: i + 1 for i, name in enumerate(
    ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
     "novembre", "decembre"))}
ORDINALS = {"first": 1, "1st": 1, "premier": 1, "premiere": 1, "1er": 1, "1re": 1, "second": 2, "2nd": 2,
            "deuxieme": 2, "2e": 2, "seconde": 2, "third": 3, "3rd": 3, "troisieme": 3, "3e": 3, "fourth": 4,
            "4th": 4, "quatrieme": 4, "4e": 4, "last": -1, "dernier": -1, "derniere": -1}
UNITS = {"day": "DAILY", "days": "DAILY", "jour": "DAILY", "jours": "DAILY", "week": "WEEKLY",
         "weeks": "WEEKLY", "semaine": "WEEKLY", "semaines": "WEEKLY", "month": "MONTHLY", "months": "MONTHLY",
         "mois": "MONTHLY", "year": "YEARLY", "years": "YEARLY", "an": "YEARLY", "ans": "YEARLY",
         "annee": "YEARLY", "annees": "YEARLY", "quarter": "QUARTER", "trimestre": "QUARTER"}
FILLERS = {"the", "of", "on", "and", "at", "a", "in", "le", "la", "les", "de", "du", "et", "des", "each",
           "every", "chaque", "tous", "toutes"}
_DATE = r"(\d{4}-\d{2}-\d{2})"
_TIME = re.compile(r"(?:\b(?:at|a|à)\s+)?\b(\d{1,2})(?:[:h](\d{2})|h)?\s*(am|pm)?(?=\s|$|,)", re.IGNORECASE)
_TZ = re.compile(r"(?<![\w/])(UTC|[A-Z][A-Za-z_]+/[A-Za-z_+\-]+(?:/[A-Za-z_]+)?)(?![\w/])")
_CHANNEL = re.compile(r"\b(?:in|dans)\s+(<#[^>]+>|#[\w.\-:!]+)", re.IGNORECASE)
_UNTIL = re.compile(r"\b(?:until|till|jusqu'?\s*(?:au|a|à|le)?)\s*" + _DATE, re.IGNORECASE)
_COUNT = re.compile(r"\b(?:for\s+)?(\d{1,4})\s+(?:times|occurrences|fois)\b", re.IGNORECASE)
_EXCEPT = re.compile(r"\b(?:except|skip|skipping|sauf)\s+(" + _DATE + r"(?:\s*(?:,|and|et)\s*" + _DATE + r")*)",
                     re.IGNORECASE)
_FROM = re.compile(r"\b(?:from|starting|a partir du|à partir du|des le|dès le)\s+" + _DATE, re.IGNORECASE)
_ONCE = re.compile(r"^\s*(?:on|le)\s+" + _DATE + r"\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Schedule:
    """When a ritual happens: an RRULE over local times from `dtstart`, in `timezone`, minus `exdates`,
    with one-off `moves` (an original local time to its new one, or to None when that occurrence is skipped).

    Pickled into the job store: a field added later needs a default (old pickles read it from the class).
    """

    rrule: str
    dtstart: datetime  # naive, local
    timezone: str
    exdates: tuple[date, ...] = ()
    moves: tuple[tuple[datetime, datetime | None], ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        """The time zone as an object."""
        return ZoneInfo(self.timezone)

    def rule(self) -> rruleset:
        """The dateutil rule set (rule minus excluded dates), over naive local datetimes."""
        rules = rruleset()
        parsed = rrulestr(f"RRULE:{self.rrule}", dtstart=self.dtstart)
        assert isinstance(parsed, rrule)
        rules.rrule(parsed)
        for day in self.exdates:
            rules.exdate(datetime.combine(day, self.dtstart.time()))
        for original, new in self.moves:
            rules.exdate(original)
            if new is not None:
                rules.rdate(new)
        return rules

    def local(self, at: datetime) -> datetime:
        """An aware instant as naive local wall-clock time (how rules and moves are written)."""
        return at.astimezone(self.zone).replace(tzinfo=None)

    def with_move(self, original: datetime, new: datetime | None) -> Schedule:
        """The schedule with the occurrence at local `original` moved to local `new` (None: skipped).

        `original` may itself be a moved occurrence: its first original is kept, so moving it back undoes it.
        """
        moves = dict(self.moves)
        first = next((o for o, n in moves.items() if n == original), original)
        moves.pop(first, None)
        if new is not None and new in moves and moves[new] is None:  # onto a skipped date: it comes back,
            moves.pop(new)                                             # and this one's own date is skipped
            moves[first] = None
        elif new != first:
            moves[first] = new
        return replace(self, moves=tuple(sorted(moves.items())))

    def localise(self, local: datetime) -> datetime:
        """A naive local time as an aware UTC instant (a time skipped by DST moves forward by the gap)."""
        aware = local.replace(tzinfo=self.zone)
        return datetime.fromtimestamp(aware.timestamp(), UTC)

    def after(self, moment: datetime, inclusive: bool = False) -> Iterator[datetime]:
        """Occurrences (aware, UTC) after `moment`, in order."""
        # Start a day early in local time: localising can move an occurrence across `moment`.
        start = moment.astimezone(self.zone).replace(tzinfo=None) - timedelta(days=1)
        for local in self.rule().xafter(start, inc=True):
            at = self.localise(local)
            if at > moment or (inclusive and at == moment):
                yield at

    def next(self, moment: datetime, count: int = 1) -> list[datetime]:
        """The next `count` occurrences strictly after `moment`."""
        found: list[datetime] = []
        for at in self.after(moment):
            found.append(at)
            if len(found) == count:
                break
        return found

    def before(self, moment: datetime) -> datetime | None:
        """The last occurrence at or before `moment`."""
        rules = self.rule()
        candidate = rules.before(moment.astimezone(self.zone).replace(tzinfo=None) + timedelta(days=1), inc=True)
        while candidate is not None:
            at = self.localise(candidate)
            if at <= moment:
                return at
            candidate = rules.before(candidate)
        return None


def _problem(problem: str, **params: object) -> InputError:
    return InputError(BAD_SCHEDULE, usage_key="schedule-meetup", problem=Detail(problem, **params))


def parse_schedule(text: str, *, default_tz: str, today: date) -> tuple[Schedule, str | None]:
    """Read schedule text (English or French); returns the schedule and the channel named (`#k8s`), if any."""
    rest = text.strip()
    channel = None
    if m := _CHANNEL.search(rest):
        channel, rest = m.group(1), rest[:m.start()] + rest[m.end():]
    tz_name = default_tz
    if m := _TZ.search(rest):
        tz_name, rest = m.group(1), rest[:m.start()] + rest[m.end():]
        try:
            ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise _problem(N_("“{zone}” is not a time zone I know (e.g. Europe/Paris)"), zone=tz_name) from None
    extra: list[str] = []
    if m := _UNTIL.search(rest):
        extra.append("UNTIL=" + _date(m.group(1)).strftime("%Y%m%dT235959"))
        rest = rest[:m.start()] + rest[m.end():]
    if m := _COUNT.search(rest):
        extra.append(f"COUNT={int(m.group(1))}")
        rest = rest[:m.start()] + rest[m.end():]
    exdates: tuple[date, ...] = ()
    if m := _EXCEPT.search(rest):
        exdates = tuple(_date(d) for d in re.findall(_DATE, m.group(1)))
        rest = rest[:m.start()] + rest[m.end():]
    start_day = today
    if m := _FROM.search(rest):
        start_day, rest = _date(m.group(1)), rest[:m.start()] + rest[m.end():]
    at_time, rest = _time(rest)
    if m := _ONCE.match(rest):
        day = _date(m.group(1))
        return Schedule("FREQ=DAILY;COUNT=1", datetime.combine(day, at_time), tz_name), channel
    rule = _recurrence(rest)
    if not rule:
        raise _problem(N_("say how often, e.g. “every 2nd tuesday” or “every 2 weeks on monday”"))
    rule = ";".join([rule, *extra])
    try:
        first = next(iter(rrulestr(f"RRULE:{rule}", dtstart=datetime.combine(start_day, at_time))), None)
    except ValueError as exc:
        raise _problem(N_("the rule does not work ({reason})"), reason=str(exc)) from None
    if first is None:
        raise _problem(N_("it never happens (check the dates)"))
    # DTSTART is the first occurrence, as RFC 5545 expects (calendars count DTSTART as an occurrence).
    return Schedule(rule, first, tz_name, exdates), channel


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _problem(N_("“{text}” is not a date (write YYYY-MM-DD)"), text=text) from None


def _time(text: str) -> tuple[time, str]:
    found, rest = _find_time(text)
    if found is None:
        raise _problem(N_("tell me the time, e.g. “at 16:00”"))
    return found, rest


def _find_time(text: str) -> tuple[time | None, str]:
    for m in _TIME.finditer(text):
        # A bare number is a time only when introduced by at/à or written as 16:00, 16h, 4pm.
        introduced = m.group(0).strip().split()[0].casefold() in ("at", "a", "à")
        if not (introduced or m.group(2) or m.group(3) or "h" in m.group(0).casefold()):
            continue
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if m.group(3):
            if not 1 <= hour <= 12:
                raise _problem(N_("“{text}” is not a time"), text=m.group(0).strip())
            hour = hour % 12 + (12 if m.group(3).casefold() == "pm" else 0)
        if hour > 23 or minute > 59:
            raise _problem(N_("“{text}” is not a time (write 16:00)"), text=m.group(0).strip())
        return time(hour, minute), text[:m.start()] + text[m.end():]
    return None, text


def _recurrence(text: str) -> str:
    words = fold(text).replace(",", " ").replace("-", " ").replace("'", " ").split()
    interval, freq = 1, ""
    days: list[str] = []
    ordinal: int | None = None
    monthdays: list[int] = []
    month: int | None = None
    pending_number: int | None = None
    for word in words:
        if word in FILLERS:
            continue
        if word in ("day", "jour") and ordinal == -1 and not days:
            monthdays = [-1]
        elif word in UNITS:
            if pending_number is not None:
                interval, pending_number = pending_number, None
            freq = UNITS[word]
        elif word in WEEKDAYS:
            days.append(f"{ordinal:+d}{WEEKDAYS[word]}" if ordinal is not None else WEEKDAYS[word])
        elif word in ORDINALS:
            ordinal = ORDINALS[word]
        elif word in MONTHS:
            month = MONTHS[word]
        elif re.fullmatch(r"\d{1,2}(st|nd|rd|th|e|er)?", word):
            number = int(re.sub(r"\D", "", word))
            if freq or month or ordinal is not None or re.search(r"\D", word):
                monthdays.append(number)
            else:
                pending_number = number
        else:
            raise _problem(N_("I don't know the word “{word}”"), word=word)
    if pending_number is not None:
        monthdays.append(pending_number)
    if ordinal is not None and ordinal > 0 and not days:
        monthdays.append(ordinal)
    if ordinal == -1 and not days and freq in ("", "MONTHLY"):
        monthdays, freq = [-1], "MONTHLY"
    if ordinal is not None and days:
        freq = "MONTHLY" if freq in ("", "WEEKLY") else freq
    if freq == "QUARTER":
        freq, interval = "MONTHLY", 3 * interval
    if not freq:
        freq = "WEEKLY" if days else ""
    if not freq or interval < 1 or interval > 366:
        return ""
    parts = [f"FREQ={freq}"] + ([f"INTERVAL={interval}"] if interval > 1 else [])
    if days:
        parts.append("BYDAY=" + ",".join(days))
    if month is not None:
        if freq != "YEARLY":
            raise _problem(N_("a month name goes with “every year”"))
        parts.append(f"BYMONTH={month}")
    if monthdays:
        if any(not (d == -1 or 1 <= d <= 31) for d in monthdays):
            raise _problem(N_("days of the month go from 1 to 31"))
        parts.append("BYMONTHDAY=" + ",".join(str(d) for d in monthdays))
    return ";".join(parts)


def schedule_from_form(fields: dict[str, str], *, default_tz: str, today: date) -> tuple[Schedule, str | None]:
    """A schedule from form fields (Slack modal, guided dialogue): `schedule`, `time`, `timezone`,
    optional `until`, `count`, `except`, `start`, `channel`; read by the same parser as chat text."""
    parts = [fields.get("schedule", "").strip()]
    if fields.get("start"):
        parts.append(f"from {fields['start'].strip()}")
    if fields.get("time"):
        parts.append(f"at {fields['time'].strip()}")
    if fields.get("until"):
        parts.append(f"until {fields['until'].strip()}")
    if fields.get("count"):
        parts.append(f"{fields['count'].strip()} times")
    if fields.get("except"):
        parts.append(f"except {fields['except'].strip()}")
    schedule, channel = parse_schedule(" ".join(p for p in parts if p), default_tz=default_tz, today=today)
    if fields.get("timezone"):
        tz = fields["timezone"].strip()
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise _problem(N_("“{zone}” is not a time zone I know (e.g. Europe/Paris)"), zone=tz) from None
        schedule = replace(schedule, timezone=tz)
    return schedule, fields.get("channel") or channel


BAD_MOMENT = N_("I couldn't read that new date: {problem}. Write it like `{usage}`.")
_MOMENT_FILLERS = {"to", "on", "at", "the", "au", "a", "le", "la", "pour", "for", "next", "prochain", "prochaine"}


def parse_moment(text: str, *, around: datetime) -> datetime:
    """A new local time for one occurrence, near its current local time `around` (naive).

    `friday 16:00`, `vendredi 16h`, `2026-12-11 at 18:00`, `18:30` (same day): a weekday is the one
    nearest to the occurrence (up to three days before or after); without a time the time stays.
    """
    def problem(msgid: str, **params: object) -> InputError:
        return InputError(BAD_MOMENT, usage_key="move-meetup", problem=Detail(msgid, **params))

    at_time, rest = _find_time(text)
    day: date | None = None
    if m := re.search(_DATE, rest):
        try:
            day = date.fromisoformat(m.group(1))
        except ValueError:
            raise problem(N_("“{text}” is not a date (write YYYY-MM-DD)"), text=m.group(1)) from None
        rest = rest[:m.start()] + rest[m.end():]
    for word in fold(rest).replace(",", " ").split():
        if word in _MOMENT_FILLERS:
            continue
        if word in WEEKDAYS and day is None:
            wanted = list(WEEKDAYS_ORDER).index(WEEKDAYS[word])
            shift = (wanted - around.weekday() + 3) % 7 - 3
            day = around.date() + timedelta(days=shift)
            continue
        raise problem(N_("I don't know the word “{word}”"), word=word)
    if day is None and at_time is None:
        raise problem(N_("say the day, the time or both, e.g. “friday 16:00”"))
    return datetime.combine(day or around.date(), at_time or around.time())


WEEKDAYS_ORDER = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ORDINAL_NAMES = {1: N_("first"), 2: N_("second"), 3: N_("third"), 4: N_("fourth"), 5: N_("fifth"), -1: N_("last")}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


def describe(schedule: Schedule, _: Callable[..., str], locale: str) -> str:
    """The schedule as people read it, in `locale`: `every second Tuesday of the month at 16:00`.

    Rules the parser does not write (e.g. edited by hand in the database) are shown as they are stored.
    """
    try:
        return _describe(schedule, _, locale)
    except (KeyError, ValueError):
        return schedule.rrule


def _describe(schedule: Schedule, _: Callable[..., str], locale: str) -> str:
    parts = dict(p.split("=", 1) for p in schedule.rrule.split(";") if "=" in p)
    freq, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    start, at = schedule.dtstart, schedule.dtstart.strftime("%H:%M")
    names = get_day_names("wide", locale=locale)

    def days(raw: str) -> str:
        phrases = []
        for item in raw.split(","):
            m = _BYDAY.match(item)
            if m is None:
                raise ValueError(item)
            day = names[WEEKDAYS_ORDER.index(m.group(2))]
            ordinal = int(m.group(1)) if m.group(1) else None
            phrases.append(day if ordinal is None else _("{ordinal} {day}", ordinal=_(_ORDINAL_NAMES[ordinal]),
                                                            day=day))
        return format_list(phrases, locale=locale)

    if parts.get("COUNT") == "1":
        return _("once, on {date} at {time}", date=format_date(start.date(), "long", locale=locale), time=at)
    if freq == "DAILY":
        text = _("every day at {time}", time=at) if interval == 1 else _("every {n} days at {time}", n=interval,
                                                                          time=at)
    elif freq == "WEEKLY":
        on = days(parts.get("BYDAY") or WEEKDAYS_ORDER[start.weekday()])
        text = _("every {days} at {time}", days=on, time=at) if interval == 1 else _(
            "every {n} weeks on {days} at {time}", n=interval, days=on, time=at)
    elif freq == "MONTHLY" and "BYDAY" in parts:
        on = days(parts["BYDAY"])
        text = _("every {days} of the month at {time}", days=on, time=at) if interval == 1 else _(
            "the {days} of every {n} months at {time}", days=on, n=interval, time=at)
    elif freq == "MONTHLY":
        monthdays = [int(d) for d in parts.get("BYMONTHDAY", str(start.day)).split(",")]
        if monthdays == [-1]:
            text = _("every month on the last day at {time}", time=at) if interval == 1 else _(
                "every {n} months on the last day at {time}", n=interval, time=at)
        else:
            on = format_list([str(d) for d in monthdays], locale=locale)
            text = _("every month on day {days} at {time}", days=on, time=at) if interval == 1 else _(
                "every {n} months on day {days} at {time}", n=interval, days=on, time=at)
    elif freq == "YEARLY" and "BYDAY" not in parts:
        month = int(parts.get("BYMONTH", str(start.month)))
        day = int(parts.get("BYMONTHDAY", str(start.day)))
        on = format_skeleton("MMMMd", date(2000, month, day), locale=locale)
        text = _("every year on {date} at {time}", date=on, time=at) if interval == 1 else _(
            "every {n} years on {date} at {time}", n=interval, date=on, time=at)
    else:
        raise ValueError(freq)
    if "UNTIL" in parts:
        until = datetime.strptime(parts["UNTIL"][:8], "%Y%m%d").date()
        text = _("{rule}, until {date}", rule=text, date=format_date(until, "long", locale=locale))
    elif "COUNT" in parts:
        text = _("{rule}, {n} times", rule=text, n=int(parts["COUNT"]))
    return text
