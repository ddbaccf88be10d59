"""Job targets: module-level functions taking plain ids, so the job store can pickle them by reference.

A job stored in the database must not hold the running Steward (engines, sockets, adapters cannot be
pickled, and a job loaded after a restart must reach the *new* process's Steward). So targets find it
in a module-level registry that `rituals.scheduler.RitualScheduler.start` fills (`bind`).

Every step of every occurrence has an idempotency key, claimed in the same transaction as the
feature's work and committed *before* anything is sent: a crash after sending can never lead to a
second post (at most once), and two schedulers racing on one occurrence post it once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from bot.context import Context
from bot.core import Steward
from bot.events import Event, Sender
from bot.features.ritual_common import RitualRun, ritual_target, schedule_of, step_offsets
from bot.replies import Reply
from rituals.steps import handler_for
from storage.models import Community, Ritual
from storage.rituals import claim_delivery, record_delivery

log = logging.getLogger(__name__)
_current: Steward | None = None


def bind(steward: Steward | None) -> None:
    """Make `steward` the one job targets act on (None unbinds)."""
    global _current
    _current = steward


def current() -> Steward:
    """The bound Steward; job targets fail loudly (and are logged) when none is bound."""
    if _current is None:
        raise RuntimeError("no Steward bound for ritual jobs: call rituals.jobs.bind(steward) first")
    return _current


def delivery_key(ritual_id: int, occurrence: datetime, step: str) -> str:
    """`<ritual id>:<occurrence in UTC>:<step>`, e.g. `3:20261208T210000Z:announce`."""
    return f"{ritual_id}:{occurrence.astimezone(UTC):%Y%m%dT%H%M%SZ}:{step}"


async def fire_ritual(ritual_id: int, fire_time: datetime | None = None, now: datetime | None = None) -> int:
    """Run every step of `ritual_id` due at `fire_time` (default: the latest at or before `now`).

    Returns how many steps were delivered.
    A fire time older than the grace window (`misfire_grace_time`) is skipped and logged, never sent late.
    Errors are logged with the ritual's name and swallowed: one ritual must not stop the scheduler.
    """
    steward = current()
    now = now or datetime.now(UTC)
    name = f"#{ritual_id}"
    try:
        async with steward.db.session() as session:
            ritual = await session.get(Ritual, ritual_id)
        if ritual is None or ritual.status != "active":
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
        sent = 0
        for step, offset in step_offsets(ritual):
            occurrence = fire_time - offset
            if schedule.before(occurrence) == occurrence:
                sent += await run_step(steward, ritual, step, occurrence, now)
        return sent
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("ritual %s failed at %s", name, fire_time)
        return 0


async def run_step(steward: Steward, ritual: Ritual, step: str, occurrence: datetime, now: datetime) -> int:
    """Claim, run and deliver one step of one occurrence; 0 when it was already claimed or cannot run."""
    assert ritual.id is not None
    handler = handler_for(ritual.kind, step)
    if handler is None:
        log.error("ritual #%s: no handler for %s step %r", ritual.id, ritual.kind, step)
        return 0
    key = delivery_key(ritual.id, occurrence, step)
    async with steward.db.session() as session:
        community = await session.get(Community, ritual.community_id)
        assert community is not None
        cc = steward.config.community(community.slug)
        target = ritual_target(ritual, cc)
        platform, channel = target or ("", "")
        if not await claim_delivery(session, key, step=step, occurrence_at=occurrence, ritual_id=ritual.id,
                                    platform=platform, channel=channel):
            log.info("ritual #%s step %s of %s already delivered: not again", ritual.id, step, occurrence)
            return 0
        event = Event(event_id=f"ritual:{key}", platform=platform or "none", channel=channel, community=community.slug,
                      sender=Sender(id="steward", display_name="Steward", is_bot=True), at=now)
        ctx = Context(event=event, session=session, config=steward.config, send_now_fn=steward._send_now,
                      community=community, community_config=cc, locale=community.locale,
                      roles=frozenset({"member", "coordinator"}))
        try:
            async with session.begin_nested():
                await handler(ctx, RitualRun(ritual=ritual, step=step, occurrence=occurrence, now=now, key=key))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ritual #%s “%s”: step %s of %s failed", ritual.id, ritual.title, step, occurrence)
            await record_delivery(session, key, "failed")
            return 0
        outbox: list[Reply] = ctx.outbox
    message_id = await _deliver(steward, platform, outbox)
    async with steward.db.session() as session:
        await record_delivery(session, key, "sent", message_id)
    return 1


async def _deliver(steward: Steward, platform: str, outbox: list[Reply]) -> str | None:
    """Send after commit, through the same path as chat replies; the first message id is kept."""
    first: str | None = None
    for reply in outbox:
        ref = await steward.send(platform, reply)
        if first is None and ref is not None:
            first = ref.message_id
    return first
