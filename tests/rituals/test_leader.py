"""Several Steward processes on one PostgreSQL: one leader fires, others take over when it dies."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from rituals.jobs import fire_ritual
from rituals.scheduler import LEADER_LOCK, RitualScheduler
from tests.rituals.conftest import Bot, make_ritual
from tests.rituals.test_engine import _daily_spec, eventually

pytestmark = pytest.mark.skipif(os.environ.get("STEWARD_TEST_DATABASE") != "postgres",
                                reason="needs PostgreSQL advisory locks (runs in the PostgreSQL pass)")


async def test_two_schedulers_fire_each_occurrence_exactly_once_and_take_over(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    due = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    ritual = await make_ritual(ritual_bot, _daily_spec(due), kind="reminder")
    one = RitualScheduler(steward, leader_retry=0.2, sync_interval=3600)
    two = RitualScheduler(steward, leader_retry=0.2, sync_interval=3600)
    await one.start(paused=True)  # hold the due job back until both processes run
    assert one.is_leader
    await asyncio.to_thread(one.scheduler.modify_job, f"ritual:{ritual.id}", "rituals", next_run_time=due)
    await two.start()
    assert not two.is_leader  # the lock is taken
    before = len(platform.sent)
    one.scheduler.resume()
    await eventually(lambda: len(platform.sent) > before)
    await asyncio.sleep(0.5)  # both keep running: a second post would show up here
    assert platform.texts()[before:] == ["🔔 Stand-up"]

    # The leader's connection dies (crash, network): the lock goes with it and the other takes over.
    async with steward.db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                                "AND objid = :low"), {"low": LEADER_LOCK & 0xFFFFFFFF})
    await eventually(lambda: two.is_leader and not one.is_leader)
    await one.stop()
    await two.stop()


async def test_concurrent_runs_of_one_occurrence_post_once(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    due = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)
    ritual = await make_ritual(ritual_bot, _daily_spec(due), kind="reminder")
    before = len(platform.sent)
    results = await asyncio.gather(*(fire_ritual(ritual.id or 0, due) for _ in range(4)))
    assert sorted(results) == [0, 0, 0, 1]
    assert len(platform.sent) == before + 1
