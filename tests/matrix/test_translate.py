"""Matrix payloads (as a homeserver sends them) → neutral events."""

from __future__ import annotations

from typing import Any

from adapters.matrix.translate import PollAnswer, RoomView, translate
from bot.events import MemberJoined, MemberLeft, MessageDeleted, MessageEdited, MessagePosted, ReactionAdded

BOT = "@steward:example.org"
ROOM = RoomView("!room:example.org", BOT, own_names=("Steward", "steward"), display_names={"@ana:example.org": "Ana"})
DM = RoomView("!dm:example.org", BOT, is_direct=True)


def _event(content: dict[str, Any], kind: str = "m.room.message", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": "$ev1", "sender": "@ana:example.org", "origin_server_ts": 1_700_000_000_000,
            "content": content, **extra}


def test_a_message_in_a_room() -> None:
    event = translate(_event({"msgtype": "m.text", "body": "kubectl tips"}), ROOM)
    assert isinstance(event, MessagePosted)
    assert (event.event_id, event.message_id, event.channel, event.text) == ("$ev1", "$ev1", ROOM.room_id,
                                                                               "kubectl tips")
    assert event.sender.display_name == "Ana" and not event.addressed and event.thread is None
    assert event.at.year == 2023


def test_commands_by_prefix_by_name_by_mention_and_in_dms() -> None:
    cases = {
        "!steward help": "help", "!Steward: language fr": "language fr", "Steward: my data": "my data",
        "steward, help": "help", "@steward:example.org: forget me": "forget me",
    }
    for body, command in cases.items():
        event = translate(_event({"msgtype": "m.text", "body": body}), ROOM)
        assert isinstance(event, MessagePosted) and event.addressed, body
        assert event.command_text == command, body
    pill = translate(_event({"msgtype": "m.text", "body": "hey Steward what can you do", "format":
                             "org.matrix.custom.html", "formatted_body":
                             'hey <a href="https://matrix.to/#/@steward:example.org">Steward</a> what can you do'}),
                     ROOM)
    assert isinstance(pill, MessagePosted) and pill.addressed and pill.command_text == "hey what can you do"
    mentioned = translate(_event({"msgtype": "m.text", "body": "help please",
                                  "m.mentions": {"user_ids": [BOT]}}), ROOM)
    assert isinstance(mentioned, MessagePosted) and mentioned.addressed
    for body in ("!stewardship is an art", "the steward said", "help"):
        event = translate(_event({"msgtype": "m.text", "body": body}), ROOM)
        assert isinstance(event, MessagePosted) and not event.addressed, body
    direct = translate(_event({"msgtype": "m.text", "body": "help"}), DM)
    assert isinstance(direct, MessagePosted) and direct.addressed and direct.is_direct and direct.command_text == "help"


def test_threads_rich_replies_and_edits() -> None:
    in_thread = translate(_event({"msgtype": "m.text", "body": "me too", "m.relates_to": {
        "rel_type": "m.thread", "event_id": "$root", "m.in_reply_to": {"event_id": "$other"}}}), ROOM)
    assert isinstance(in_thread, MessagePosted) and in_thread.thread == "$root" and in_thread.is_reply
    reply = translate(_event({"msgtype": "m.text", "body": "> <@bruno:example.org> how?\n\nlike this",
                              "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}}), ROOM)
    assert isinstance(reply, MessagePosted) and reply.thread == "$q" and reply.text == "like this"
    edit = translate(_event({"msgtype": "m.text", "body": "* fixed", "m.new_content": {
        "msgtype": "m.text", "body": "fixed"}, "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}}), ROOM)
    assert isinstance(edit, MessageEdited) and (edit.message_id, edit.text) == ("$orig", "fixed")


def test_reactions_redactions_and_poll_answers() -> None:
    for key, name in (("✅", "white_check_mark"), ("👍", "+1"), ("🙏", "pray"), ("❤️", "heart"), ("🦄", "🦄")):
        event = translate(_event({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$m", "key": key}},
                                 "m.reaction"), ROOM)
        assert isinstance(event, ReactionAdded) and (event.message_id, event.emoji) == ("$m", name)
    gone = translate(_event({}, "m.room.redaction", redacts="$m"), ROOM)
    assert isinstance(gone, MessageDeleted) and gone.message_id == "$m"
    v11 = translate(_event({"redacts": "$m2"}, "m.room.redaction"), ROOM)
    assert isinstance(v11, MessageDeleted) and v11.message_id == "$m2"
    unstable = translate(_event({"m.relates_to": {"rel_type": "m.reference", "event_id": "$poll"},
                                 "org.matrix.msc3381.poll.response": {"answers": ["yes"]}},
                                "org.matrix.msc3381.poll.response"), ROOM)
    stable = translate(_event({"m.relates_to": {"rel_type": "m.reference", "event_id": "$poll"},
                               "m.selections": ["no"]}, "m.poll.response"), ROOM)
    assert isinstance(unstable, PollAnswer) and unstable.answers == ("yes",) and unstable.poll_event_id == "$poll"
    assert isinstance(stable, PollAnswer) and stable.answers == ("no",)


def test_memberships_and_what_is_ignored() -> None:
    joined = translate(_event({"membership": "join", "displayname": "Bruno"}, "m.room.member",
                              state_key="@bruno:example.org"), ROOM)
    assert isinstance(joined, MemberJoined) and joined.sender.id == "@bruno:example.org"
    left = translate(_event({"membership": "leave"}, "m.room.member", state_key="@bruno:example.org",
                            unsigned={"prev_content": {"membership": "join"}}), ROOM)
    assert isinstance(left, MemberLeft)
    renamed = _event({"membership": "join", "displayname": "B"}, "m.room.member", state_key="@bruno:example.org",
                     unsigned={"prev_content": {"membership": "join"}})
    own = _event({"msgtype": "m.notice", "body": "hi"}, sender=BOT)
    ignored = [renamed, own, _event({"algorithm": "m.megolm.v1.aes-sha2"}, "m.room.encrypted"),
               _event({"msgtype": "m.image", "body": "cat.png"}), {"type": "m.room.message", "content": "bad"},
               _event({"m.relates_to": {"rel_type": "m.reference", "event_id": "$x"}}, "m.reaction")]
    assert [translate(e, ROOM) for e in ignored] == [None] * len(ignored)
    notice = translate(_event({"msgtype": "m.notice", "body": "I am another bot"}), ROOM)
    assert notice is not None and notice.sender.is_bot  # the core ignores bots: no bot-to-bot loops
