"""The HTTP transport also serves each community's iCalendar feed, as `steward run` mounts it (its address
holds the community's secret token; tests/security/test_feeds_and_messages.py tries to get around it)."""

from __future__ import annotations

import dataclasses

import aiohttp
from icalendar import Calendar

from adapters.slack.adapter import SlackAdapter
from app.runtime import sync_communities
from bot.config import Config, SlackConfig
from bot.core import Steward
from bot.features import build_router
from rituals.ical import ical_routes
from storage.communities import get_community
from storage.db import Database
from storage.feeds import ensure_feed_token
from tests.slack.conftest import ENV, FAST
from tests.slack.fake_slack import FakeSlack


async def test_ical_feed_beside_the_events_endpoint(db: Database, config: Config, fake_slack: FakeSlack) -> None:
    cfg = dataclasses.replace(config, slack=SlackConfig(port=0))
    steward = Steward(db, cfg, build_router())
    await sync_communities(steward)
    adapter = SlackAdapter.from_config(cfg, db=db, base_url=fake_slack.base_url, env=ENV, limits=FAST)
    adapter.routes.extend(ical_routes(steward))
    steward.add_adapter(adapter)
    await steward.start_adapters()
    base = adapter.url.rsplit("/slack/events", 1)[0]
    async with db.session() as session:
        community = await get_community(session, "k8s")
        assert community is not None and community.id is not None
        token = await ensure_feed_token(session, community.id)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/ical/k8s/{token}.ics") as response:
                assert response.status == 200 and response.content_type == "text/calendar"
                calendar = Calendar.from_ical(await response.read())
                assert calendar.get("X-WR-CALNAME") is not None
            async with session.get(f"{base}/ical/k8s.ics") as response:  # the old address, without a token
                assert response.status == 404 and "calendar link" in await response.text()
    finally:
        await steward.stop()
