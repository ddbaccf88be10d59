"""The question loop on a real Synapse: ask them, an answer in the thread, `solved`, `my questions`, kudos by pill."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlmodel import select

from storage.db import Database
from storage.models import Contribution, Member, Question
from tests.matrix.conftest import WAIT, Person
from tests.matrix.test_private import POLL, _dm_from


async def _until(db: Database, query: Any, what: str) -> list[Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        async with db.session() as session:
            rows = list((await session.exec(query)).all())
        if rows:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"waited {WAIT}s for {what}")


def _in_thread(root: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                             "m.in_reply_to": {"event_id": root}}}


async def _reaction_from(person: Person, bot_id: str, room: str, target: str) -> str:
    event = await person.wait_for(lambda e: e.get("type") == "m.reaction" and e.get("sender") == bot_id
                                  and e["room_id"] == room
                                  and e["content"]["m.relates_to"]["event_id"] == target, "Steward's reaction")
    return str(event["content"]["m.relates_to"]["key"])


async def test_ask_answer_solved_my_questions_and_kudos_by_pill(people: Any, bot_factory: Any) -> None:
    ana, frank, bruno = await people("ana"), await people("frank"), await people("bruno")
    account = bot_factory.register()
    room = await frank.create_room(invite=(account.user_id, ana.user_id, bruno.user_id))
    await ana.join(room)
    await bruno.join(room)
    bot = await bot_factory(channels=(room,), inviters=(frank.user_id,))
    await frank.wait_member(room, bot.user_id)

    for question in ("How do I roll back a helm release?", "Why does my helm upgrade time out?"):
        root = await frank.say(room, question)
        answer = await ana.say(room, f"For {question.lower()} use helm rollback and --atomic", **_in_thread(root))
        await frank.react(room, answer, "✅")
    await _until(bot.db, select(Contribution).where(Contribution.kind == "accepted"), "Ana's accepted answers")

    ask = await frank.say(room, "!steward who knows about helm upgrades?")
    suggestions = await frank.reply_from(bot.user_id, room, "the suggestions")
    assert "I found only one person who may know about" in suggestions["content"]["body"]  # only Ana answered
    dm = await _dm_from(frank, bot.user_id)
    poll = await frank.wait_for(lambda e: e["room_id"] == dm and e.get("type") == POLL, "the choice, as a poll")
    await frank.send(dm, {"m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
                          "org.matrix.msc3381.poll.response": {"answers": ["ask"]}},
                     "org.matrix.msc3381.poll.response")
    ana_dm = await _dm_from(ana, bot.user_id)
    asked = await ana.reply_from(bot.user_id, ana_dm, "the question, in Ana's DM")
    assert "asked: “helm upgrades”" in asked["content"]["body"] and "Why you: answered" in asked["content"]["body"]

    await ana.say(room, "helm upgrade --atomic rolls back by itself", **_in_thread(ask))
    solved = await frank.say(room, "solved, thanks!", **_in_thread(ask))  # not addressed to Steward
    assert await _reaction_from(frank, bot.user_id, room, solved) == "✅"
    async with bot.db.session() as session:
        assert (await session.exec(select(Question))).one().status == "solved"
    await frank.say(room, "!steward my questions")
    mine = await frank.reply_from(bot.user_id, dm, "my questions, in the DM")
    assert "“helm upgrades”: ✅ solved, asked" in mine["content"]["body"]

    pill = f'<a href="https://matrix.to/#/{ana.user_id}">Ana</a>'
    thanks = await bruno.send(room, {"msgtype": "m.text", "body": "thanks Ana for the helm tip",
                                     "format": "org.matrix.custom.html",
                                     "formatted_body": f"thanks {pill} for the helm tip",
                                     "m.mentions": {"user_ids": [ana.user_id]}})
    assert await _reaction_from(bruno, bot.user_id, room, thanks) == "✨"  # a real reaction, not the text
    [entry] = await _until(bot.db, select(Contribution, Member).join(
        Member, Member.id == Contribution.member_id).where(Contribution.kind == "thanked"), "the kudos")  # type: ignore[arg-type]
    assert entry[1].platform_user_id == ana.user_id and entry[0].note == "the helm tip"

    ghost = "@nobody:" + ana.user_id.split(":", 1)[1]
    await bruno.say(room, f"!steward thanks {ghost} for nothing")
    bruno_dm = await _dm_from(bruno, bot.user_id)
    refused = await bruno.reply_from(bot.user_id, bruno_dm, "the refusal")
    assert refused["content"]["body"].startswith(f"I don't know {ghost} in this community")
    async with bot.db.session() as session:
        assert (await session.exec(select(Member).where(Member.platform_user_id == ghost))).first() is None
