"""Moving time forward in tests: the features' periodic finders run at a chosen `now`, through the core."""

from __future__ import annotations

from datetime import datetime

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.replies import Reply
from bot.scheduling import run_due


async def due_at(steward: Steward, platform: RecordingAdapter, now: datetime,
                 jobs: tuple[str, ...] | None = None) -> list[Reply]:
    """Run what is due at `now` (all jobs, or `jobs`) and return the replies it sent."""
    before = len(platform.sent)
    await run_due(steward, now, jobs)
    await steward.delivery.idle()
    return platform.sent[before:]
