"""Schedules: RFC 5545 semantics in a real time zone, English and French, and clear refusals."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InputError
from bot.schedule import parse_schedule, schedule_from_form
from rituals.trigger import RitualTrigger
from tests.rituals.conftest import utc

TODAY = date(2026, 1, 1)


def local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %a %H:%M")


@pytest.mark.parametrize(("tz", "start"), [("America/Montreal", "2026-03-01"), ("Europe/Paris", "2026-03-01")])
def test_16h_meetup_stays_16h_local_across_dst(tz: str, start: str) -> None:
    schedule, _ = parse_schedule(f"every tuesday at 16:00 {tz} from {start}", default_tz="UTC", today=TODAY)
    spring = schedule.next(utc(2026, 3, 1), 6)
    autumn = schedule.next(utc(2026, 10, 20), 4) + schedule.next(utc(2026, 11, 1), 2)
    for at in spring + autumn:
        assert local(at, tz).endswith("Tue 16:00"), local(at, tz)
    offsets = {at.astimezone(ZoneInfo(tz)).utcoffset() for at in spring + autumn}
    assert len(offsets) == 2  # the UTC instant moved with the clock change, the local time did not


def test_time_skipped_by_dst_moves_forward_not_lost() -> None:
    schedule, _ = parse_schedule("every day at 02:30 America/Montreal from 2026-03-07", default_tz="UTC", today=TODAY)
    got = [local(at, "America/Montreal") for at in schedule.next(utc(2026, 3, 7), 3)]
    assert got == ["2026-03-07 Sat 02:30", "2026-03-08 Sun 03:30", "2026-03-09 Mon 02:30"]


def test_31st_only_in_months_that_have_one_and_last_day_in_every_month() -> None:
    s31, _ = parse_schedule("every month on the 31st at 10:00 from 2026-01-01", default_tz="UTC", today=TODAY)
    assert [at.date() for at in s31.next(utc(2026, 1, 1), 4)] == [
        date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31), date(2026, 7, 31)]
    last, _ = parse_schedule("le dernier jour du mois à 10h", default_tz="UTC", today=TODAY)
    assert [at.day for at in last.next(utc(2026, 1, 1), 3)] == [31, 28, 31]


def test_leap_day_rule_only_fires_in_leap_years() -> None:
    schedule, _ = parse_schedule("every year on february 29 at 12:00", default_tz="UTC", today=TODAY)
    assert [at.year for at in schedule.next(utc(2026, 1, 1), 3)] == [2028, 2032, 2036]


def test_nth_and_last_weekday() -> None:
    second, _ = parse_schedule("every 2nd tuesday at 16:00 America/Montreal", default_tz="UTC", today=TODAY)
    assert [local(at, "America/Montreal") for at in second.next(utc(2026, 1, 1), 3)] == [
        "2026-01-13 Tue 16:00", "2026-02-10 Tue 16:00", "2026-03-10 Tue 16:00"]
    last, _ = parse_schedule("chaque dernier vendredi à 15h Europe/Paris", default_tz="UTC", today=TODAY)
    assert [local(at, "Europe/Paris") for at in last.next(utc(2026, 1, 1), 2)] == [
        "2026-01-30 Fri 15:00", "2026-02-27 Fri 15:00"]


def test_until_count_and_excluded_dates() -> None:
    until, _ = parse_schedule("every day at 09:00 until 2026-01-03", default_tz="UTC", today=TODAY)
    assert len(until.next(utc(2025, 12, 31), 10)) == 3
    count, _ = parse_schedule("tous les 2 jours à 9h 3 fois", default_tz="UTC", today=TODAY)
    assert [at.day for at in count.next(utc(2025, 12, 31), 10)] == [1, 3, 5]
    skip, _ = parse_schedule("every day at 09:00 for 3 times except 2026-01-02", default_tz="UTC", today=TODAY)
    assert [at.day for at in skip.next(utc(2025, 12, 31), 10)] == [1, 3]


def test_every_n_weeks_and_channel() -> None:
    schedule, channel = parse_schedule("every 2 weeks on monday at 9am in #k8s", default_tz="Europe/Paris", today=TODAY)
    assert channel == "#k8s" and schedule.timezone == "Europe/Paris"
    days = schedule.next(utc(2026, 1, 1), 3)
    assert [b - a for a, b in itertools.pairwise(days)] == [timedelta(weeks=2)] * 2


@pytest.mark.parametrize(("text", "problem"), [
    ("every blue moon at 16:00", "blue"),
    ("every tuesday", "time"),
    ("every tuesday at 25:00", "25:00"),
    ("every tuesday at 16:00 Mars/Olympus", "Mars/Olympus"),
    ("at 16:00", "how often"),
    ("every day at 09:00 until 2025-01-01", "never"),
])
def test_bad_schedule_names_the_problem_and_the_form(text: str, problem: str) -> None:
    with pytest.raises(InputError) as err:
        parse_schedule(text, default_tz="UTC", today=TODAY)
    assert problem in str(err.value.params["problem"])
    assert err.value.usage_key == "schedule-meetup" and "{usage}" in err.value.msgid


def test_form_fields_give_the_same_schedule_as_text() -> None:
    form, _ = schedule_from_form({"schedule": "every 2nd tuesday", "time": "16:00", "timezone": "America/Montreal"},
                                 default_tz="UTC", today=TODAY)
    text, _ = parse_schedule("every 2nd tuesday at 16:00 America/Montreal", default_tz="UTC", today=TODAY)
    assert form == text


def test_trigger_fires_at_every_step_and_pickles() -> None:
    import pickle

    schedule, _ = parse_schedule("every 2nd tuesday at 16:00 America/Montreal", default_tz="UTC", today=TODAY)
    trigger = pickle.loads(pickle.dumps(RitualTrigger(schedule, (timedelta(days=-7), timedelta(hours=-1)))))
    first = trigger.get_next_fire_time(None, utc(2026, 1, 1))
    second = trigger.get_next_fire_time(first, utc(2026, 1, 1))
    assert local(first, "America/Montreal") == "2026-01-06 Tue 16:00"  # announcement, 7 days before
    assert local(second, "America/Montreal") == "2026-01-13 Tue 15:00"  # 1 hour before
