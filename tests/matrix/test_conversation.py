"""Members talk to Steward on a real Synapse: commands in rooms and threads, reactions, invites."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from storage.db import Database
from storage.models import Member, Message, Reaction
from tests.matrix.conftest import WAIT


async def _room_with_bot(people: Any, bot_factory: Any, *, extra: int = 0) -> tuple[Any, list[Any], str]:
    ana = await people("ana")
    others = [await people(f"member{i}") for i in range(extra)]
    bot_account = bot_factory.register()
    room = await ana.create_room(invite=(bot_account.user_id, *(o.user_id for o in others)))
    for other in others:
        await other.join(room)
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)
    return bot, [ana, *others], room


async def test_help_in_a_room_and_in_its_thread(people: Any, bot_factory: Any) -> None:
    bot, (ana,), room = await _room_with_bot(people, bot_factory)
    question = await ana.say(room, "!steward help")
    reply = await ana.reply_from(bot.user_id, room, "the help")
    content = reply["content"]
    assert content["msgtype"] == "m.notice"
    assert "help" in content["body"] and "<code>help</code>" in content["formatted_body"]
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert content["m.relates_to"]["event_id"] == question

    localpart = bot.user_id.split(":")[0].lstrip("@")
    await ana.say(room, f"{localpart}: aide", **{"m.relates_to": {
        "rel_type": "m.thread", "event_id": question, "is_falling_back": True,
        "m.in_reply_to": {"event_id": question}}})
    in_thread = await ana.reply_from(bot.user_id, room, "the help in the thread")
    assert in_thread["content"]["m.relates_to"]["event_id"] == question
    assert "`aide`" in in_thread["content"]["body"]  # asked in French, answered in French


async def _poll_db(db: Database, query: Any, what: str) -> list[Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        async with db.session() as session:
            rows = list((await session.exec(query)).all())
        if rows:
            return rows
        import asyncio

        await asyncio.sleep(0.1)
    raise AssertionError(f"waited {WAIT}s for {what}")


async def test_reactions_are_indexed(people: Any, bot_factory: Any) -> None:
    bot, (ana, bruno), room = await _room_with_bot(people, bot_factory, extra=1)
    answer = await ana.say(room, "Use `kubectl rollout undo` to go back to the previous ReplicaSet.")
    await bruno.react(room, answer, "✅")
    await bruno.react(room, answer, "🙏")
    rows = await _poll_db(bot.db, select(Reaction).where(Reaction.emoji == "pray"), "the 🙏 reaction indexed")
    async with bot.db.session() as session:
        message = (await session.exec(select(Message).where(Message.platform_id == answer))).one()
        emoji = {r.emoji for r in (await session.exec(select(Reaction))).all()}
        reactor = await session.get(Member, rows[0].member_id)
    assert message.text.startswith("Use `kubectl")
    assert emoji == {"white_check_mark", "pray"}
    assert reactor is not None and reactor.platform_user_id == bruno.user_id


async def test_invites_from_strangers_are_ignored(people: Any, bot_factory: Any, synapse: Any) -> None:
    ana, mallory = await people("ana"), await people("mallory")
    bot_account = bot_factory.register()
    strange = await mallory.create_room(invite=(bot_account.user_id,))
    bot = await bot_factory(inviters=(ana.user_id, "example.org"))
    friendly = await ana.create_room(invite=(bot.user_id,))
    await ana.wait_member(friendly, bot.user_id)  # the bot has seen both invites by now
    state = synapse.request("GET", f"/_matrix/client/v3/rooms/{strange}/state/m.room.member/{bot.user_id}",
                            token=mallory.account.access_token)
    assert state["membership"] == "invite"


async def test_joins_edits_and_redactions_reach_the_index(people: Any, bot_factory: Any) -> None:
    bot, (ana,), room = await _room_with_bot(people, bot_factory)
    bruno = await people("bruno")
    await ana.invite(room, bruno.user_id)
    await bruno.join(room)
    joined = await _poll_db(bot.db, select(Member).where(Member.platform_user_id == bruno.user_id,
                                                         Member.joined_at.is_not(None)),  # type: ignore[union-attr]
                            "bruno's join")
    assert joined[0].left_at is None

    typo = await ana.say(room, "Helm chrts are great")
    thanks = await bruno.react(room, typo, "👍")
    await _poll_db(bot.db, select(Reaction).where(Reaction.emoji == "+1"), "bruno's 👍")
    await ana.send(room, {"msgtype": "m.text", "body": "* Helm charts are great",
                          "m.new_content": {"msgtype": "m.text", "body": "Helm charts are great"},
                          "m.relates_to": {"rel_type": "m.replace", "event_id": typo}})
    await _poll_db(bot.db, select(Message).where(Message.text == "Helm charts are great"), "the edit")
    await bruno.client.room_redact(room, thanks)
    marker = await ana.say(room, "a marker")  # handled after the redaction: events go in order
    await _poll_db(bot.db, select(Message).where(Message.platform_id == marker), "the marker")
    async with bot.db.session() as session:
        assert (await session.exec(select(Reaction))).first() is None  # the 👍 was taken back
        assert (await session.exec(select(Message).where(Message.platform_id == typo))).first() is not None
    await ana.client.room_redact(room, typo)
    marker = await ana.say(room, "the last word")
    await _poll_db(bot.db, select(Message).where(Message.platform_id == marker), "the last message")
    async with bot.db.session() as session:
        assert (await session.exec(select(Message).where(Message.platform_id == typo))).first() is None
