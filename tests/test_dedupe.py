"""The same platform event handled twice has no second effect, also across a restart."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from adapters.recording import RecordingAdapter
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from storage.db import Database
from storage.models import InboundEvent, Message
from tests.events import command, message


async def _count(db: Database, model: type[Message] | type[InboundEvent]) -> int:
    async with db.session() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_repeated_event_has_one_effect(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    event = command("help")
    await platform.inject(event)
    await platform.inject(event)
    assert len(platform.sent) == 1
    posted = message("how do I roll back a helm release?")
    await platform.inject(posted)
    await platform.inject(posted)
    assert await _count(steward.db, Message) == 1


async def test_dedupe_survives_restart(db: Database, config: Config) -> None:
    event = message("helm values precedence is confusing")
    reply_event = command("help")
    first = Steward(db, config, build_router())
    from app.runtime import sync_communities

    await sync_communities(first)
    platform = RecordingAdapter()
    first.add_adapter(platform)
    await first.start_adapters()
    await platform.inject(event)
    await platform.inject(reply_event)
    await first.stop()
    assert len(platform.sent) == 1

    second = Steward(db, config, build_router())  # a new process on the same database
    again = RecordingAdapter()
    second.add_adapter(again)
    await second.start_adapters()
    await again.inject(event)
    await again.inject(reply_event)
    await second.stop()
    assert again.sent == []
    assert await _count(db, Message) == 1
    assert await _count(db, InboundEvent) == 2
