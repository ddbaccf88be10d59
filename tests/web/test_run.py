"""`steward run` serves the pages on the one HTTP server it already runs: here the Slack endpoint's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import BACKEND, create_pg_database, drop_pg_database
from tests.crash.processes import Child, free_port, write_config
from tests.slack.conftest import ENV
from tests.slack.fake_slack import FakeSlack


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def database_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"STEWARD_DATA_DIR": str(tmp_path / "data")}
    if BACKEND != "postgres":
        yield env
        return
    url = create_pg_database("steward_webrun")
    yield {**env, "STEWARD_DATABASE_URL": url.replace("+asyncpg", "")}
    drop_pg_database(url)


async def test_the_pages_are_on_the_slack_endpoints_server(tmp_path: Path, fake_slack: FakeSlack,
                                                           database_env: dict[str, str]) -> None:
    port = free_port()
    config = write_config(tmp_path / "steward.toml", {
        "slack": {"transport": "http", "host": "127.0.0.1", "port": port, "api_url": fake_slack.base_url}},
        [{"slug": "k8s", "channels": ["slack:C1"]}])
    child = Child("steward", config, {**ENV, **database_env}, tmp_path / "steward.log")
    child.start()
    try:
        await child.ready()
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/web/c/k8s/") as page:
                assert page.status == 401 and "say `dashboard` to it" in await page.text()
            async with session.get(f"{base}/web/style.css") as style:
                assert style.status == 200 and style.content_type == "text/css"
            async with session.get(f"{base}/healthz") as health:
                assert health.status == 200
    finally:
        child.stop()
    assert not child.errors(), child.tail()
