"""The scheduler on a real database: sync of rituals into jobs, restart, missed runs after downtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from rituals.scheduler import RitualScheduler, sync_url
from tests.events import command
from tests.rituals.conftest import Bot, make_ritual


async def eventually(check: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait for a condition reached by the scheduler's own clock (bounded; asserts behaviour, not timing).

    Polling is the honest tool here: the condition changes inside APScheduler's threads and tasks.
    """
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def test_sync_url_for_the_job_store() -> None:
    assert sync_url("sqlite+aiosqlite:////var/lib/steward/steward.db") == "sqlite:////var/lib/steward/steward.db"
    assert sync_url("postgresql+asyncpg://u:p@127.0.0.1:5432/steward") == \
        "postgresql+psycopg://u:p@127.0.0.1:5432/steward"


def _daily_spec(at: datetime) -> str:
    """A daily reminder at `at`'s minute (UTC), started yesterday."""
    return f'"Stand-up" every day at {at:%H:%M} UTC from {(at - timedelta(days=1)).date()}'


async def test_changes_sync_into_jobs_and_survive_a_restart(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00 America/Montreal')
    first = RitualScheduler(steward, sync_interval=3600)
    await first.start()
    assert first.is_leader
    planned = await asyncio.to_thread(first.next_fire_time, ritual.id or 0)
    assert planned is not None and planned > datetime.now(UTC)
    await platform.inject(command(f"pause ritual {ritual.id}", user="UCOORD"))
    assert await first.sync() == 1
    assert await asyncio.to_thread(first.next_fire_time, ritual.id or 0) is None
    await platform.inject(command(f"resume ritual {ritual.id}", user="UCOORD"))
    await first.sync()
    await first.stop()

    second = RitualScheduler(steward, sync_interval=3600)  # a new process on the same database
    await second.start()
    assert await second.sync() == 0  # nothing changed: the stored job is used as is
    assert await asyncio.to_thread(second.next_fire_time, ritual.id or 0) == planned
    await second.stop()


@pytest.mark.parametrize(("missed_by", "fires"), [(timedelta(minutes=20), True), (timedelta(hours=2), False)])
async def test_after_downtime_a_missed_step_fires_once_within_grace_else_is_skipped(
        ritual_bot: Bot, caplog: pytest.LogCaptureFixture, missed_by: timedelta, fires: bool) -> None:
    steward, platform = ritual_bot
    due = (datetime.now(UTC) - missed_by).replace(second=0, microsecond=0)
    ritual = await make_ritual(ritual_bot, _daily_spec(due), kind="reminder")
    first = RitualScheduler(steward, sync_interval=3600)
    await first.start()
    await first.stop()
    # The process was down when the step was due: the stored job still points at it.
    down = RitualScheduler(steward, sync_interval=3600)
    down.scheduler.start(paused=True)
    await down._lead()
    await asyncio.to_thread(down.scheduler.modify_job, f"ritual:{ritual.id}", "rituals", next_run_time=due)
    await down.stop()

    before = len(platform.sent)
    caplog.set_level(logging.INFO, logger="rituals")
    again = RitualScheduler(steward, sync_interval=3600)
    await again.start()
    if fires:
        await eventually(lambda: len(platform.sent) > before)
        assert platform.texts()[-1] == "🔔 Stand-up"
    else:
        await eventually(lambda: any("missed by" in r.getMessage() for r in caplog.records))
    async with asyncio.timeout(10):  # read in a thread: the job store's blocking SQL must not hold the event loop
        while (await asyncio.to_thread(again.next_fire_time, ritual.id or 0) or due) <= due:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await again.stop()
    assert len(platform.sent) == before + (1 if fires else 0)
