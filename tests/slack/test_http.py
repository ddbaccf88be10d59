"""The Events API over HTTP, through bolt's real pipeline, with only Slack faked."""

from __future__ import annotations

import json
import time

from sqlmodel import select

from adapters.slack import render
from adapters.slack.render import FormField
from adapters.slack.translate import choice_action_id
from storage.models import InboundEvent, Member
from tests.slack.conftest import Running, click, event_body, msg, sign
from tests.slack.fake_slack import BOT_ID, BOT_USER


async def test_url_verification_answers_the_challenge(running: Running) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    status, text = await running.slack.post(body)
    assert status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


async def test_bad_signature_and_stale_timestamp_are_refused(running: Running) -> None:
    body = json.dumps(event_body(msg("<@UBOT> help")))
    status, _ = await running.slack.post(body, signed=sign(body, secret="not-the-secret"))
    assert status == 401
    status, _ = await running.slack.post(body, signed=sign(body, timestamp=int(time.time()) - 600))
    assert status == 401
    status, _ = await running.slack.post(body, signed={})
    assert status == 401
    await running.settle()
    assert running.fake.called("chat.postMessage") == []


async def test_help_via_mention_answers_in_thread(running: Running) -> None:
    event = msg("<@UBOT> help")
    status, _ = await running.slack.event(event_body(event))
    assert status == 200
    await running.settle()
    [post] = running.fake.called("chat.postMessage")
    assert post["channel"] == "C1"
    assert post["thread_ts"] == event["ts"]
    assert "Here is what you can ask me" in post["text"]
    assert post["blocks"][0]["type"] == "section"
    assert "• `who knows about kubernetes`" in post["blocks"][0]["text"]["text"]


async def test_mention_arrives_twice_and_has_one_effect(running: Running) -> None:
    event = msg("<@UBOT> help")
    mention = {**event, "type": "app_mention"}
    mention.pop("channel_type")
    await running.slack.event(event_body(mention))
    await running.slack.event(event_body(event))
    await running.settle()
    assert len(running.fake.called("chat.postMessage")) == 1


async def test_retried_event_has_one_effect(running: Running) -> None:
    body = event_body(msg("!steward help"))
    assert (await running.slack.event(body))[0] == 200
    assert (await running.slack.event(body, retry=1))[0] == 200
    await running.settle()
    assert (await running.slack.event(body, retry=2))[0] == 200
    await running.settle()
    assert len(running.fake.called("chat.postMessage")) == 1
    async with running.steward.db.session() as session:
        waiting = select(InboundEvent).where(InboundEvent.status != "done")
        assert (await session.exec(waiting)).all() == []  # done work leaves nothing behind


async def test_help_via_direct_message(running: Running) -> None:
    await running.slack.event(event_body(msg("aide", channel="DANA", channel_type="im")))
    await running.settle()
    [post] = running.fake.called("chat.postMessage")
    assert post["channel"] == "DANA"
    assert "thread_ts" not in post.args
    assert "Here is what you can ask me" in post["text"]


async def test_help_via_slash_command_is_ephemeral(running: Running) -> None:
    status, text = await running.slack.command("/steward", "help")
    assert (status, text) == (200, "")
    await running.settle()
    [eph] = running.fake.called("chat.postEphemeral")
    assert (eph["channel"], eph["user"]) == ("C1", "UANA")
    assert "Here is what you can ask me" in eph["text"]


async def test_who_slash_command(running: Running) -> None:
    await running.slack.command("/who", "helm")
    await running.settle()
    [eph] = running.fake.called("chat.postEphemeral")
    assert "“helm”" in eph["text"]


async def test_slash_command_outside_steward_channels_uses_response_url(running: Running) -> None:
    running.fake.fail("chat.postEphemeral", "channel_not_found")
    await running.slack.command("/steward", "help", channel="C9", response_url=running.fake.hook_url())
    await running.settle()
    [hook] = running.fake.hooks
    assert hook["response_type"] == "ephemeral"
    assert "Here is what you can ask me" in hook["text"]


