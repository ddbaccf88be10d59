"""Slack payloads → neutral events, on payloads shaped like the ones Slack sends."""

from __future__ import annotations

import json

from adapters.slack.translate import Identity, choice_action_id, translate
from bot.events import (
    ChoicePicked,
    CommandInvoked,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    ReactionRemoved,
)
from tests.slack.conftest import click, event_body, msg

ME = Identity(team_id="T1", bot_user_id="UBOT", bot_id="BBOT", community="k8s")


def test_root_reply_and_address() -> None:
    root = translate(event_body(msg("helm rollbacks?", ts="1.1")), ME)
    assert isinstance(root, MessagePosted)
    assert (root.event_id, root.thread, root.addressed, root.is_reply) == ("slack:T1:msg:C1:1.1", None, False, False)
    reply = translate(event_body(msg("<@UBOT|steward> who knows about helm", ts="1.2", thread_ts="1.1")), ME)
    assert isinstance(reply, MessagePosted) and reply.is_reply
    assert (reply.addressed, reply.command_text) == (True, "who knows about helm")
    prefixed = translate(event_body(msg("!steward help")), ME)
    assert isinstance(prefixed, MessagePosted) and prefixed.addressed
    dm = translate(event_body(msg("aide", channel="D1", channel_type="im")), ME)
    assert isinstance(dm, MessagePosted) and dm.is_direct and dm.command_text == "aide"
    escaped = translate(event_body(msg("a &lt;b&gt; &amp; c")), ME)
    assert isinstance(escaped, MessagePosted) and escaped.text == "a <b> & c"


def test_app_mention_shares_the_message_event_id() -> None:
    event = msg("<@UBOT> help", ts="5.5")
    as_message = translate(event_body(event), ME)
    as_mention = translate(event_body({**event, "type": "app_mention"}), ME)
    assert as_message is not None and as_mention is not None
    assert as_message.event_id == as_mention.event_id


def test_edits_deletions_and_noise() -> None:
    edit = translate(event_body({"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "2.0",
                                 "message": {"user": "UANA", "text": "fixed", "ts": "1.1"},
                                 "previous_message": {"user": "UANA", "text": "fxied", "ts": "1.1"}}), ME)
    assert isinstance(edit, MessageEdited) and (edit.message_id, edit.text) == ("1.1", "fixed")
    unfurl = {"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "2.1",
              "message": {"user": "UANA", "text": "same", "ts": "1.1"}, "previous_message": {"text": "same"}}
    assert translate(event_body(unfurl), ME) is None
    gone = translate(event_body({"type": "message", "subtype": "message_deleted", "channel": "C1",
                                 "deleted_ts": "1.1", "ts": "2.2", "previous_message": {"user": "UANA"}}), ME)
    assert isinstance(gone, MessageDeleted) and gone.message_id == "1.1"
    assert translate(event_body({**msg("joined"), "subtype": "channel_join"}), ME) is None
    bot = translate(event_body({**msg("beep"), "bot_id": "BX", "subtype": "bot_message"}), ME)
    assert isinstance(bot, MessagePosted) and bot.sender.is_bot


def test_reactions_and_memberships() -> None:
    item = {"type": "message", "channel": "C1", "ts": "1.1"}
    added = translate(event_body({"type": "reaction_added", "user": "UBO", "reaction": "+1::skin-tone-3",
                                  "item_user": "UANA", "item": item, "event_ts": "3.0"}), ME)
    assert isinstance(added, ReactionAdded) and (added.emoji, added.message_author) == ("+1", "UANA")
    removed = translate(event_body({"type": "reaction_removed", "user": "UBO", "reaction": "tada",
                                    "item": item, "event_ts": "3.1"}), ME)
    assert isinstance(removed, ReactionRemoved)
    file_reaction = {"type": "reaction_added", "user": "UBO", "reaction": "x", "item": {"type": "file"}}
    assert translate(event_body(file_reaction), ME) is None
    joined = translate(event_body({"type": "member_joined_channel", "user": "UNEW", "channel": "C1"}), ME)
    left = translate(event_body({"type": "member_left_channel", "user": "UNEW", "channel": "C1"}), ME)
    assert isinstance(joined, MemberJoined) and isinstance(left, MemberLeft)
    team = translate(event_body({"type": "team_join", "user": {"id": "UNEW", "real_name": "Zoé", "tz": "Europe/Paris",
                                                               "profile": {"display_name": "zoe"}}}), ME)
    assert isinstance(team, MemberJoined)
    assert (team.community, team.channel, team.sender.display_name, team.sender.timezone) == (
        "k8s", "", "zoe", "Europe/Paris")


def test_slash_commands() -> None:
    base = {"team_id": "T1", "channel_id": "C1", "user_id": "UANA", "trigger_id": "1.2.3"}
    steward = translate({**base, "command": "/steward", "text": "  my   data "}, ME)
    assert isinstance(steward, CommandInvoked) and steward.text == "my data"
    who = translate({**base, "command": "/who", "text": "helm charts"}, ME)
    assert isinstance(who, CommandInvoked) and who.text == "who knows about helm charts"
    again = translate({**base, "command": "/who", "text": "helm charts"}, ME)
    assert again is not None and again.event_id == who.event_id  # same delivery, same id
    other = translate({**base, "command": "/who", "text": "helm charts", "trigger_id": "9.9.9"}, ME)
    assert other is not None and other.event_id != who.event_id
    assert translate({**base, "command": "/other", "text": ""}, ME) is None


def test_buttons_and_modals() -> None:
    picked = translate(click(choice_action_id("forget:confirm", 0), "yes"), ME)
    assert isinstance(picked, ChoicePicked) and (picked.key, picked.option) == ("forget:confirm", "yes")
    assert translate(click("someone_elses_button", "x"), ME) is None
    view = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "UANA", "name": "ana"},
            "view": {"id": "V1", "callback_id": "form|survey:3",
                     "private_metadata": json.dumps({"channel": "C1", "thread": "1.1"}),
                     "state": {"values": {"answer": {"value": {"type": "plain_text_input", "value": "Great"}}}}}}
    submitted = translate(view, ME)
    assert isinstance(submitted, ChoicePicked)
    assert (submitted.key, submitted.option, submitted.channel, submitted.thread) == ("survey:3", "Great", "C1", "1.1")
    two = {**view, "view": {**view["view"], "state": {"values": {
        "a": {"value": {"value": "1"}}, "b": {"value": {"selected_option": {"value": "x"}}}}}}}
    both = translate(two, ME)
    assert isinstance(both, ChoicePicked) and json.loads(both.option) == {"a": "1", "b": "x"}
    assert translate({"type": "shortcut"}, ME) is None
