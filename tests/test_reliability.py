"""A failing handler answers kindly, is logged with context, rolls back its writes and never stops the loop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities, wait_for_shutdown_signal
from bot.commands import CommandSpec
from bot.config import Config
from bot.context import Context
from bot.core import Steward
from bot.events import MessagePosted
from bot.features import build_router
from storage.db import Database
from storage.models import InboundEvent, Message
from tests.events import command, message


def _router_with_broken_feature() -> object:
    router = build_router()

    @router.command(CommandSpec(key="explode", forms={"en": ("explode",)}, summary="breaks"))
    async def explode(ctx: Context) -> None:
        await ctx.ensure_member()
        ctx.reply("this reply must never be sent")
        raise RuntimeError("boom")

    @router.on(MessagePosted)
    async def fragile(ctx: Context) -> None:
        assert isinstance(ctx.event, MessagePosted)
        if "poison" in ctx.event.text:
            raise ValueError("poisoned message")

    return router


@pytest.fixture
async def fragile_bot(db: Database, config: Config) -> AsyncIterator[tuple[Steward, RecordingAdapter]]:
    steward = Steward(db, config, _router_with_broken_feature())  # type: ignore[arg-type]
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    yield steward, platform
    await steward.stop()


async def test_failing_handler_apologises_and_the_loop_goes_on(
        fragile_bot: tuple[Steward, RecordingAdapter], caplog: pytest.LogCaptureFixture) -> None:
    steward, platform = fragile_bot
    boom = command("explode", user="UANA")
    with caplog.at_level(logging.ERROR):
        await platform.inject(boom)
    assert platform.texts() == ["Sorry, something went wrong on my side while handling that. "
                                "It has been logged; please try again in a moment."]
    record = next(r for r in caplog.records if "handler failed" in r.getMessage())
    assert boom.event_id in record.getMessage() and "k8s" in record.getMessage()
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])

    await platform.inject(boom)  # redelivered: no second apology
    assert len(platform.sent) == 1
    async with steward.db.session() as session:
        row = await session.get(InboundEvent, boom.event_id)
        assert row is not None and row.status == "failed"

    await platform.inject(command("help", user="UANA"))  # the loop is alive
    assert "Steward" in platform.texts()[-1]


async def test_failing_event_handler_rolls_back_its_writes(fragile_bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = fragile_bot
    await platform.inject(message("poison pill about helm"))
    await platform.inject(message("a healthy message about helm"))
    async with steward.db.session() as session:
        texts = (await session.exec(select(Message.text))).scalars().all()  # type: ignore[call-overload]
    assert texts == ["a healthy message about helm"]


async def test_stop_waits_for_in_flight_work(db: Database, config: Config) -> None:
    router = build_router()
    started, release = asyncio.Event(), asyncio.Event()

    @router.on(MessagePosted)
    async def slow(ctx: Context) -> None:
        started.set()
        await release.wait()

    steward = Steward(db, config, router)
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    in_flight = asyncio.create_task(platform.inject(message("slow one")))
    await started.wait()
    stopping = asyncio.create_task(steward.stop(grace=5))
    await asyncio.sleep(0)
    assert not stopping.done()
    await platform.inject(message("arrives during shutdown"))  # refused, left for redelivery
    release.set()
    await asyncio.gather(in_flight, stopping)
    async with db.session() as session:
        texts = (await session.exec(select(Message.text))).scalars().all()  # type: ignore[call-overload]
        assert texts == ["slow one"]
        assert (await session.exec(select(func.count()).select_from(InboundEvent))).scalar_one() == 1  # type: ignore[call-overload]


async def test_sigterm_is_caught_for_a_graceful_stop() -> None:
    waiter = asyncio.create_task(wait_for_shutdown_signal())
    await asyncio.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(waiter, 5)


@pytest.mark.skipif(os.environ.get("STEWARD_TEST_DATABASE") != "postgres",
                    reason="pooled connections closed by the server: PostgreSQL only")
async def test_a_rested_connection_the_server_closed_is_replaced_at_checkout(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ping per transaction (a round trip per event), but a connection that rested is checked first."""
    import asyncpg
    from sqlalchemy import text

    import storage.db
    from tests.conftest import PG_ADMIN_URL

    async with db.session() as session:
        backend = (await (await session.connection()).execute(text("SELECT pg_backend_pid()"))).scalar()
    admin = await asyncpg.connect(PG_ADMIN_URL)  # as a database restart would, behind the pool's back
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", backend)
    finally:
        await admin.close()
    monkeypatch.setattr(storage.db, "PING_AFTER_REST", 0.0)
    async with db.session() as session:
        now = (await (await session.connection()).execute(text("SELECT pg_backend_pid()"))).scalar()
    assert now != backend
