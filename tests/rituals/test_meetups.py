"""Meetup steps run by calling the job target with a chosen "now": announce, RSVP, agenda, reminders, notes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.features.ritual_common import schedule_of
from bot.replies import AskChoice, Post
from rituals.jobs import fire_ritual
from storage import outbox
from storage.models import InboundEvent
from storage.rituals import attendance
from tests.events import command, pick
from tests.rituals.conftest import Bot, make_ritual

SPEC = '"Helm clinic" every 2nd tuesday at 16:00 America/Montreal'


async def test_agenda_announcement_rsvp_reminder_follow_up(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, SPEC)
    assert ritual.id is not None
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    await platform.inject(command("add to agenda: our Helm 4 upgrade story", user="UANA"))
    assert "Helm 4" in platform.texts()[-1] and "Helm clinic" in platform.texts()[-1]

    announce = occurrence - timedelta(days=7)
    assert await fire_ritual(ritual.id, announce, now=announce + timedelta(seconds=5)) == 1
    ask = platform.sent[-1]
    assert isinstance(ask, AskChoice) and ask.channel == "C1" and ask.key.startswith("rsvp:")
    assert "our Helm 4 upgrade story (Uana)" in ask.text and "16:00" in ask.text
    assert {o.id for o in ask.options} == {"going", "maybe", "no"}

    await platform.inject(command("add to agenda: GitOps with Argo", user="UANA"))
    assert "closed" in platform.texts()[-1]  # the announcement closed this one: it goes to the next meetup

    await platform.inject(pick(ask.key, "going", user="UANA"))
    await platform.inject(pick(ask.key, "maybe", user="UBOB"))
    await platform.inject(pick(ask.key, "going", user="UBOB"))  # a change of mind
    remind = occurrence - timedelta(hours=1)
    assert await fire_ritual(ritual.id, remind, now=remind) == 1
    assert "2 going, 0 maybe" in platform.texts()[-1]

    follow = occurrence + timedelta(hours=2)
    assert await fire_ritual(ritual.id, follow, now=follow) == 1
    thanks = platform.sent[-1]
    assert isinstance(thanks, AskChoice) and f"notes for meetup {ritual.id}" in thanks.text
    await platform.inject(pick(thanks.key, "yes", user="UANA"))
    async with steward.db.session() as session:
        figures = await attendance(session, ritual.community_id)
    assert [(m.starts_at, going, came) for m, going, came in figures if going] == [(occurrence, 2, 1)]


async def test_a_step_is_delivered_once_even_when_fired_twice(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, SPEC)
    assert ritual.id is not None
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    before = len(platform.sent)
    fire = occurrence - timedelta(hours=1)
    assert await fire_ritual(ritual.id, fire, now=fire) == 1
    assert await fire_ritual(ritual.id, fire, now=fire + timedelta(minutes=1)) == 0
    assert len(platform.sent) == before + 1
    await steward.delivery.idle()
    key = f"{ritual.id}:{occurrence:%Y%m%dT%H%M%SZ}:remind-1h"
    async with steward.db.session() as session:
        claimed = await session.get(InboundEvent, f"ritual:{key}")
        assert claimed is not None and claimed.status == "done"
        sent = await outbox.message_of(session, key)  # the step's message, found by its key
    assert sent is not None and sent[2].startswith("sent-")


async def test_misfire_within_grace_fires_older_is_skipped_and_logged(ritual_bot: Bot,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    _, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, SPEC)
    assert ritual.id is not None
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    before = len(platform.sent)
    late = occurrence - timedelta(hours=1)
    assert await fire_ritual(ritual.id, late, now=late + timedelta(minutes=50)) == 1  # within the 1 h grace
    too_late = occurrence - timedelta(days=1)
    with caplog.at_level(logging.WARNING, logger="rituals.jobs"):
        assert await fire_ritual(ritual.id, too_late, now=too_late + timedelta(hours=3)) == 0
    assert len(platform.sent) == before + 1
    assert any("missed by" in r.getMessage() and "Helm clinic" in r.getMessage() for r in caplog.records)


async def test_paused_ritual_posts_nothing_until_resumed(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, SPEC)
    assert ritual.id is not None
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    await platform.inject(command(f"pause ritual {ritual.id}", user="UCOORD"))
    fire = occurrence - timedelta(hours=1)
    assert await fire_ritual(ritual.id, fire, now=fire) == 0
    await platform.inject(command(f"resume ritual {ritual.id}", user="UCOORD"))
    assert await fire_ritual(ritual.id, fire, now=fire) == 1


async def test_notes_are_kept_with_the_last_meetup(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, SPEC + " from 2026-01-01")
    await platform.inject(command(f"notes for meetup {ritual.id}: https://example.org/helm-notes", user="UANA"))
    assert "Thanks" in platform.texts()[-1]
    from storage.rituals import latest_meetup

    async with steward.db.session() as session:
        meetup = await latest_meetup(session, ritual.id or 0, datetime.now(UTC))
    assert meetup is not None and meetup.notes_url == "https://example.org/helm-notes"
    await platform.inject(command(f"notes for meetup {ritual.id} the link", user="UANA"))
    assert "notes for meetup 3: https://example.org/notes" in platform.texts()[-1]


async def test_reminder_ritual_posts_its_text(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Share your wins of the week" every friday at 15:00', kind="reminder")
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    assert await fire_ritual(ritual.id or 0, occurrence, now=occurrence) == 1
    assert platform.sent[-1] == Post(channel="C1", text="🔔 Share your wins of the week")
