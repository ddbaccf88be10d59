"""Ritual steps as scheduled events: the scheduler decides *when*, this feature decides *what*.

Each step of each occurrence (a meetup's announcement, its reminders, its follow-up; a renewal
moment; a survey run…) is a `Scheduled` event of job `ritual` whose subject is the step's delivery
key, `<ritual id>:<occurrence in UTC>:<step>`. It runs through the core like a chat event: claimed
once (two schedulers, a restart), one transaction, replies kept in the outbox. The first reply of a
step is tagged with that key, so a later reply in its thread can be traced back to the step.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.context import Context
from bot.events import Scheduled, scheduled
from bot.features import digest, meetups, onboarding, renewal, surveys  # noqa: F401  (they declare the kinds)
from bot.features.ritual_common import RitualRun, StepHandler, kind_of
from bot.router import Router
from storage.models import Ritual

log = logging.getLogger(__name__)
router = Router()
JOB = "ritual"


def delivery_key(ritual_id: int, occurrence: datetime, step: str) -> str:
    """`<ritual id>:<occurrence in UTC>:<step>`, e.g. `3:20261208T210000Z:announce`."""
    return f"{ritual_id}:{occurrence.astimezone(UTC):%Y%m%dT%H%M%SZ}:{step}"


def parse_key(key: str) -> tuple[int, datetime, str] | None:
    """(ritual id, occurrence, step) of a delivery key, or None when it is not one."""
    parts = key.split(":", 2)
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    try:
        occurrence = datetime.strptime(parts[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(parts[0]), occurrence, parts[2]


def step_event(ritual_id: int, occurrence: datetime, step: str, *, platform: str, channel: str, community: str,
               due_at: datetime, now: datetime) -> Scheduled:
    """The event that runs `step` of the occurrence at `occurrence`."""
    return scheduled(JOB, delivery_key(ritual_id, occurrence, step), platform=platform, channel=channel,
                     community=community, due_at=due_at, now=now)


def handler_for(kind: str, step: str) -> StepHandler | None:
    """The feature function that runs `step` of a ritual of `kind` (as its kind declares)."""
    declared = kind_of(kind)
    return declared.handler(step) if declared is not None else None


@router.scheduled(JOB)
async def run_step(ctx: Context) -> None:
    """Run one step of one occurrence; a ritual gone or paused since it was scheduled does nothing."""
    event = ctx.event
    assert isinstance(event, Scheduled)
    parsed = parse_key(event.subject)
    if parsed is None:
        log.error("not a ritual step key: %r", event.subject)
        return
    ritual_id, occurrence, step = parsed
    ritual = await ctx.session.get(Ritual, ritual_id)
    if ritual is None or ritual.status != "active":
        log.info("ritual #%s is gone or not active: step %s of %s not run", ritual_id, step, occurrence)
        return
    handler = handler_for(ritual.kind, step)
    if handler is None:
        log.error("ritual #%s: no handler for %s step %r", ritual_id, ritual.kind, step)
        return
    first = len(ctx.outbox)
    await handler(ctx, RitualRun(ritual=ritual, step=step, occurrence=occurrence, now=event.at, key=event.subject))
    if len(ctx.outbox) > first and first not in ctx.tags:
        ctx.tags[first] = event.subject
