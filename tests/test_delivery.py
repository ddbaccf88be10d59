"""Durable replies: kept in the outbox with their event, resent by the next Steward if the process dies first."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot import reply_codec
from bot.config import Config
from bot.core import Steward
from bot.delivery import STALE_AFTER
from bot.features import build_router
from bot.replies import (
    AskChoice,
    AskForm,
    DirectMessage,
    Ephemeral,
    FormField,
    Option,
    Post,
    React,
    Reply,
    ReplyInThread,
)
from storage import outbox
from storage.db import Database
from storage.models import OutboxReply
from storage.types import utcnow
from tests.events import command

REPLIES: list[Reply] = [
    Post(channel="C1", text="**hi** [link](https://example.org) — é"),
    ReplyInThread(channel="C1", thread="1.2", text="in the thread"),
    DirectMessage(user="UANA", text="chart", image=b"\x89PNG\x00\xff", image_name="june.png"),
    Ephemeral(channel="C1", user="UANA", text="only you", thread="1.2"),
    AskChoice(channel="C1", text="Ask them?", options=(Option(id="yes", label="Yes"), Option(id="no", label="No")),
              key="route:1", thread="1.2", user="UANA"),
    React(channel="C1", message_id="1.3", emoji="white_check_mark"),
]


class CrashingAdapter(RecordingAdapter):
    """A platform call that never returns normally, like a process dying in the middle of sending."""

    async def send(self, reply: Reply, key: str | None = None) -> object:  # type: ignore[override]
        raise RuntimeError("the process died here")


@pytest.mark.parametrize("reply", REPLIES, ids=lambda r: type(r).__name__)
def test_every_reply_survives_the_round_trip(reply: Reply) -> None:
    back = reply_codec.decode(reply_codec.encode(reply))
    assert back == reply and type(back) is type(reply)
    if isinstance(reply, DirectMessage):
        assert isinstance(back, DirectMessage) and back.image == reply.image


def test_forms_are_kept_only_with_a_fallback_and_junk_is_refused() -> None:
    form = AskForm(channel="C1", user="UANA", key="k", title="T", fields=(FormField(id="a", label="A"),), event_id="e")
    assert not reply_codec.keepable(form)
    with_fallback = dataclasses.replace(form, fallback=REPLIES[4])
    assert reply_codec.keepable(with_fallback)
    assert reply_codec.decode(reply_codec.encode(with_fallback)) == with_fallback
    for junk in ("{", '{"kind": "Nope"}', '{"kind": "Post", "colour": 1}', "[]"):
        with pytest.raises(ValueError, match="not a stored reply"):
            reply_codec.decode(junk)


async def _pending(db: Database) -> int:
    async with db.session() as session:
        stmt = select(func.count()).select_from(OutboxReply).where(OutboxReply.status == "pending")  # type: ignore[arg-type]
        return int((await session.exec(stmt)).one()[0])  # type: ignore[call-overload]


async def _steward(db: Database, config: Config, adapter: RecordingAdapter) -> Steward:
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    steward.add_adapter(adapter)
    await steward.start_adapters()
    return steward


async def test_replies_are_crossed_out_once_sent(db: Database, config: Config) -> None:
    platform = RecordingAdapter()
    steward = await _steward(db, config, platform)
    await platform.inject(command("help", user="UANA"))
    assert platform.texts()[-1].startswith("Hi! I'm Steward")
    await steward.delivery.idle()
    assert await _pending(db) == 0
    await steward.stop()


async def test_a_reply_lost_in_a_crash_is_sent_by_the_next_steward(db: Database, config: Config) -> None:
    crashed = CrashingAdapter()
    first = await _steward(db, config, crashed)
    event = command("help", user="UANA")
    await crashed.inject(event)
    await first.stop()  # what a dead process leaves: the event is handled, its reply is not sent
    assert await _pending(db) == 1
    platform = RecordingAdapter()
    second = await _steward(db, config, platform)
    await second.delivery.idle()
    assert len(platform.sent) == 1 and platform.texts()[0].startswith("Hi! I'm Steward")
    assert await _pending(db) == 0
    await platform.inject(event)  # the platform redelivers the event: it has had its effect already
    assert len(platform.sent) == 1
    await second.stop()


async def test_stale_replies_are_dropped_and_other_platforms_wait(db: Database, config: Config) -> None:
    async with db.session() as session:
        await outbox.keep(session, "gone", "recording", "ev-old", [outbox.Entry("C1", reply_codec.encode(REPLIES[0]))])
        await outbox.keep(session, "gone", "matrix", "ev-mx", [outbox.Entry("C1", reply_codec.encode(REPLIES[1]))])
        old = (await session.exec(select(OutboxReply).where(OutboxReply.event_id == "ev-old"))).one()  # type: ignore[call-overload]
        old[0].created_at = utcnow() - STALE_AFTER - timedelta(minutes=1)
    platform = RecordingAdapter()
    steward = await _steward(db, config, platform)
    assert platform.sent == []  # too old to make sense now
    assert await _pending(db) == 1  # the Matrix reply waits for a Steward that serves Matrix
    await steward.stop()


@pytest.mark.skipif(os.environ.get("STEWARD_TEST_DATABASE") != "postgres",
                    reason="needs PostgreSQL advisory locks (runs in the PostgreSQL pass)")
async def test_a_live_stewards_replies_are_not_taken(db: Database, config: Config) -> None:
    crashed = CrashingAdapter()
    alive = await _steward(db, config, crashed)  # still running: its lock says so
    await crashed.inject(command("help", user="UANA"))
    platform = RecordingAdapter()
    other = await _steward(db, config, platform)
    await other.delivery.idle()
    assert platform.sent == [] and await _pending(db) == 1
    await alive.stop()
    await other.stop()
    third_platform = RecordingAdapter()
    third = await _steward(db, config, third_platform)
    await third.delivery.idle()
    assert len(third_platform.sent) == 1
    await third.stop()


class DownAdapter(RecordingAdapter):
    """A platform that stays unreachable."""

    async def send(self, reply: Reply, key: str | None = None) -> object:  # type: ignore[override]
        from bot.errors import Transient

        raise Transient("unreachable")


async def test_a_reply_never_deliverable_is_dropped_once_stale(db: Database, config: Config) -> None:
    import bot.delivery as delivery_module

    down = DownAdapter()
    steward = await _steward(db, config, down)
    async with db.session() as session:
        parcels = await steward.delivery.keep(session, "recording", "ev-late", [REPLIES[0]])
    parcels[0].born -= delivery_module.STALE_AFTER.total_seconds() + 1  # queued more than an hour ago
    assert await steward.delivery.deliver(parcels) == [None]
    await steward.delivery.idle()
    assert await _pending(db) == 0  # dropped, not retried for ever
    await steward.stop()
