"""A coordinator manages a meetup on a real Synapse: list, edit (its dry run answered as a poll), skip."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from adapters.matrix.adapter import MatrixAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config, MatrixConfig
from bot.core import Steward
from bot.features import build_router
from bot.features.ritual_common import schedule_of
from rituals import jobs
from rituals.jobs import fire_ritual
from storage.db import Database
from storage.models import Ritual
from tests.matrix.conftest import Person
from tests.matrix.homeserver import Synapse

POLL = "org.matrix.msc3381.poll.start"


@pytest.fixture
async def coordinated(synapse: Synapse, db: Database, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Any]]:
    """`await start(ana)`: a room of Ana's with Steward in it, Ana its community's coordinator."""
    running: list[Steward] = []

    async def start(ana: Person) -> tuple[Steward, str, str]:
        account = synapse.register(f"steward_{uuid.uuid4().hex[:6]}")
        room = await ana.create_room(invite=(account.user_id,))
        monkeypatch.setenv("MATRIX_ACCESS_TOKEN", account.access_token)
        settings = MatrixConfig(homeserver=synapse.url, user_id=account.user_id, allowed_inviters=(ana.user_id,))
        config = Config(data_dir=tmp_path, matrix=settings, communities=(CommunityConfig(
            slug="k8s", name="Kubernetes CoP", channels=(f"matrix:{room}",), coordinators=(f"matrix:{ana.user_id}",)),))
        steward = Steward(db, config, build_router())
        await sync_communities(steward)
        steward.add_adapter(MatrixAdapter(settings, db, tmp_path, channels=frozenset((room,)), max_backoff=1.0))
        await steward.start_adapters()
        running.append(steward)
        await ana.wait_member(room, account.user_id)
        return steward, account.user_id, room

    yield start
    for steward in running:
        await steward.stop(grace=2)


async def _dm_from(ana: Person, bot_id: str) -> str:
    while not any(inviter == bot_id for inviter in ana.invites.values()):
        await ana.sync(500)
    room = next(r for r, inviter in ana.invites.items() if inviter == bot_id)
    if room not in ana.client.rooms:
        await ana.join(room)
    return room


async def _answer_poll(ana: Person, bot_id: str, option: str) -> str:
    """Answer the poll Steward sent to Ana's DM; returns the DM's id."""
    dm = await _dm_from(ana, bot_id)
    poll = await ana.wait_for(lambda e: e.get("sender") == bot_id and e["room_id"] == dm and e.get("type") == POLL,
                              "the dry run as a poll")
    assert option in [a["id"] for a in poll["content"][POLL]["answers"]]
    await ana.send(dm, {"m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
                        "org.matrix.msc3381.poll.response": {"answers": [option]}}, "org.matrix.msc3381.poll.response")
    return dm


async def test_list_edit_and_skip_on_a_real_homeserver(people: Any, coordinated: Any) -> None:
    ana = await people("ana")
    _steward, bot_id, room = await coordinated(ana)
    await ana.say(room, '!steward schedule meetup "Helm clinic" every 2nd tuesday at 16:00 America/Montreal')
    dm = await _answer_poll(ana, bot_id, "yes")
    saved = await ana.reply_from(bot_id, dm, "the confirmation")
    assert saved["content"]["body"].startswith("Saved: ritual 1")

    await ana.say(room, "!steward rituals")
    listing = await ana.reply_from(bot_id, room, "the listing")
    assert "every second Tuesday of the month at 16:00 (America/Montreal)" in listing["content"]["body"]

    await ana.say(room, "!steward add to agenda: our Helm 4 story")
    await ana.reply_from(bot_id, room, "the agenda item noted")
    await ana.say(room, "!steward edit ritual 1 every last friday at 15:00")
    await _answer_poll(ana, bot_id, "yes")
    assert (await ana.reply_from(bot_id, dm, "the edit saved"))["content"]["body"].startswith("Saved: ritual 1")
    await ana.say(room, "!steward agenda")
    agenda = (await ana.reply_from(bot_id, room, "the agenda"))["content"]["body"]
    assert "on Fri" in agenda and "our Helm 4 story" in agenda  # the item followed the new date

    await ana.say(room, "!steward skip next meetup")
    skipped = (await ana.reply_from(bot_id, room, "the skip"))["content"]["body"]
    assert skipped.startswith("Skipped “Helm clinic” on Fri") and "agenda moves" in skipped
    await ana.say(room, "!steward rituel 1")
    details = (await ana.reply_from(bot_id, room, "the details, in French"))["content"]["body"]
    assert "Quand\u00a0: le dernier vendredi de chaque mois à 15:00 (America/Montreal)" in details
    assert "Sautée\u00a0: ven." in details


async def _answer_room_poll(ana: Person, bot_id: str, room: str, option: str, what: str) -> dict[str, Any]:
    """Answer the next poll Steward posts in `room` (an announcement's RSVP, a follow-up's attendance)."""
    poll = await ana.wait_for(lambda e: e.get("sender") == bot_id and e["room_id"] == room and e.get("type") == POLL,
                              what)
    assert option in [a["id"] for a in poll["content"][POLL]["answers"]], poll["content"][POLL]["answers"]
    response = "org.matrix.msc3381.poll.response"
    await ana.send(room, {"m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
                          response: {"answers": [option]}}, response)
    return poll


async def _fire(steward: Steward, ritual_id: int, at: datetime) -> None:
    assert await fire_ritual(ritual_id, at, now=at + timedelta(seconds=5)) == 1
    await steward.delivery.idle()


async def test_a_meetup_through_its_life_on_a_real_homeserver(people: Any, coordinated: Any) -> None:
    """Rename, reminders, hosts, a past meetup's attendance and credit, its history, a move, the announcement's
    RSVP poll, the reminder's count, who is coming, cancel and resume; time moves by firing the ritual's steps."""
    ana = await people("ana")
    steward, bot_id, room = await coordinated(ana)
    jobs.bind(steward)
    try:
        since = (datetime.now(UTC) - timedelta(days=15)).date()
        await ana.say(room, f'!steward schedule meetup "Helm clinic" every tuesday at 16:00 UTC from {since}')
        dm = await _answer_poll(ana, bot_id, "yes")
        assert (await ana.reply_from(bot_id, dm, "saved"))["content"]["body"].startswith("Saved: ritual 1")

        async def said(text: str, where: str = room) -> str:
            await ana.say(room, f"!steward {text}")
            return str((await ana.reply_from(bot_id, where, text))["content"]["body"])

        assert "is now called “Helm and GitOps clinic”" in await said("rename ritual 1 Helm and GitOps clinic")
        assert "reminds 1d before it starts" in await said("edit ritual 1 reminders: 24h")
        assert "is now: Bring your charts" in await said("edit ritual 1 text: Bring your charts")
        async with steward.db.session() as session:
            ritual = (await session.exec(select(Ritual))).one()
        assert ritual.id is not None
        last = schedule_of(ritual).before(datetime.now(UTC))
        assert last is not None
        await _fire(steward, ritual.id, last + timedelta(hours=2))  # last Tuesday's follow-up: it happened
        await _answer_room_poll(ana, bot_id, room, "yes", "the follow-up's attendance poll")
        assert "Thanks for being there!" in (await ana.reply_from(bot_id, dm, "the thanks"))["content"]["body"]
        assert "hosted" in await said(f"host of meetup 1: {ana.user_id}")  # a past meetup: credited at once
        history = await said("history of ritual 1")
        assert "Past meetups of **Helm and GitOps clinic**" in history and "going 1, attended 1" in history
        assert ana.user_id.split(":")[0].lstrip("@") in history  # her name, as the host

        moved = await said("move meetup 1 to thursday 18:00")
        assert moved.startswith("Moved “Helm and GitOps clinic” from Tue") and "to Thu" in moved
        async with steward.db.session() as session:
            ritual = (await session.exec(select(Ritual))).one()
        occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
        assert occurrence.weekday() == 3 and occurrence.hour == 18
        await _fire(steward, ritual.id, occurrence - timedelta(days=7))
        poll = await _answer_room_poll(ana, bot_id, room, "going", "the announcement's RSVP poll")
        assert "Helm and GitOps clinic" in poll["content"]["body"] and "Bring your charts" in poll["content"]["body"]
        assert "Noted: Going." in (await ana.reply_from(bot_id, dm, "the answer noted"))["content"]["body"]
        await _fire(steward, ritual.id, occurrence - timedelta(hours=24))
        reminder = await ana.wait_for(lambda e: e.get("sender") == bot_id and e["room_id"] == room
                                      and "⏰" in str(e.get("content", {}).get("body", "")), "the reminder")
        assert "1 going, 0 maybe." in reminder["content"]["body"]
        coming = await said("who is coming")
        assert "Going: 1" in coming

        assert "Cancelled “Helm and GitOps clinic”" in await said("cancel ritual 1")
        assert (await said("resume ritual 1")).startswith("Resumed “Helm and GitOps clinic”; next: Thu")
        listing = await said("rituals")
        assert "every Tuesday at 16:00 (UTC)" in listing and "cancelled" not in listing
    finally:
        jobs.bind(None)


async def test_the_guided_dialogue_asks_everything_in_french_on_a_real_homeserver(people: Any,
                                                                                  coordinated: Any) -> None:
    """`planifier`: kind, frequency, day and time as polls in Ana's DM, then the title and the text as her next
    messages there, then the dates to confirm; the ritual posts what she wrote."""
    ana = await people("ana")
    _steward, bot_id, room = await coordinated(ana)
    await ana.say(room, "!steward langue fr")
    await ana.reply_from(bot_id, room, "the language")
    await ana.say(room, "!steward planifier")
    dm = await _answer_poll(ana, bot_id, "meetup")
    for option in ("second", "tuesday", "16:00"):
        await _answer_poll(ana, bot_id, option)
    assert "Quel est son titre\u202f?" in (await ana.reply_from(bot_id, dm, "the title asked"))["content"]["body"]
    await ana.say(dm, "Clinique Helm")
    asked = (await ana.reply_from(bot_id, dm, "the text asked"))["content"]["body"]
    assert "Que doit dire l'annonce" in asked
    await ana.say(dm, "Apportez vos questions Helm")
    await _answer_poll(ana, bot_id, "yes")
    saved = (await ana.reply_from(bot_id, dm, "saved"))["content"]["body"]
    assert saved.startswith("Enregistré\u00a0: rituel 1 «\u00a0Clinique Helm\u00a0»")
    await ana.say(room, "!steward rituel 1")
    details = (await ana.reply_from(bot_id, room, "the details"))["content"]["body"]
    assert "le deuxième mardi de chaque mois à 16:00" in details and "Apportez vos questions Helm" in details
