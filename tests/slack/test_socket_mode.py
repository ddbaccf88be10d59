"""Socket Mode: envelopes over a local websocket (the one `apps.connections.open` points to)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.slack.adapter import SlackAdapter
from bot.config import Config
from bot.core import Steward
from storage.db import Database
from tests.slack.conftest import event_body, msg, start_bot
from tests.slack.fake_slack import TEAM, FakeSlack, trigger_id


@pytest.fixture
async def socket_bot(db: Database, sconfig: Config,
                     fake_slack: FakeSlack) -> AsyncIterator[tuple[Steward, SlackAdapter]]:
    steward, adapter = await start_bot(db, sconfig, fake_slack, transport="socket")
    yield steward, adapter
    await steward.stop()


async def test_event_envelope_is_acked_and_answered(socket_bot: tuple[Steward, SlackAdapter],
                                                    fake_slack: FakeSlack) -> None:
    _, adapter = socket_bot
    [opened] = fake_slack.called("apps.connections.open")
    body = event_body(msg("<@UBOT> help"))
    ack = await fake_slack.push({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                                 "retry_attempt": 0, "retry_reason": "", "payload": body})
    assert ack == {"envelope_id": "env-1"}
    retried = await fake_slack.push({"envelope_id": "env-2", "type": "events_api", "accepts_response_payload": False,
                                     "retry_attempt": 1, "retry_reason": "timeout", "payload": body})
    assert retried == {"envelope_id": "env-2"}
    await adapter.intake.wait(30)
    await adapter.pacer.drain()
    [post] = fake_slack.called("chat.postMessage")
    assert post["thread_ts"] == body["event"]["ts"]
    assert "Here is what you can ask me" in post["text"]
    assert opened is not None


async def test_slash_command_envelope(socket_bot: tuple[Steward, SlackAdapter], fake_slack: FakeSlack) -> None:
    _, adapter = socket_bot
    payload = {"team_id": TEAM, "channel_id": "C1", "channel_name": "general", "user_id": "UANA",
               "user_name": "ana", "command": "/who", "text": "terraform", "trigger_id": "9.9.z",
               "response_url": fake_slack.hook_url()}
    ack = await fake_slack.push({"envelope_id": "env-3", "type": "slash_commands",
                                 "accepts_response_payload": True, "payload": payload})
    assert ack["envelope_id"] == "env-3"
    await adapter.intake.wait(30)
    await adapter.pacer.drain()
    [eph] = fake_slack.called("chat.postEphemeral")
    assert "“terraform”" in eph["text"]


async def test_schedule_over_socket_mode_opens_the_modal(socket_bot: tuple[Steward, SlackAdapter],
                                                         fake_slack: FakeSlack) -> None:
    _, adapter = socket_bot
    fake_slack.trigger_ttl = 3.0
    payload = {"team_id": TEAM, "channel_id": "C1", "channel_name": "general", "user_id": "UCOORD",
               "user_name": "coord", "command": "/steward", "text": "schedule", "trigger_id": trigger_id(),
               "response_url": fake_slack.hook_url()}
    await fake_slack.push({"envelope_id": "env-4", "type": "slash_commands", "accepts_response_payload": True,
                           "payload": payload})
    await adapter.intake.wait(30)
    await adapter.pacer.drain()
    [opened] = fake_slack.called("views.open")
    assert opened["trigger_id"] == payload["trigger_id"]
