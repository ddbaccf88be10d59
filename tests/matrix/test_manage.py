"""A coordinator runs the community's settings and closes a survey early on a real Synapse (issue 16)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.adapter import MatrixAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config, MatrixConfig
from bot.core import Steward
from bot.features import build_router
from storage.db import Database
from tests.matrix.conftest import WAIT, Person
from tests.matrix.homeserver import Synapse
from tests.matrix.test_private_survey import _poll_in_dm

POLL = "org.matrix.msc3381.poll.start"


@pytest.fixture
async def coordinated(synapse: Synapse, db: Database, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Any]]:
    """`await start(ana, bruno)`: a room of Ana's with Bruno and Steward in it, Ana its community's coordinator."""
    running: list[Steward] = []

    async def start(ana: Person, bruno: Person) -> tuple[str, str]:
        account = synapse.register(f"steward_{uuid.uuid4().hex[:6]}")
        room = await ana.create_room(invite=(account.user_id, bruno.user_id))
        await bruno.join(room)
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
        return account.user_id, room

    yield start
    for steward in running:
        await steward.stop(grace=2)


async def _dm(person: Person, bot_id: str) -> str:
    """The direct-message room Steward opened with `person` (joined)."""
    deadline = time.monotonic() + WAIT
    while not any(inviter == bot_id for inviter in person.invites.values()):
        assert time.monotonic() < deadline, f"{person.user_id} waited {WAIT}s for Steward's direct message"
        await person.sync(500)
    room = next(r for r, inviter in person.invites.items() if inviter == bot_id)
    if room not in person.client.rooms:
        await person.join(room)
    return room


async def _privately(person: Person, bot_id: str, what: str) -> str:
    """The body of the next direct message Steward sends `person`."""
    dm = await _dm(person, bot_id)
    return str((await person.reply_from(bot_id, dm, what))["content"]["body"])


async def test_settings_and_closing_a_survey_early_on_a_real_homeserver(people: Any, coordinated: Any) -> None:
    ana, bruno = await people("ana"), await people("bruno")
    bot_id, room = await coordinated(ana, bruno)

    await ana.say(room, "!steward settings")
    shown = await _privately(ana, bot_id, "the settings")
    assert shown.startswith("⚙️ Settings of **Kubernetes CoP**:") and "- Time zone: UTC (from the config file)" in shown
    await ana.say(room, "!steward set time zone Europe/Paris")
    assert (await _privately(ana, bot_id, "the change")).startswith("✅ Time zone: UTC → Europe/Paris.")
    await bruno.say(room, "!steward set time zone UTC")
    await bruno.wait_for(lambda e: e.get("sender") == bot_id and e["room_id"] == room and "Only this community's "
                         "coordinators" in str(e.get("content", {}).get("body", "")), "the refusal, in the room")

    await ana.say(room, '!steward survey now "How was the clinic?" emoji')
    dm, poll = await _poll_in_dm(bruno, bot_id)  # a survey is answered in each member's DM, never in the room
    answers = [a["id"] for a in poll["content"][POLL]["answers"]]
    await bruno.send(dm, {"m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
                          "org.matrix.msc3381.poll.response": {"answers": [answers[4]]}},
                     "org.matrix.msc3381.poll.response")
    thanks = await bruno.reply_from(bot_id, dm, "the thanks for answering")
    assert "anonymous" in thanks["content"]["body"]

    await ana.say(room, "!steward close survey 1")
    results = await ana.wait_for(lambda e: e.get("sender") == bot_id and e["room_id"] == room
                                 and "📊" in str(e.get("content", {}).get("body", "")), "the results in the room")
    body = results["content"]["body"]
    assert "Results of the pulse survey “How was the clinic?”: 1 person answered." in body
    assert "Fewer than 5 answers" in body  # one answer: nothing shown, as at a scheduled closing
    assert (await _privately(ana, bot_id, "the closing")).startswith("Closed survey 1 “How was the clinic?”")

    await ana.say(room, "!steward langue fr")
    await ana.wait_for(lambda e: e.get("sender") == bot_id and e["room_id"] == room
                       and "français" in str(e.get("content", {}).get("body", "")), "the language, in the room")
    await ana.say(room, "!steward réglages")
    french = await _privately(ana, bot_id, "the settings in French")
    assert french.startswith("⚙️ Réglages de la communauté **Kubernetes CoP**\u00a0:")
    assert "- Fuseau horaire\u00a0: Europe/Paris" in french
    await ana.say(room, "!steward résultats du sondage 1")
    assert "Sondage 1, clos le " in await _privately(ana, bot_id, "the results again")


async def test_roles_core_stats_a_recurring_pulse_and_an_export_on_a_real_homeserver(people: Any,
                                                                                    coordinated: Any) -> None:
    """`set purpose`, `add sponsor`, `who is core` (names for Ana who coordinates, a count for Bruno who now
    sponsors), `stats`, a recurring pulse saved from its dry-run poll, `surveys`, `close survey`, `export survey`."""
    ana, bruno = await people("ana"), await people("bruno")
    bot_id, room = await coordinated(ana, bruno)

    async def said(person: Person, text: str, having: str, *rooms: str) -> str:
        await person.say(room, f"!steward {text}")
        found = await person.wait_for(lambda e: e.get("sender") == bot_id and e["room_id"] in (room, *rooms)
                                      and having in str(e.get("content", {}).get("body", "")), text)
        return str(found["content"]["body"])

    await ana.say(room, "!steward set purpose Helping each other run Kubernetes")
    assert (await _privately(ana, bot_id, "the purpose")).startswith("✅ Purpose: ")
    ana_dm = await _dm(ana, bot_id)
    for n in range(8):  # Bruno writes enough this month to be in the core group
        await bruno.say(room, f"Here is how we roll out Helm charts, step {n}.")
    await said(ana, f"add sponsor {bruno.user_id}", "✅ Sponsors: ", ana_dm)
    history = await said(ana, "settings history", "Purpose", ana_dm)
    assert "Sponsors" in history and ", by " in history
    month = f"{datetime.now(UTC):%Y-%m}"
    named = await said(ana, f"who is core {month}", "Core group of ", ana_dm)
    assert bruno.user_id.split(":")[0].lstrip("@") in named
    await bruno.say(room, f"!steward who is core {month}")
    counted = await _privately(bruno, bot_id, "the core group, counted")
    assert "- Core: 1" in counted and bruno.user_id.split(":")[0].lstrip("@") not in counted
    bruno_dm = await _dm(bruno, bot_id)
    assert "- Core group: 1 (" in await said(bruno, "stats", "in numbers", bruno_dm)

    await ana.say(room, '!steward survey "Monthly pulse?" scale 1-5 every month on the 1st at 10:00')
    dry_run = await ana.wait_for(lambda e: e.get("sender") == bot_id and e["room_id"] == ana_dm
                                 and e.get("type") == POLL, "the pulse's dates, as a poll")
    assert "would open on these dates" in dry_run["content"]["body"]
    await ana.send(ana_dm, {"m.relates_to": {"rel_type": "m.reference", "event_id": dry_run["event_id"]},
                            "org.matrix.msc3381.poll.response": {"answers": ["yes"]}},
                   "org.matrix.msc3381.poll.response")
    await said(ana, 'survey now "Mood?" emoji', "Mood?")
    listing = await said(bruno, "surveys", "Pulse surveys of", bruno_dm)
    assert "“Monthly pulse?”: every month on the 1st at 10:00; next run " in listing
    assert "“Mood?”: closes " in listing
    await said(ana, "close survey 1", "Closed survey 1", ana_dm)
    exported = await said(ana, "export survey 1", '"survey","title"', ana_dm)
    assert '"Mood?"' in exported and "fewer than 5" in exported  # nobody answered: no figure
