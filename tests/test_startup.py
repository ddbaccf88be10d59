"""Several processes starting together on one fresh PostgreSQL database: one migrates and syncs at a time."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from app.runtime import open_steward
from bot.config import CommunityConfig, Config
from tests.conftest import create_pg_database, drop_pg_database


@pytest.mark.skipif(os.environ.get("STEWARD_TEST_DATABASE") != "postgres",
                    reason="needs PostgreSQL (runs in the PostgreSQL pass)")
async def test_processes_starting_together_do_not_race(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = await asyncio.to_thread(create_pg_database, "steward_startup")
    try:
        monkeypatch.setenv("STEWARD_DATABASE_URL", url)
        config = Config(data_dir=tmp_path, communities=(CommunityConfig(slug="k8s", channels=("slack:C1",)),))
        stewards = await asyncio.gather(*(open_steward(config) for _ in range(3)))
        for steward in stewards:
            await steward.db.dispose()
    finally:
        await asyncio.to_thread(drop_pg_database, url)
