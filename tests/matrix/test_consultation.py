"""On a real Synapse: a sponsor consults the room, a member answers in the thread, the voices reach the sponsor
by DM at the deadline, and the sponsor's answer is posted in the room where the question was asked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.scheduling import run_due
from storage.models import Consultation


async def test_the_sponsor_answer_comes_back_to_the_room(people: Any, bot_factory: Any) -> None:
    ana, bruno = await people("ana"), await people("bruno")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id, bruno.user_id))
    await bruno.join(room)
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,), sponsors=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)

    await ana.say(room, "!steward consult k8s: should we standardise on Helm charts? until friday")
    asked = await bruno.wait_for(lambda e: e.get("sender") == bot.user_id and e["room_id"] == room
                                 and "A sponsor asks" in e["content"].get("body", ""), "the consultation")
    await bruno.say(room, "Yes: reviews get easier.", **{"m.relates_to": {
        "rel_type": "m.thread", "event_id": asked["event_id"], "is_falling_back": True,
        "m.in_reply_to": {"event_id": asked["event_id"]}}})
    async with bot.db.session() as session:
        consultation = (await session.exec(select(Consultation))).one()
    await bruno.wait_for(lambda e: e.get("type") == "m.reaction" and e["content"]["m.relates_to"]["event_id"]
                         != asked["event_id"], "Steward's ☑ on the voice")

    await run_due(bot.steward, consultation.deadline + timedelta(minutes=1))
    await bruno.wait_for(lambda e: e.get("sender") == bot.user_id and "delivered to the sponsor"
                         in e["content"].get("body", ""), "the thank-you in the thread")

    await ana.say(room, f"!steward decision on consultation {consultation.id}: Helm for new services; "
                        "kustomize stays where it works")
    answer = await bruno.wait_for(lambda e: e.get("sender") == bot.user_id and e["room_id"] == room
                                  and "answer to consultation" in e["content"].get("body", ""), "the answer")
    body, html = answer["content"]["body"], answer["content"]["formatted_body"]
    assert "Helm for new services; kustomize stays where it works" in body and "1 voice." in body
    assert "m.relates_to" not in answer["content"]  # in the room itself, not hidden in a thread
    assert f'href="https://matrix.to/#/{room.replace("!", "%21").replace(":", "%3A")}/' in html
    async with bot.db.session() as session:
        assert (await session.exec(select(Consultation))).one().decision is not None
