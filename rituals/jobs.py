"""Job targets: module-level functions taking plain ids, so the job store can pickle them by reference.

A job stored in the database must not hold the running Steward (engines, sockets, adapters cannot be
pickled, and a job loaded after a restart must reach the *new* process's Steward). So targets find it
in a module-level registry that `rituals.scheduler.RitualScheduler.start` fills (`bind`).

A target only decides which steps are due and hands each to the core as a `Scheduled` event whose id
is the step's delivery key: the core claims it in the same transaction as the feature's work and keeps
its replies in the outbox, so a step runs once (two schedulers racing, a restart) and a crash after
the commit loses no message.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from bot.core import Steward
from bot.features.ritual_common import ritual_target, schedule_of, step_offsets
from bot.features.ritual_steps import step_event
from storage.models import Community, Ritual

log = logging.getLogger(__name__)
_current: Steward | None = None

__all__ = ["bind", "current", "fire", "fire_ritual"]


def bind(steward: Steward | None) -> None:
    """Make `steward` the one job targets act on (None unbinds)."""
    global _current
    _current = steward


def current() -> Steward:
    """The bound Steward; job targets fail loudly (and are logged) when none is bound."""
    if _current is None:
        raise RuntimeError("no Steward bound for ritual jobs: call rituals.jobs.bind(steward) first")
    return _current


async def fire_ritual(ritual_id: int, fire_time: datetime | None = None, now: datetime | None = None) -> int:
    """The job target: `fire` on the bound Steward."""
    return await fire(current(), ritual_id, fire_time, now)


async def fire(steward: Steward, ritual_id: int, fire_time: datetime | None = None, now: datetime | None = None) -> int:
    """Run every step of `ritual_id` due at `fire_time` (default: the latest at or before `now`).

    Returns how many steps were handled (claimed and committed here).
    A fire time older than the grace window (`misfire_grace_time`) is skipped and logged, never sent late.
    Errors are logged with the ritual's name and swallowed: one ritual must not stop the scheduler.
    """
    now = now or datetime.now(UTC)
    name = f"#{ritual_id}"
    try:
        async with steward.db.session() as session:
            ritual = await session.get(Ritual, ritual_id)
            community = await session.get(Community, ritual.community_id) if ritual is not None else None
        if ritual is None or ritual.status != "active" or community is None:
            log.info("ritual %s is gone or not active: fire time %s ignored", name, fire_time)
            return 0
        name = f"#{ritual_id} “{ritual.title or ritual.kind}”"
        schedule = schedule_of(ritual)
        if fire_time is None:
            past = [at + offset for _, offset in step_offsets(ritual) if (at := schedule.before(now - offset))]
            if not past:
                return 0
            fire_time = max(past)
        late = now - fire_time
        grace = timedelta(seconds=steward.config.misfire_grace_time)
        if late > grace:
            log.warning("ritual %s: step at %s missed by %s (grace %s): skipped", name, fire_time, late, grace)
            return 0
        platform, channel = ritual_target(ritual, steward.config.community(community.slug)) or ("", "")
        handled = 0
        for step, offset in step_offsets(ritual):
            occurrence = fire_time - offset
            if schedule.before(occurrence) == occurrence:
                event = step_event(ritual_id, occurrence, step, platform=platform, channel=channel,
                                   community=community.slug, due_at=fire_time, now=now)
                if await steward.dispatch(event):
                    handled += 1
                else:
                    log.info("ritual %s step %s of %s already handled: not again", name, step, occurrence)
        return handled
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("ritual %s failed at %s", name, fire_time)
        return 0