async def test_forget_me_button_forgets_the_member(running: Running) -> None:
    await running.slack.event(event_body(msg("kubectl rollout undo saved my day")))
    await running.slack.event(event_body(msg("<@UBOT> forget me")))
    await running.settle()
    [ask] = running.fake.called("chat.postEphemeral")
    buttons = ask["blocks"][-1]["elements"]
    yes = next(b for b in buttons if b["value"] == "yes")
    assert yes["action_id"] == choice_action_id("forget:confirm", 0)
    status, _ = await running.slack.interaction(click(yes["action_id"], "yes"))
    assert status == 200
    await running.settle()
    async with running.steward.db.session() as session:
        member = (await session.exec(select(Member).where(Member.platform_user_id == "UANA"))).first()
    assert member is None or member.forgotten_at is not None
    assert "forgotten you" in running.texts("chat.postEphemeral")[-1]


async def test_own_and_other_bot_messages_are_ignored(running: Running) -> None:
    await running.slack.event(event_body(msg("<@UBOT> help", user=BOT_USER)))
    await running.slack.event(event_body({**msg("help", channel="DX", channel_type="im"), "bot_id": BOT_ID}))
    await running.slack.event(event_body({**msg("<@UBOT> help", user="UOTHERBOT"), "bot_id": "BOTHER"}))
    await running.settle()
    assert running.fake.called("chat.postMessage") == []
    async with running.steward.db.session() as session:
        assert (await session.exec(select(InboundEvent).where(InboundEvent.status != "done"))).all() == []


async def test_bad_bodies_get_4xx_and_the_app_keeps_working(running: Running) -> None:
    assert (await running.slack.post("{not json"))[0] == 400
    assert (await running.slack.post("payload=%7Bnot-json", "application/x-www-form-urlencoded"))[0] == 400
    assert (await running.slack.post(json.dumps({"type": "something_new"})))[0] == 404
    assert (await running.slack.interaction({"type": "shortcut", "callback_id": "x"}))[0] == 404
    await running.slack.event(event_body(msg("<@UBOT> help")))
    await running.settle()
    assert len(running.fake.called("chat.postMessage")) == 1


async def test_unknown_command_gets_a_friendly_answer(running: Running) -> None:
    await running.slack.event(event_body(msg("<@UBOT> hlep")))
    await running.settle()
    [post] = running.fake.called("chat.postMessage")
    assert "Did you mean `help`" in post["text"]


async def test_modal_opens_and_its_submission_reaches_the_choice_handler(running: Running) -> None:
    await running.slack.event(event_body(msg("I run the helm workshop")))
    await running.settle()
    view = render.modal(key="forget:confirm", title="Forget me", channel="C1",
                        fields=(FormField(id="answer", label="Type yes to confirm"),))
    assert await running.adapter.open_form("12345.98765.abcd", view) == "V1"
    [opened] = running.fake.called("views.open")
    assert opened["trigger_id"] == "12345.98765.abcd"
    submission = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "UANA", "name": "ana"},
                  "trigger_id": "1.2.x", "view": {**view, "id": "V1", "state": {"values": {
                      "answer": {"value": {"type": "plain_text_input", "value": "yes"}}}}}}
    status, text = await running.slack.interaction(submission)
    assert (status, text) == (200, "")  # an empty ack closes the modal
    await running.settle()
    async with running.steward.db.session() as session:
        member = (await session.exec(select(Member).where(Member.platform_user_id == "UANA"))).first()
    assert member is None or member.forgotten_at is not None


async def test_member_joining_the_channel_is_remembered(running: Running) -> None:
    await running.slack.event(event_body({"type": "member_joined_channel", "user": "UNEW", "channel": "C1",
                                          "channel_type": "C", "team": "T1"}))
    await running.settle()
    async with running.steward.db.session() as session:
        member = (await session.exec(select(Member).where(Member.platform_user_id == "UNEW"))).one()
    assert member.joined_at is not None
    assert member.display_name == "Unew"  # from users.info
