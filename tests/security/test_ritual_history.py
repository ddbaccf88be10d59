"""Rituals managed from chat without corrupting their history (issue 16, point 1).

Each test is a defect seen by a coordinator: an edit that left the agenda on an orphan date and
credited hosts for a meetup that never happened (and listed it twice in the digest), commands that
were not understood (`rename ritual`, `delete ritual`, `skip next meetup`, `agenda`, `who is coming`),
English leaking into French listings, drafts kept for ever, a guided dialogue that never asked a
title or a text. Time moves by firing the scheduler's job target at chosen instants, and by stamping
chat events with a later time.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Calendar
from sqlmodel import col, select

from bot.digest.report import build_digest
from bot.events import Event
from bot.features.ritual_common import schedule_of
from bot.i18n import translator
from bot.replies import AskChoice, Post
from bot.scheduling import run_due
from rituals.ical import community_calendar
from rituals.jobs import fire_ritual
from rituals.setup import sync_config_rituals
from storage.models import Community, Contribution, Meetup, Member, Ritual
from tests.events import command, pick
from tests.rituals.conftest import COORD, Bot, make_ritual

DAY = timedelta(days=1)


def later(event: Event, at: datetime) -> Any:
    """The same event, happening at `at` (the clock moved forward)."""
    return dataclasses.replace(event, at=at)


def _start(days: int) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).date()


async def _ritual(bot: Bot, ritual_id: int) -> Ritual:
    async with bot[0].db.session() as session:
        ritual = await session.get(Ritual, ritual_id)
    assert ritual is not None
    return ritual


async def _rows(bot: Bot, ritual_id: int) -> list[Meetup]:
    async with bot[0].db.session() as session:
        stmt = select(Meetup).where(Meetup.ritual_id == ritual_id).order_by(col(Meetup.starts_at))
        return list((await session.exec(stmt)).all())


async def _meet(bot: Bot, *names: str) -> None:
    """Members Steward knows by these names (a coordinator can only name people it knows: bot/mentioned.py)."""
    from storage.members import ensure_member

    async with bot[0].db.session() as session:
        community = (await session.exec(select(Community))).first()
        assert community is not None and community.id is not None
        for name in names:
            await ensure_member(session, community.id, "recording", name, display_name=name)


async def _hosted(bot: Bot) -> list[tuple[str, datetime]]:
    async with bot[0].db.session() as session:
        stmt = select(Member.display_name, Contribution.at).join(Member, col(Member.id) == col(Contribution.member_id))
        return sorted((n, a) for n, a in (await session.exec(stmt.where(Contribution.kind == "hosted"))).all())


async def _fire(ritual_id: int, at: datetime) -> int:
    return await fire_ritual(ritual_id, at, now=at)


async def _confirm(bot: Bot) -> None:
    ask = bot[1].sent[-1]
    assert isinstance(ask, AskChoice), bot[1].texts()[-1]
    await bot[1].inject(pick(ask.key, "yes", user=COORD))


async def test_an_edit_keeps_agenda_answers_and_hosts_with_the_next_meetup(ritual_bot: Bot) -> None:
    await _meet(ritual_bot, "ana", "bruno")
    steward, platform = ritual_bot
    start = _start(30)
    ritual = await make_ritual(ritual_bot, f'"Helm clinic" every 2nd tuesday at 16:00 America/Montreal from {start}')
    assert ritual.id is not None
    old = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    await platform.inject(command("add to agenda: our Helm 4 story", user="UANA"))
    [row] = await _rows(ritual_bot, ritual.id)
    await platform.inject(pick(f"rsvp:{row.id}", "going", user="UANA"))
    await platform.inject(command(f"host of meetup {ritual.id}: @ana @bruno", user=COORD))
    assert "credited once it has happened" in platform.texts()[-1]
    assert await _hosted(ritual_bot) == []  # named, not yet credited: it has not happened

    await platform.inject(command(f"edit ritual {ritual.id} every last friday at 15:00 from {start + 10 * DAY}",
                                  user=COORD))
    await _confirm(ritual_bot)
    new = schedule_of(await _ritual(ritual_bot, ritual.id)).next(datetime.now(UTC), 1)[0]
    assert new != old
    assert [(m.id, m.starts_at, m.status) for m in await _rows(ritual_bot, ritual.id)] == [(row.id, new, "planned")]

    assert await _fire(ritual.id, old - 7 * DAY) == 0  # the old date is gone: nothing announced for it
    assert await _fire(ritual.id, new - 7 * DAY) == 1
    announcement = platform.sent[-1]
    assert isinstance(announcement, AskChoice) and announcement.key == f"rsvp:{row.id}"
    assert "our Helm 4 story (Uana)" in announcement.text and "Hosted by ana, bruno." in announcement.text
    assert await _fire(ritual.id, new - timedelta(hours=1)) == 1
    assert "1 going" in platform.texts()[-1]  # Ana's answer came along
    assert await _hosted(ritual_bot) == []
    assert await _fire(ritual.id, new + timedelta(hours=2)) == 1  # the follow-up: it happened
    assert await _hosted(ritual_bot) == [("ana", new), ("bruno", new)]

    async with steward.db.session() as session:
        community = (await session.exec(select(Community).where(Community.slug == "k8s"))).one()
        listed = [line.title for month in {old.date().replace(day=1), new.date().replace(day=1)}
                  for line in (await build_digest(session, community, steward.config.community("k8s"), month,
                                                  translator("en"), now=new + timedelta(days=1))).meetups]
    assert listed == ["Helm clinic"]  # once, on its real date


async def test_a_skipped_meetup_never_happens_and_its_agenda_moves_on(ritual_bot: Bot) -> None:
    await _meet(ritual_bot, "ana", "bruno")
    _steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, f'"Helm clinic" every 2nd tuesday at 16:00 America/Montreal from '
                                           f'{_start(20)}')
    assert ritual.id is not None
    first, second = schedule_of(ritual).next(datetime.now(UTC), 2)
    await platform.inject(command("add to agenda: GitOps with Argo", user="UANA"))
    await platform.inject(command(f"host of next meetup {ritual.id}: @ana", user=COORD))
    await platform.inject(command("skip next meetup", user=COORD))
    assert platform.texts()[-1].startswith("Skipped “Helm clinic” on ") and "agenda moves" in platform.texts()[-1]
    for step in (first - 7 * DAY, first - timedelta(hours=1), first + timedelta(hours=2)):
        assert await _fire(ritual.id, step) == 0
    assert await _fire(ritual.id, second - 7 * DAY) == 1
    assert "GitOps with Argo" in platform.texts()[-1]
    assert await _fire(ritual.id, second + timedelta(hours=2)) == 1
    assert await _hosted(ritual_bot) == []  # Ana was to host the skipped one, which never happened
    await platform.inject(later(command(f"history of ritual {ritual.id}", user=COORD), second + DAY))
    history = platform.texts()[-1]
    assert "skipped" in history and "going 0, attended 0" in history
    async with _steward.db.session() as session:
        community = (await session.exec(select(Community).where(Community.slug == "k8s"))).one()
        digest = await build_digest(session, community, None, first.date(), translator("en"),
                                    now=second + timedelta(days=1))
    assert len(digest.meetups) == (1 if (first.year, first.month) == (second.year, second.month) else 0)


async def test_moving_one_meetup_moves_its_announcement_agenda_and_credits(ritual_bot: Bot) -> None:
    await _meet(ritual_bot, "ana", "bruno")
    _steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, f'"Helm clinic" every 2nd tuesday at 16:00 America/Montreal from '
                                           f'{_start(20)}')
    assert ritual.id is not None
    schedule = schedule_of(ritual)
    old, following = schedule.next(datetime.now(UTC), 2)
    await platform.inject(command("add to agenda: our Helm 4 story", user="UANA"))
    await platform.inject(command(f"host of next meetup {ritual.id}: @bruno", user=COORD))
    await platform.inject(command(f"move meetup {ritual.id} to friday 18:00", user=COORD))
    assert platform.texts()[-1].startswith("Moved “Helm clinic” from "), platform.texts()[-1]
    new = schedule.localise(schedule.local(old).replace(hour=18) + 3 * DAY)  # the Friday after that Tuesday
    assert schedule_of(await _ritual(ritual_bot, ritual.id)).next(datetime.now(UTC), 2) == [new, following]
    assert await _fire(ritual.id, old - 7 * DAY) == 0
    assert await _fire(ritual.id, new - 7 * DAY) == 1
    assert "our Helm 4 story" in platform.texts()[-1] and "Fri" in platform.texts()[-1]
    assert await _fire(ritual.id, new - timedelta(hours=1)) == 1  # the reminders follow the new time
    assert await _fire(ritual.id, new + timedelta(hours=2)) == 1
    assert await _hosted(ritual_bot) == [("bruno", new)]
    [event] = Calendar.from_ical(await community_calendar(ritual_bot[0].db, "k8s")).walk("VEVENT")
    listed = {kind: [d.dt for value in (event.get(kind) if isinstance(event.get(kind), list) else [event.get(kind)])
                     for d in value.dts] for kind in ("exdate", "rdate")}
    assert old in listed["exdate"] and listed["rdate"] == [new]  # calendars see the move too


async def test_rename_delete_and_resume_are_understood(ritual_bot: Bot) -> None:
    _steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00 America/Montreal')
    await platform.inject(command(f"rename ritual {ritual.id} Helm and GitOps clinic", user=COORD))
    assert (await _ritual(ritual_bot, ritual.id or 0)).title == "Helm and GitOps clinic"
    await platform.inject(command(f"delete ritual {ritual.id}", user=COORD))
    assert "edit ritual 3" not in platform.texts()[-1]
    assert (await _ritual(ritual_bot, ritual.id or 0)).status == "cancelled"
    await platform.inject(command("rituals", user=COORD))
    assert f"resume ritual {ritual.id}" in platform.texts()[-1]
    await platform.inject(command(f"resume ritual {ritual.id}", user=COORD))
    assert (await _ritual(ritual_bot, ritual.id or 0)).status == "active"


async def test_french_listing_speaks_french_schedules_and_built_in_titles(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    await sync_config_rituals(steward.db, steward.config)
    await make_ritual(ritual_bot, '"Clinique Helm" every last friday at 15:00 Europe/Paris')
    await platform.inject(command("language fr", user=COORD))
    await platform.inject(command("rituels", user=COORD))
    listing = platform.texts()[-1]
    for english in ("every", "What next?", "Anniversaries", "Sponsor digest", "next", " at "):
        assert english not in listing, (english, listing)
    assert "le dernier vendredi de chaque mois à 15:00 (Europe/Paris)" in listing, listing
    assert "Et ensuite\u202f?" in listing and "Anniversaires" in listing and "prochaine" in listing


async def test_an_abandoned_draft_expires_and_a_late_yes_says_so(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    await platform.inject(command('schedule meetup "Helm clinic" every 2nd tuesday at 16:00', user=COORD))
    ask = platform.sent[-1]
    assert isinstance(ask, AskChoice)
    draft_id = int(ask.key.rsplit(":", 1)[1])
    await run_due(steward, datetime.now(UTC) + timedelta(hours=23), ("ritual.expire",))
    async with steward.db.session() as session:
        assert await session.get(Ritual, draft_id) is not None  # a day to answer
    await run_due(steward, datetime.now(UTC) + timedelta(hours=25), ("ritual.expire",))
    async with steward.db.session() as session:
        assert await session.get(Ritual, draft_id) is None
    await platform.inject(pick(ask.key, "yes", user=COORD))
    assert "expired" in platform.texts()[-1]

    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00')
    await platform.inject(command(f"edit ritual {ritual.id} every friday at 10:00", user=COORD))
    edit = platform.sent[-1]
    assert isinstance(edit, AskChoice)
    await run_due(steward, datetime.now(UTC) + timedelta(hours=25), ("ritual.expire",))
    await platform.inject(pick(edit.key, "yes", user=COORD))
    assert "expired" in platform.texts()[-1]
    assert (await _ritual(ritual_bot, ritual.id or 0)).rrule == "FREQ=MONTHLY;BYDAY=+2TU"


async def _guided(bot: Bot, kind: str, title: str, text: str) -> Ritual:
    _steward, platform = bot
    for answer in (kind, "weekly", "friday", "16:00"):
        ask = platform.sent[-1]
        assert isinstance(ask, AskChoice), platform.texts()[-1]
        await platform.inject(pick(ask.key, answer, user=COORD))
    await platform.inject(command(title, user=COORD))
    await platform.inject(command(text, user=COORD))
    await _confirm(bot)
    async with bot[0].db.session() as session:
        ritual = (await session.exec(select(Ritual).where(Ritual.status == "active")
                                     .order_by(col(Ritual.id).desc()))).first()
    assert ritual is not None
    return ritual


async def test_the_guided_dialogue_asks_a_title_and_a_text_in_both_languages(ritual_bot: Bot) -> None:
    _steward, platform = ritual_bot
    await platform.inject(command("schedule", user=COORD))
    ritual = await _guided(ritual_bot, "reminder", "Share your wins", "One line each, in this thread.")
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    assert await _fire(ritual.id or 0, occurrence) == 1
    assert platform.sent[-1] == Post(channel="C1", text="🔔 **Share your wins**\nOne line each, in this thread.")

    await platform.inject(command("langue fr", user=COORD))
    await platform.inject(command("planifier", user=COORD))
    assert platform.texts()[-1] == "Mettons en place un rituel. De quel type\u202f?"
    ritual = await _guided(ritual_bot, "reminder", "Partagez vos victoires", "-")
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    assert await _fire(ritual.id or 0, occurrence) == 1
    assert platform.sent[-1] == Post(channel="C1", text="🔔 Partagez vos victoires")  # never "🔔 Rappel"


async def test_agenda_and_who_is_coming_counts_for_members_names_for_coordinators(ritual_bot: Bot) -> None:
    _steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00 America/Montreal')
    await platform.inject(command("agenda", user="UANA"))
    assert "Nothing on the agenda of **Helm clinic**" in platform.texts()[-1]
    await platform.inject(command("add to agenda: our Helm 4 story", user="UANA"))
    await platform.inject(command("agenda", user="UBOB"))
    assert "- our Helm 4 story (Uana)" in platform.texts()[-1]
    [row] = await _rows(ritual_bot, ritual.id or 0)
    await platform.inject(pick(f"rsvp:{row.id}", "going", user="UANA"))
    await platform.inject(pick(f"rsvp:{row.id}", "maybe", user="UBOB"))
    await platform.inject(command("who is coming?", user="UBOB"))
    answer = platform.texts()[-1]
    assert "- Going: 1" in answer and "- Maybe: 1" in answer and "Uana" not in answer
    await platform.inject(command(f"who is coming {ritual.id}", user=COORD))
    assert "- Going: 1 (Uana)" in platform.texts()[-1] and "- Maybe: 1 (" in platform.texts()[-1]
    await platform.inject(command("qui vient", user="UBOB"))
    assert "- J'y serai\u00a0: 1" in platform.texts()[-1]


async def test_title_channel_text_and_reminders_change_from_chat(ritual_bot: Bot) -> None:
    _steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00 America/Montreal')
    rid = ritual.id or 0
    await platform.inject(command(f"edit ritual {rid} text: Bring your charts", user=COORD))
    await platform.inject(command(f"edit ritual {rid} reminders: 2 days, 3h", user=COORD))
    assert "2d, 3h" in platform.texts()[-1]
    await platform.inject(command(f"edit ritual {rid} channel: #nowhere", user=COORD))
    assert "I don't know the channel #nowhere" in platform.texts()[-1]
    await platform.inject(command(f"ritual {rid}", user=COORD))
    details = platform.texts()[-1]
    assert "Text: Bring your charts" in details and "reminders 2d, 3h before" in details
    occurrence = schedule_of(await _ritual(ritual_bot, rid)).next(datetime.now(UTC), 1)[0]
    assert await _fire(rid, occurrence - timedelta(hours=1)) == 0  # no 1 h reminder any more
    assert await _fire(rid, occurrence - timedelta(hours=3)) == 1
    assert await _fire(rid, occurrence - 7 * DAY) == 1
    assert "Bring your charts" in platform.texts()[-1]


async def test_config_rituals_refuse_edits_but_keep_a_skip_across_restarts(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    await sync_config_rituals(steward.db, steward.config)
    async with steward.db.session() as session:
        built_in = (await session.exec(select(Ritual).where(Ritual.kind == "anniversaries"))).one()
    await platform.inject(command(f"rename ritual {built_in.id} Birthdays", user=COORD))
    assert "configuration file" in platform.texts()[-1]
    _first, second = schedule_of(built_in).next(datetime.now(UTC), 2)
    await platform.inject(command(f"skip ritual {built_in.id}", user=COORD))
    await sync_config_rituals(steward.db, steward.config)  # a restart
    assert schedule_of(await _ritual(ritual_bot, built_in.id or 0)).next(datetime.now(UTC), 1) == [second]


async def test_bad_input_is_answered_with_how_to_fix_it(ritual_bot: Bot) -> None:
    _steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00 America/Montreal')
    rid = ritual.id or 0
    answers = {}
    for text in (f"move meetup {rid} to blue moon", f"move meetup {rid} friday", f"move meetup {rid} to 2020-01-01",
                 f"move meetup {rid} to 2027-02-30", "skip ritual 99", f"skip ritual {rid} on 2031-01-01",
                 f"edit ritual {rid} reminders: lots", f"edit ritual {rid} reminders: 900d", f"rename ritual {rid}",
                 "agenda helm", "who is coming 99", f"edit ritual {rid}", f"history of ritual {rid}x"):
        await platform.inject(command(text, user=COORD))
        answers[text] = platform.texts()[-1]
    assert "I don't know the word “blue”" in answers[f"move meetup {rid} to blue moon"]
    assert "`move meetup 3 to friday 16:00`" in answers[f"move meetup {rid} friday"]
    assert "is already past" in answers[f"move meetup {rid} to 2020-01-01"]
    assert "is not a date" in answers[f"move meetup {rid} to 2027-02-30"]
    assert "There is no ritual 99 here" in answers["skip ritual 99"]
    assert "does not take place on 2031-01-01" in answers[f"skip ritual {rid} on 2031-01-01"]
    assert "`reminders: 24h 1h`" in answers[f"edit ritual {rid} reminders: lots"]
    assert "at most 30 days" in answers[f"edit ritual {rid} reminders: 900d"]
    assert "tell me the new title too" in answers[f"rename ritual {rid}"]
    assert "`add to agenda: our Helm 4 upgrade story`" in answers["agenda helm"]
    assert "There is no meetup 99 here" in answers["who is coming 99"]
    assert "`title: …`" in answers[f"edit ritual {rid}"]
    assert "`history of ritual 3`" in answers[f"history of ritual {rid}x"]
    for text, answer in answers.items():
        assert "Sorry" not in answer and "Traceback" not in answer, (text, answer)
    assert (await _ritual(ritual_bot, rid)).revision == ritual.revision  # nothing changed


async def test_each_change_has_its_french_form(ritual_bot: Bot) -> None:
    await _meet(ritual_bot, "ana", "bruno")
    _steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, f'"Helm clinic" every 2nd tuesday at 16:00 America/Montreal from '
                                           f'{_start(20)}')
    rid = ritual.id or 0
    schedule = schedule_of(ritual)
    first, second = schedule.next(datetime.now(UTC), 2)
    day = schedule.local(second).date()
    await platform.inject(command("langue fr", user=COORD))
    for text, expected in ((f"déplacer la rencontre {rid} au vendredi 16h00", "est déplacé du"),
                           (f"déplacer rituel {rid} le {day} au {day + 3 * DAY} à 18h30", "est déplacé du"),
                           (f"hôte de la prochaine rencontre {rid} : @ana", "C'est noté\u00a0: ana animera"),
                           (f"modifier rituel {rid} hôtes : @bruno", "C'est noté\u00a0: bruno animera"),
                           (f"modifier rituel {rid} canal : #C1", "publie désormais dans"),
                           (f"modifier rituel {rid} rappels : aucun", "n'envoie plus de rappel"),
                           (f"renommer rituel {rid} : Clinique Helm", "désormais «\u00a0Clinique Helm\u00a0»"),
                           (f"historique du rituel {rid}", "n'a pas encore de rencontre passée"),
                           (f"supprimer le rituel {rid}", "est annulé"),
                           (f"reprendre rituel {rid}", "reprend")):
        await platform.inject(command(text, user=COORD))
        assert expected in platform.texts()[-1], (text, platform.texts()[-1])
    moved = schedule_of(await _ritual(ritual_bot, rid))
    assert moved.next(datetime.now(UTC), 2) == [
        schedule.localise(schedule.local(first).replace(hour=16) + 3 * DAY),
        schedule.localise(datetime.combine(day + 3 * DAY, schedule.local(second).time()).replace(hour=18, minute=30))]
