"""Time's entry to the core: due work found by the features' finders, dispatched as `Scheduled` events.

The scheduler (rituals/scheduler.py) calls `run_periodic` on its leader every `Periodic.every` seconds;
tests and the terminal's `/advance` call it with a chosen `now`. Everything due is found from stored
state (closing times, deadlines, escalation steps), so a restart loses nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.core import Steward
from bot.router import Periodic

log = logging.getLogger(__name__)


async def run_periodic(steward: Steward, periodic: Periodic, now: datetime) -> int:
    """Find what `periodic` has due at `now` and dispatch each; returns how many were handled here."""
    async with steward.db.session() as session:
        events = await periodic.find(session, steward.config, now)
    handled = 0
    for event in events:
        handled += bool(await steward.dispatch(event))
    return handled


async def run_due(steward: Steward, now: datetime, jobs: tuple[str, ...] | None = None) -> int:
    """Run every registered finder (or those of `jobs`) at `now`; returns how many events were handled."""
    handled = 0
    for periodic in steward.router.periodics:
        if jobs is None or periodic.job in jobs:
            handled += await run_periodic(steward, periodic, now)
    return handled
