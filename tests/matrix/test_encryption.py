"""End-to-end encrypted rooms: Steward reads and answers with matrix-nio's E2E (vodozemac)."""

from __future__ import annotations

from typing import Any

import pytest
from nio.crypto import ENCRYPTION_ENABLED

pytestmark = pytest.mark.skipif(not ENCRYPTION_ENABLED, reason="matrix-nio[e2e] is not installed")


async def test_an_encrypted_room_round_trip(people: Any, bot_factory: Any, synapse: Any) -> None:
    ana = await people("ana", encrypted=True)
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id,), encrypted=True)
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,), encryption=True)
    await ana.wait_member(room, bot.user_id)
    await ana.sync()  # learn the bot's device keys

    question = await ana.say(room, "!steward help")
    reply = await ana.reply_from(bot.user_id, room, "an encrypted answer")
    assert reply["type"] == "m.room.message"  # decrypted by ana's client
    assert reply["content"]["m.relates_to"]["event_id"] == question
    assert "help" in reply["content"]["body"]
    on_server = synapse.request("GET", f"/_matrix/client/v3/rooms/{room}/event/{reply['event_id']}",
                                token=ana.account.access_token)
    assert on_server["type"] == "m.room.encrypted"  # the homeserver never saw the text
    assert bot.adapter.client is not None and bot.adapter.client.rooms[room].encrypted
