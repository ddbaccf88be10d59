"""Never replay, never miss: restarts of Steward and of the homeserver, rate limits, queued replies."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.replies import Post
from tests.matrix.conftest import stop_bot


async def _room_with_bot(people: Any, bot_factory: Any, **kw: Any) -> tuple[Any, Any, str]:
    ana = await people("ana")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id,))
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,), **kw)
    await ana.wait_member(room, bot.user_id)
    return bot, ana, room


def _root(event: dict[str, Any]) -> str:
    return str(event["content"]["m.relates_to"]["event_id"])


async def test_restart_replays_nothing_and_misses_nothing(people: Any, bot_factory: Any) -> None:
    bot, ana, room = await _room_with_bot(people, bot_factory)
    before = await ana.say(room, "!steward help")
    assert _root(await ana.reply_from(bot.user_id, room)) == before
    await stop_bot(bot)

    # Said while Steward is down, more than one sync timeline holds: the gap is paged back.
    missed = await ana.say(room, "!steward language fr")
    for i in range(4):
        await ana.say(room, f"chatter {i}")
    await bot_factory(channels=(room,), inviters=(ana.user_id,), timeline_limit=2)
    assert _root(await ana.reply_from(bot.user_id, room, "the answer to what was missed")) == missed

    after = await ana.say(room, "!steward help")
    # Steward handles a room's events in order: a replayed `before` would have been answered first.
    assert _root(await ana.reply_from(bot.user_id, room, "the answer after the restart")) == after


async def test_homeserver_restart_under_a_running_bot(people: Any, bot_factory: Any, synapse: Any) -> None:
    bot, ana, room = await _room_with_bot(people, bot_factory)
    await asyncio.to_thread(synapse.stop)
    async with bot.db.session() as session:  # what the core does with an event's replies: keep, then send
        parcels = await bot.steward.delivery.keep(session, "matrix", "test:down",
                                                  [Post(channel=room, text="written while the homeserver was down")])
    [first_attempt] = await bot.steward.delivery.deliver(parcels)
    assert first_attempt is None  # not sent yet: it stays in the outbox and is retried
    await asyncio.to_thread(synapse.start)

    event = await ana.reply_from(bot.user_id, room, "the queued message")
    assert event["content"]["body"] == "written while the homeserver was down"
    question = await ana.say(room, "!steward help")
    assert _root(await ana.reply_from(bot.user_id, room, "an answer after the restart")) == question


async def test_rate_limits_are_waited_out(people: Any, bot_factory: Any, synapse: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    bot, ana, room = await _room_with_bot(people, bot_factory)
    # Turn the message rate limit back on for the bot alone: one message, then one per second.
    synapse.request("POST", f"/_synapse/admin/v1/users/{bot.user_id}/override_ratelimit",
                    {"messages_per_second": 1, "burst_count": 1}, token=synapse.admin.access_token)
    caplog.set_level(logging.WARNING, logger="adapters.matrix")
    questions = [await ana.say(room, "!steward help") for _ in range(3)]
    answered = [_root(await ana.reply_from(bot.user_id, room, f"answer {i}")) for i in range(3)]
    assert answered == questions
    assert any("rate limit" in r.getMessage() for r in caplog.records)
