"""What only one member should see goes to their DM (created once); choices are asked as polls."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.replies import AskChoice, Option
from storage.models import Member
from tests.matrix.conftest import Person

POLL = "org.matrix.msc3381.poll.start"


async def _dm_from(ana: Person, bot_id: str) -> str:
    while not any(inviter == bot_id for inviter in ana.invites.values()):
        await ana.sync(500)
    room = next(r for r, inviter in ana.invites.items() if inviter == bot_id)
    await ana.join(room)
    return room


async def test_private_answers_and_a_poll_in_one_dm(people: Any, bot_factory: Any, synapse: Any) -> None:
    ana = await people("ana")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id,))
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)
    await ana.say(room, "Hello all, I run the platform team's clusters.")  # Steward now keeps a member row

    await ana.say(room, "!steward my data")  # an ephemeral answer: Matrix has none, so a DM
    dm = await _dm_from(ana, bot.user_id)
    kept = await ana.reply_from(bot.user_id, dm, "my data in the DM")
    assert "1 message," in kept["content"]["body"] and "<strong>k8s</strong>" in kept["content"]["formatted_body"]

    await ana.say(room, "!steward forget me")
    poll = await ana.reply_from(bot.user_id, dm, "the confirmation poll, in the same DM")
    assert poll["type"] == POLL
    answers = poll["content"][POLL]["answers"]
    assert [a["id"] for a in answers] == ["yes", "no"]
    assert "1️⃣" in poll["content"]["body"] and "2️⃣" in poll["content"]["body"]

    # First, with the numbered-reaction fallback: 2️⃣ is "Cancel".
    await ana.react(dm, poll["event_id"], "2️⃣")
    cancelled = await ana.reply_from(bot.user_id, dm, "the cancellation")
    assert "forget nothing" in cancelled["content"]["body"]

    await ana.say(room, "!steward forget me")
    poll = await ana.reply_from(bot.user_id, dm, "the second poll")
    await ana.send(dm, {"m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
                        "org.matrix.msc3381.poll.response": {"answers": ["yes"]}},
                   "org.matrix.msc3381.poll.response")
    done = await ana.reply_from(bot.user_id, dm, "the confirmation that ana is forgotten")
    assert "forgotten you" in done["content"]["body"]
    async with bot.db.session() as session:
        members = list((await session.exec(select(Member))).all())
    assert [m.forgotten_at is not None for m in members] == [True]
    assert all(m.platform_user_id != ana.user_id for m in members)

    # One DM, recorded in the bot's m.direct account data, reused for everything.
    direct = synapse.request("GET", f"/_matrix/client/v3/user/{bot.user_id}/account_data/m.direct",
                             token=bot.account.access_token)
    assert direct == {ana.user_id: [dm]}
    assert list(ana.invites) == [dm]


async def test_a_poll_in_a_room_answered_with_the_stable_event_names(people: Any, bot_factory: Any) -> None:
    ana, bruno = await people("ana"), await people("bruno")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id, bruno.user_id))
    await bruno.join(room)
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)
    await bruno.say(room, "I know Helm well.")
    sent = await bot.adapter.send(AskChoice(channel=room, text="Forget **you**?", key="forget:confirm",
                                            options=(Option(id="yes", label="Yes"), Option(id="no", label="No"))))
    poll = await bruno.reply_from(bot.user_id, room, "the poll in the room")
    assert poll["event_id"] == sent.message_id and poll["content"]["m.poll"]["answers"][1]["m.id"] == "no"
    await bruno.send(room, {"m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
                            "m.selections": ["no"]}, "m.poll.response")
    dm = await _dm_from(bruno, bot.user_id)  # the answer is for bruno only: his DM
    answer = await bruno.reply_from(bot.user_id, dm, "the answer to bruno's choice")
    assert "forget nothing" in answer["content"]["body"]
    async with bot.db.session() as session:
        members = list((await session.exec(select(Member))).all())
    assert [m.platform_user_id for m in members] == [bruno.user_id]


async def test_a_direct_message_can_carry_an_image(people: Any, bot_factory: Any, synapse: Any) -> None:
    from bot.replies import DirectMessage

    ana = await people("ana")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id,))
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    await bot.adapter.send(DirectMessage(user=ana.user_id, text="Your digest for October", image=png,
                                         image_name="k8s-2026-10.png"))
    dm = await _dm_from(ana, bot.user_id)
    text = await ana.reply_from(bot.user_id, dm, "the digest text")
    assert "Your digest" in text["content"]["body"]
    image = await ana.reply_from(bot.user_id, dm, "the chart")
    assert image["content"]["msgtype"] == "m.image" and image["content"]["url"].startswith("mxc://")
    assert image["content"]["info"] == {"mimetype": "image/png", "size": len(png)}
