"""The web pages in-process: the whole bot on the recording platform, two communities, and an HTTP client on a
real aiohttp server serving Steward's routes (cookies kept, as a browser keeps them)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.recording import RecordingAdapter
from app.web.routes import Web
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.replies import DirectMessage
from tests.events import command

Bot = tuple[Steward, RecordingAdapter]
NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)  # the pages' clock: October 2026 is the last finished month
LINK = re.compile(r"/web/signin/([A-Za-z0-9_\-]+)")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """k8s (coordinator UCOORD, sponsor USPONSOR) in C1, and another community, ops, in C2 (sponsor USPONSOR too
    is not: USPONSOR sponsors k8s only; UOPS sponsors both)."""
    return Config(data_dir=tmp_path, communities=(
        CommunityConfig(slug="k8s", name="Kubernetes CoP", channels=("recording:C1",),
                        coordinators=("recording:UCOORD",), sponsors=("recording:USPONSOR", "recording:UBOTH")),
        CommunityConfig(slug="ops", name="Ops guild", channels=("recording:C2",),
                        coordinators=("recording:UOPSCOORD",), sponsors=("recording:UBOTH",)),
    ))


async def client_for(steward: Steward, now: datetime = NOW) -> TestClient:  # type: ignore[type-arg]
    """A client of a real server carrying the web routes, its pages' clock at `now`."""
    app = web.Application()
    app.router.add_routes(Web(steward, now=lambda: now).routes())
    client: TestClient = TestClient(TestServer(app))  # type: ignore[type-arg]
    await client.start_server()
    return client


@pytest.fixture
async def browser(bot: Bot) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """A cookie-keeping client of the pages (one browser)."""
    client = await client_for(bot[0])
    yield client
    await client.close()


async def ask_link(bot: Bot, user: str, channel: str = "C1") -> str:
    """Say `dashboard` in `channel` as `user`; the path of the link Steward sends in a direct message."""
    platform = bot[1]
    before = len(platform.sent)
    await platform.inject(command("dashboard", user=user, channel=channel))
    dms = [r for r in platform.sent[before:] if isinstance(r, DirectMessage) and r.user == user]
    assert len(dms) == 1, platform.texts()[before:]
    found = LINK.search(str(dms[0].text))
    assert found is not None, dms[0].text
    return found.group(0)


async def sign_in(client: TestClient, path: str) -> str:  # type: ignore[type-arg]
    """Open the link's page, press its button; the page signed in to (its path)."""
    async with client.get(path) as page:
        assert page.status == 200, await page.text()
        assert f'action="{path}"' in await page.text()
    async with client.post(path, allow_redirects=False) as spent:
        assert spent.status == 303, await spent.text()
        return spent.headers["Location"]


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)
