"""An anonymous survey on Matrix: a poll response is a room event every member can read, so the room gets a note
and each member answers in their own DM; nothing in the room tells who answered what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage.models import SurveyAnswer
from tests.matrix.conftest import Person
from tests.matrix.test_private import POLL, _dm_from

RESPONSE = "org.matrix.msc3381.poll.response"


async def _poll_in_dm(person: Person, bot_id: str) -> tuple[str, dict[str, Any]]:
    dm = await _dm_from(person, bot_id)
    poll = await person.wait_for(lambda e: e["room_id"] == dm and e.get("sender") == bot_id
                                 and e.get("type") == POLL, f"the survey poll in {person.user_id}'s DM")
    return dm, poll


async def test_a_survey_in_a_room_is_answered_in_each_members_dm(people: Any, bot_factory: Any) -> None:
    ana, bruno, carla = await people("ana"), await people("bruno"), await people("carla")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id, bruno.user_id, carla.user_id))
    await bruno.join(room)
    await carla.join(room)
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,), coordinators=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)

    await ana.say(room, '!steward survey now "How useful was this month?" scale 1-5 for 2 days')
    note = await bruno.reply_from(bot.user_id, room, "the survey's note in the room")
    assert note["type"] == "m.room.message" and "direct message" in note["content"]["body"]
    assert "How useful was this month?" in note["content"]["body"]

    dm, poll = await _poll_in_dm(bruno, bot.user_id)
    assert "How useful was this month?" in poll["content"]["body"]
    assert [a["id"] for a in poll["content"][POLL]["answers"]] == ["1", "2", "3", "4", "5"]
    await bruno.send(dm, {"m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
                          RESPONSE: {"answers": ["4"]}}, RESPONSE)
    thanks = await bruno.reply_from(bot.user_id, dm, "the thanks, in the DM")
    assert "anonymous" in thanks["content"]["body"]
    carla_dm, carla_poll = await _poll_in_dm(carla, bot.user_id)  # everyone in the room is asked
    assert carla_poll["content"][POLL]["answers"][0]["id"] == "1"

    # Someone reading the room's whole timeline sees no poll and no answer: only the note.
    timeline = await bruno.client.room_messages(room, start="", limit=100)
    kinds = {(e.source["sender"], e.source["type"]) for e in timeline.chunk}
    assert (bot.user_id, POLL) not in kinds and not any(t in (RESPONSE, "m.reaction") for _s, t in kinds), kinds
    # Carla answers with the numbered-reaction fallback, in her DM: two answers, neither in the room.
    await carla.react(carla_dm, carla_poll["event_id"], "2️⃣")
    await carla.reply_from(bot.user_id, carla_dm, "carla's thanks, in her DM")
    async with bot.db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(SurveyAnswer))).scalar_one() == 2
