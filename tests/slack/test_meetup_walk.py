"""A French coordinator runs a meetup through its life on Slack, through bolt's signed request pipeline (issue 16,
point 1): the community set to French, a new meetup moved to another channel with a host and a reminder, its
announcement, an answer, the reminder's count, the follow-up's attendance and credit, the history, a cancel and
a resume. Time moves by firing the ritual's steps at their instants."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from bot.config import Config
from bot.features.ritual_common import schedule_of
from rituals import jobs
from rituals.jobs import fire_ritual
from storage.db import Database
from storage.models import Contribution, Ritual
from tests.slack.conftest import Running, Slack, click, event_body, msg, slack_config, start_bot
from tests.slack.fake_slack import FakeSlack

_n = itertools.count(1)


@pytest.fixture
async def two_channels(db: Database, config: Config, fake_slack: FakeSlack) -> AsyncIterator[Running]:
    """Steward on Slack for community k8s in C1 and C2, its ritual steps fired by the tests."""
    base = slack_config(config)
    cfg = dataclasses.replace(base, communities=(dataclasses.replace(base.communities[0],
                                                                     channels=("slack:C1", "slack:C2")),))
    steward, adapter = await start_bot(db, cfg, fake_slack)
    jobs.bind(steward)
    async with aiohttp.ClientSession() as session:
        yield Running(steward, adapter, fake_slack, Slack(adapter.url, session))
        jobs.bind(None)
        await steward.stop()


async def _say(running: Running, text: str, user: str = "UCOORD") -> str:
    await running.slack.command("/steward", text, user=user)
    await running.settle()
    return running.texts("chat.postEphemeral")[-1]


async def _tap(running: Running, value: str) -> str:
    ask = running.fake.called("chat.postEphemeral")[-1]
    button = next(b for b in ask["blocks"][-1]["elements"] if b["value"] == value)
    await running.slack.interaction(click(button["action_id"], value, user="UCOORD"))
    await running.settle()
    return running.texts("chat.postEphemeral")[-1]


async def _fire(running: Running, ritual_id: int, at: datetime) -> dict[str, Any]:
    """Fire the step due at `at`; the message it posted."""
    before = len(running.fake.called("chat.postMessage"))
    assert await fire_ritual(ritual_id, at, now=at + timedelta(seconds=5)) == 1
    await running.steward.delivery.idle()
    await running.settle()
    [posted] = running.fake.called("chat.postMessage")[before:]
    return posted.args


def _button(posted: dict[str, Any], value: str) -> dict[str, Any]:
    return next(e for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"] if e["value"] == value)


async def test_a_meetup_through_its_life_in_french_on_slack(two_channels: Running) -> None:
    running = two_channels
    await _say(running, "langue fr")
    assert "Langue\u00a0: en → fr" in await _say(running, "régler langue fr")  # the channels read French now
    await _say(running, 'planifier rencontre "Clinique Helm" chaque 2e mardi à 16h00 Europe/Paris')
    assert (await _tap(running, "yes")).startswith("Enregistré\u00a0: rituel 1 «\u00a0Clinique Helm\u00a0»")
    assert "publie désormais dans <#C2>" in await _say(running, "modifier rituel 1 canal : <#C2|clinique>")
    assert "envoie un rappel 1 j avant le début" in await _say(running, "modifier rituel 1 rappels : 24h")
    hosts = await _say(running, "modifier rituel 1 hôtes : <@UANA>")
    assert hosts.startswith("C'est noté\u00a0: Uana animera *Clinique Helm* le mar.")  # her Slack name, not her id
    await running.slack.event(event_body(msg("<@UBOT> ajouter à l'ordre du jour : notre histoire Helm 4",
                                             channel="C2")))
    await running.settle()

    async with running.steward.db.session() as session:
        ritual = (await session.exec(select(Ritual))).one()
    assert ritual.id is not None and ritual.channel == "slack:C2"
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    announced = await _fire(running, ritual.id, occurrence - timedelta(days=7))
    assert announced["channel"] == "C2" and announced["text"].startswith("📅 *Clinique Helm*\u00a0: mar.")
    assert "Animée par Uana." in announced["text"] and "notre histoire Helm 4" in announced["text"]
    going = _button(announced, "going")
    assert going["text"]["text"] == "J'y serai"
    await running.slack.interaction(click(going["action_id"], "going", user="UANA", channel="C2"))
    await running.settle()

    reminder = await _fire(running, ritual.id, occurrence - timedelta(hours=24))
    assert "1 présent, 0 peut-être." in reminder["text"]  # French counts 0 and 1 in the singular
    assert "Uana" in await _say(running, "qui vient")  # names, for a coordinator

    follow_up = await _fire(running, ritual.id, occurrence + timedelta(hours=2))
    there = _button(follow_up, "yes")
    await running.slack.interaction(click(there["action_id"], "yes", user="UANA", channel="C2"))
    await running.settle()
    async with running.steward.db.session() as session:
        credited = (await session.exec(select(Contribution).where(Contribution.kind == "hosted"))).all()
    assert len(credited) == 1  # Ana hosted a meetup that happened

    later = occurrence + timedelta(hours=3)
    await running.slack.event(event_body(msg("<@UBOT> historique du rituel 1", user="UCOORD",
                                             ts=f"{int(later.timestamp())}.{next(_n):06d}")))
    await running.settle()
    history = running.texts()[-1]
    assert history.startswith("Rencontres passées du rituel *Clinique Helm*\u00a0:")
    assert "inscriptions 1, présences 1" in history and "Uana" in history

    assert "est annulé" in await _say(running, "annuler rituel 1")
    assert "Only this community's coordinators" not in await _say(running, "reprendre rituel 1")
    listing = await _say(running, "rituels")
    assert "le deuxième mardi de chaque mois à 16:00 (Europe/Paris)" in listing and "#" in listing
    assert "every" not in listing and "annulé" not in listing
