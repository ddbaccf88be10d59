"""`team …` on a real Synapse: the answer reaches the member's DM, their words as text (no HTML of theirs, no room
ping: `m.mentions` is empty), in French for the French form's reader."""

from __future__ import annotations

from typing import Any

from tests.matrix.test_private import _dm_from


async def test_a_team_said_in_a_room_is_answered_in_the_dm_as_text(people: Any, bot_factory: Any) -> None:
    ana = await people("ana")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id,))
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)
    await ana.say(room, "!steward team @room <b>R&D</b>")
    dm = await _dm_from(ana, bot.user_id)
    noted = (await ana.reply_from(bot.user_id, dm, "the team noted"))["content"]
    assert "Noted: your team is “@\u2060room <b>R&D</b>”." in noted["body"]  # "@room" broken: it pings nobody
    assert "&lt;b&gt;R&amp;D&lt;/b&gt;" in noted["formatted_body"] and "<b>" not in noted["formatted_body"]
    assert noted["m.mentions"] == {}
    await ana.say(room, "!steward langue fr")
    await ana.reply_from(bot.user_id, room, "the language's answer")
    await ana.say(room, "!steward pas d'équipe")
    done = (await ana.reply_from(bot.user_id, dm, "the team removed"))["content"]
    assert "C'est fait\u00a0: je ne garde plus d'équipe pour vous." in done["body"]
