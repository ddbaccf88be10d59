"""A platform that is down at start does not hold the others: it keeps trying in the background."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from adapters.matrix.adapter import MatrixAdapter
from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config, MatrixConfig
from bot.core import Steward
from bot.features import build_router
from bot.replies import Post
from storage.db import Database
from tests.events import command


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_homeserver_down_at_start_holds_nothing_else(db: Database, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MATRIX_ACCESS_TOKEN", "syt_test")
    settings = MatrixConfig(homeserver=f"http://127.0.0.1:{_closed_port()}", user_id="@steward:test",
                            allowed_inviters=("test",), encryption=False)
    config = Config(data_dir=tmp_path, matrix=settings, communities=(CommunityConfig(
        slug="k8s", channels=("recording:C1", "matrix:!room:test")),))
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    steward.add_adapter(MatrixAdapter(settings, db, tmp_path, max_backoff=0.05))
    with caplog.at_level(logging.WARNING):
        await steward.start_adapters(wait=0.5)
    assert steward.adapter_status == {"recording": "connected", "matrix": "retrying"}
    assert any("matrix is not connected yet" in r.getMessage() for r in caplog.records)

    await platform.inject(command("help", user="UANA"))  # the other platform answers meanwhile
    assert platform.texts()[-1].startswith("Hi! I'm Steward")
    async with db.session() as session:  # a Matrix reply waits in the outbox instead of failing
        parcels = await steward.delivery.keep(session, "matrix", "test:held", [Post(channel="!room:test", text="hi")])
    [attempt] = await steward.delivery.deliver(parcels)
    assert attempt is None
    await steward.stop(grace=0.5)
