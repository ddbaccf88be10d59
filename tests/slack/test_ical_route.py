"""The HTTP transport also serves each community's iCalendar feed, as `steward run` mounts it."""

from __future__ import annotations

import dataclasses

import aiohttp
from aiohttp import web
from icalendar import Calendar

from adapters.slack.adapter import SlackAdapter
from app.runtime import sync_communities
from bot.config import Config, SlackConfig
from bot.core import Steward
from bot.features import build_router
from rituals.ical import ical_handler
from storage.db import Database
from tests.slack.conftest import ENV, FAST
from tests.slack.fake_slack import FakeSlack


async def test_ical_feed_beside_the_events_endpoint(db: Database, config: Config, fake_slack: FakeSlack) -> None:
    cfg = dataclasses.replace(config, slack=SlackConfig(port=0))
    steward = Steward(db, cfg, build_router())
    await sync_communities(steward)
    adapter = SlackAdapter.from_config(cfg, db=db, base_url=fake_slack.base_url, env=ENV, limits=FAST)
    adapter.routes.append(web.get("/ical/{community}.ics", ical_handler(steward)))
    steward.add_adapter(adapter)
    await steward.start_adapters()
    base = adapter.url.rsplit("/slack/events", 1)[0]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/ical/k8s.ics") as response:
                assert response.status == 200 and response.content_type == "text/calendar"
                calendar = Calendar.from_ical(await response.read())
                assert calendar.get("X-WR-CALNAME") is not None
            async with session.get(f"{base}/ical/nope.ics") as response:
                assert response.status == 404 and "slug" in await response.text()
    finally:
        await steward.stop()
