"""/healthz, /readyz and /metrics of a real `steward run`: on the Slack endpoint, or on a server of their own."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import BACKEND, create_pg_database, drop_pg_database
from tests.crash.processes import Child, free_port, write_config
from tests.slack.conftest import ENV, event_body, sign
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
    url = create_pg_database("steward_health")
    yield {**env, "STEWARD_DATABASE_URL": url.replace("+asyncpg", "")}
    drop_pg_database(url)


def _handled(metrics: str, kind: str) -> float:
    pattern = rf'steward_events_handled_total\{{kind="{kind}",outcome="handled",platform="slack"\}} (\S+)'
    found = re.search(pattern, metrics)
    return float(found.group(1)) if found else 0.0


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


async def test_on_the_slack_endpoint_health_readiness_and_metrics_that_move(
        tmp_path: Path, fake_slack: FakeSlack, database_env: dict[str, str]) -> None:
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
            assert await _get(session, f"{base}/healthz") == (200, "ok\n")
            status, body = await _get(session, f"{base}/readyz")
            ready = json.loads(body)
            assert status == 200 and ready["ready"], body
            assert {"database", "migrations", "adapter:slack", "scheduler"} <= set(ready["checks"])
            _, before = await _get(session, f"{base}/metrics")
            assert "steward_replies_pending" in before and "steward_event_handler_seconds" in before
            event = json.dumps(event_body({"type": "app_mention", "user": "UANA", "text": "<@UBOT> help",
                                           "channel": "C1", "ts": "1700000000.000100"}))
            async with session.post(f"{base}/slack/events", data=event.encode(),
                                    headers={"Content-Type": "application/json", **sign(event)}) as response:
                assert response.status == 200
            await fake_slack.wait_calls("chat.postMessage", 1, 30)
            _, after = await _get(session, f"{base}/metrics")
        assert _handled(after, "MessagePosted") == _handled(before, "MessagePosted") + 1
        assert 'steward_replies_sent_total{platform="slack"} 1.0' in after
    finally:
        child.stop()
    assert not child.errors(), child.tail()


async def test_without_a_slack_endpoint_they_get_a_server_of_their_own(
        tmp_path: Path, database_env: dict[str, str]) -> None:
    """Matrix only, its homeserver down: alive, ready (the adapter retries in the background), on [steward] http."""
    port = free_port()
    config = write_config(tmp_path / "steward.toml", {
        "steward": {"http": f"127.0.0.1:{port}"},
        "matrix": {"homeserver": f"http://127.0.0.1:{free_port()}", "user_id": "@steward:localhost"}},
        [{"slug": "k8s", "channels": ["matrix:!room:localhost"]}])
    child = Child("steward", config, {"MATRIX_PASSWORD": "pw", **database_env}, tmp_path / "steward.log")
    child.start()
    try:
        await child.ready()
        async with aiohttp.ClientSession() as session:
            assert (await _get(session, f"http://127.0.0.1:{port}/healthz"))[0] == 200
            status, body = await _get(session, f"http://127.0.0.1:{port}/readyz")
            checks = json.loads(body)["checks"]
            assert status == 200 and checks["adapter:matrix"] == {"ok": True, "detail": "retrying"}, body
            status, metrics = await _get(session, f"http://127.0.0.1:{port}/metrics")
            assert status == 200 and "steward_events_waiting 0.0" in metrics
    finally:
        child.stop()


async def test_readiness_fails_when_the_schema_is_not_this_versions(tmp_path: Path,
                                                                    database_env: dict[str, str]) -> None:
    from sqlalchemy import text

    from app.health import readiness
    from bot.config import Config
    from bot.core import Steward
    from bot.features import build_router
    from storage.db import Database, resolve_url

    db = Database(resolve_url(database_env.get("STEWARD_DATABASE_URL"), Path(database_env["STEWARD_DATA_DIR"])))
    await db.upgrade()
    steward = Steward(db, Config(data_dir=tmp_path), build_router())
    try:
        checks = await readiness(steward, None)
        assert checks["database"][0] and checks["migrations"][0]
        async with db.session() as session:
            await (await session.connection()).execute(text("UPDATE alembic_version SET version_num = '0011_x'"))
        checks = await readiness(steward, None)
        assert checks["migrations"] == (False, checks["migrations"][1]) and "0011_x" in checks["migrations"][1]
    finally:
        await db.dispose()
