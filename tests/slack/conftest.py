"""Fixtures: a fake Slack, the real adapter (bolt app on 127.0.0.1) and the whole bot on a real DB."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.slack.adapter import SlackAdapter
from adapters.slack.pacing import Limits
from app.runtime import sync_communities
from bot.config import Config, SlackConfig
from bot.core import Steward
from bot.features import build_router
from storage.db import Database
from tests.slack.fake_slack import TEAM, FakeSlack, trigger_id

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ENV = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": "xapp-test"}
# Fast but real pacing, so tests exercise the buckets without waiting on Slack's true rates.
FAST = Limits(tier_per_second=dict.fromkeys((1, 2, 3, 4), 500.0), post_per_channel_per_second=200.0,
              post_per_workspace_per_second=500.0)
_ids = itertools.count(1)


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's request signature headers for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def event_body(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An Events API `event_callback` wrapping `event`."""
    return {"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):08d}", "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}]}


def msg(text: str, *, user: str = "UANA", channel: str = "C1", ts: str | None = None,
        channel_type: str = "channel", **extra: Any) -> dict[str, Any]:
    """A `message` event."""
    return {"type": "message", "user": user, "text": text, "channel": channel, "channel_type": channel_type,
            "ts": ts or f"1700000000.{next(_ids):06d}", **extra}


class Slack:
    """Sends correctly signed requests to the adapter, as Slack would."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session = url, session

    async def post(self, body: str, content_type: str = "application/json", headers: dict[str, str] | None = None,
                   signed: dict[str, str] | None = None) -> tuple[int, str]:
        all_headers = {"Content-Type": content_type, **(signed if signed is not None else sign(body)),
                       **(headers or {})}
        async with self.session.post(self.url, data=body.encode(), headers=all_headers) as response:
            return response.status, await response.text()

    async def event(self, body: dict[str, Any], retry: int | None = None) -> tuple[int, str]:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.post(json.dumps(body), headers=headers)

    async def command(self, command: str, text: str, *, user: str = "UANA", channel: str = "C1",
                      response_url: str = "https://hooks.slack.com/commands/T1/1/x") -> tuple[int, str]:
        form = {"token": "legacy", "team_id": TEAM, "team_domain": "acme", "channel_id": channel,
                "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": command,
                "text": text, "api_app_id": "A1", "response_url": response_url,
                "trigger_id": trigger_id()}
        return await self.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")


def click(action_id: str, value: str, *, user: str = "UANA", channel: str = "C1") -> dict[str, Any]:
    """A `block_actions` payload for a button click."""
    n = next(_ids)
    return {"type": "block_actions", "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A1", "trigger_id": trigger_id(), "channel": {"id": channel, "name": "general"},
            "container": {"type": "message", "message_ts": "1700000000.000900", "channel_id": channel,
                          "is_ephemeral": True},
            "response_url": "https://hooks.slack.com/actions/T1/1/y",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                         "action_ts": f"1700000001.{n:06d}", "text": {"type": "plain_text", "text": "Yes"}}]}


def slack_config(config: Config) -> Config:
    """The shared config with community k8s living in Slack channel C1."""
    community = dataclasses.replace(config.communities[0], channels=("slack:C1",),
                                    coordinators=("slack:UCOORD",), sponsors=("slack:USPONSOR",))
    return dataclasses.replace(config, communities=(community,), slack=SlackConfig(port=0))


class Running:
    """A started Steward on the Slack adapter."""

    def __init__(self, steward: Steward, adapter: SlackAdapter, fake: FakeSlack, slack: Slack) -> None:
        self.steward, self.adapter, self.fake, self.slack = steward, adapter, fake, slack

    async def settle(self) -> None:
        """Wait until the background work and every queued send are done."""
        await self.adapter.intake.wait(30)
        await self.adapter.pacer.drain()

    def texts(self, method: str = "chat.postMessage") -> list[str]:
        return [str(c.args.get("text", "")) for c in self.fake.called(method)]


async def start_bot(db: Database, config: Config, fake: FakeSlack, **slack: Any) -> tuple[Steward, SlackAdapter]:
    """Steward with a Slack adapter built as `steward run` builds it, pointed at the fake Slack."""
    cfg = dataclasses.replace(config, slack=SlackConfig(port=0, **slack))
    steward = Steward(db, cfg, build_router())
    await sync_communities(steward)
    adapter = SlackAdapter.from_config(cfg, db=db, base_url=fake.base_url, env=ENV, limits=FAST)
    steward.add_adapter(adapter)
    await steward.start_adapters()
    return steward, adapter


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def sconfig(config: Config) -> Config:
    return slack_config(config)


@pytest.fixture
async def running(db: Database, sconfig: Config, fake_slack: FakeSlack) -> AsyncIterator[Running]:
    steward, adapter = await start_bot(db, sconfig, fake_slack)
    async with aiohttp.ClientSession() as session:
        yield Running(steward, adapter, fake_slack, Slack(adapter.url, session))
        await steward.stop()
