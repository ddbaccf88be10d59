"""A ritual kind is declared in one place: the scheduler, the step runner and the listing all follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.context import Context
from bot.features.ritual_common import KINDS, RitualKind, RitualRun, declare, step_offsets
from bot.i18n import N_
from bot.replies import Post
from rituals.jobs import fire
from storage.models import Ritual
from tests.events import command
from tests.rituals.conftest import COORD, Bot


async def _retro(ctx: Context, run: RitualRun) -> None:
    ctx.send(Post(channel=ctx.event.channel, text=f"🔁 Retro time: {run.ritual.title} ({run.step})"))


async def test_a_kind_declared_once_is_scheduled_run_and_listed(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    retro = declare(RitualKind("retro", N_("retrospective"), {"prepare": _retro, "hold": _retro},
                               steps=lambda _r: [("prepare", timedelta(days=-1)), ("hold", timedelta(0))]))
    try:
        async with steward.db.session() as session:
            ritual = Ritual(community_id=1, kind="retro", title="Sprint retro", rrule="FREQ=WEEKLY;BYDAY=FR",
                            dtstart="2026-12-04T15:00:00", timezone="UTC", status="active", channel="recording:C1")
            session.add(ritual)
            await session.flush()
            ritual_id = ritual.id or 0
        assert [s for s, _o in step_offsets(ritual)] == ["prepare", "hold"]
        at = datetime.fromisoformat(ritual.dtstart).replace(tzinfo=UTC)
        assert await fire(steward, ritual_id, at - timedelta(days=1), now=at - timedelta(days=1)) == 1
        assert await fire(steward, ritual_id, at, now=at) == 1
        await steward.delivery.idle()
        assert platform.texts()[-2:] == ["🔁 Retro time: Sprint retro (prepare)", "🔁 Retro time: Sprint retro (hold)"]
        await platform.inject(command("rituals", user=COORD))
        assert "(retrospective, active)" in platform.texts()[-1]
    finally:
        KINDS.pop(retro.name, None)
