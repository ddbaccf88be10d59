"""Matrix events (the raw JSON of a sync, decrypted) → neutral events. Pure functions, no I/O.

Threads: a reply in an `m.thread` is in the thread of its root; a rich reply (`m.in_reply_to`) is
treated as a reply in a thread rooted at the message it answers, which is how members use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import unquote

from adapters.matrix.emoji import emoji_name
from bot.events import (
    Event,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    Sender,
)

PLATFORM = "matrix"
PREFIX = "!steward"
POLL_RESPONSE_TYPES = ("org.matrix.msc3381.poll.response", "m.poll.response")
_REPLY_HTML = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL)
_PILL = re.compile(r"<a\s[^>]*href=[\"']https://matrix\.to/#/(?P<id>(?:@|%40)[^\"'/?]+)[^\"']*[\"'][^>]*>"
                   r"(?P<label>.*?)</a>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class RoomView:
    """What translation needs to know about the room an event happened in."""

    room_id: str
    own_user_id: str
    is_direct: bool = False
    own_names: tuple[str, ...] = ()  # how members address the bot: display name, localpart
    display_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PollAnswer:
    """A member answered a poll (Matrix-only: the adapter maps it to ChoicePicked with the poll's key)."""

    event_id: str
    room_id: str
    sender: Sender
    poll_event_id: str
    answers: tuple[str, ...]
    at: datetime


def translate(event: Mapping[str, Any], room: RoomView) -> Event | PollAnswer | None:
    """The neutral event for one Matrix event, or None when Steward has no use for it."""
    kind = event.get("type")
    content = event.get("content")
    if not isinstance(content, Mapping) or not isinstance(event.get("event_id"), str):
        return None
    sender_id = str(event.get("sender", ""))
    if sender_id == room.own_user_id:
        return None
    if kind == "m.room.member":
        return _membership(event, content, room)
    base: dict[str, Any] = {
        "event_id": event["event_id"], "platform": PLATFORM, "channel": room.room_id,
        "sender": Sender(id=sender_id, display_name=room.display_names.get(sender_id, ""),
                         is_bot=content.get("msgtype") == "m.notice"),
        "at": _when(event), "is_direct": room.is_direct, "raw": event,
    }
    relation = content.get("m.relates_to")
    relation = relation if isinstance(relation, Mapping) else {}
    if kind == "m.room.message":
        if relation.get("rel_type") == "m.replace":
            new = content.get("m.new_content")
            text = new.get("body") if isinstance(new, Mapping) else None
            if not isinstance(relation.get("event_id"), str) or not isinstance(text, str):
                return None
            return MessageEdited(**base, message_id=relation["event_id"], text=text)
        return _message(content, relation, room, base)
    if kind == "m.reaction":
        target, key = relation.get("event_id"), relation.get("key")
        if relation.get("rel_type") != "m.annotation" or not isinstance(target, str) or not isinstance(key, str):
            return None
        return ReactionAdded(**base, message_id=target, emoji=emoji_name(key))
    if kind == "m.room.redaction":
        redacts = event.get("redacts") or content.get("redacts")  # top level before room v11
        return MessageDeleted(**base, message_id=redacts) if isinstance(redacts, str) else None
    if kind in POLL_RESPONSE_TYPES:
        return _poll_answer(event, content, relation, base)
    return None


def _message(content: Mapping[str, Any], relation: Mapping[str, Any], room: RoomView,
             base: dict[str, Any]) -> MessagePosted | None:
    body = content.get("body")
    if not isinstance(body, str) or content.get("msgtype") not in ("m.text", "m.notice", "m.emote"):
        return None
    thread: str | None = None
    reply_to = relation.get("m.in_reply_to")
    if relation.get("rel_type") == "m.thread" and isinstance(relation.get("event_id"), str):
        thread = relation["event_id"]
    elif isinstance(reply_to, Mapping) and isinstance(reply_to.get("event_id"), str):
        thread = reply_to["event_id"]
        body = strip_reply_fallback(body)
    body, mentioned = with_mentions(body, content, room)
    addressed, command = address(body, content, room)
    names = tuple((uid, name) for uid in mentioned if (name := room.display_names.get(uid)))
    return MessagePosted(**base, message_id=base["event_id"], text=body, thread=thread,
                         addressed=addressed, command_text=command, mentions=mentioned, mention_names=names)


def with_mentions(body: str, content: Mapping[str, Any], room: RoomView) -> tuple[str, tuple[str, ...]]:
    """The text with each person's pill written as their user id, and who the message mentions.

    Element writes a mention as a pill: the display name in `body`, a `matrix.to` link in `formatted_body`,
    the user id in `m.mentions`. The core reads user ids where the pill stood ("thanks @ana:example.org
    for …"); Steward's own pill is left for `address`.
    """
    html = content.get("formatted_body")
    pills: list[tuple[str, str]] = []
    if isinstance(html, str) and "matrix.to" in html:
        for m in _PILL.finditer(strip_reply_html(html)):
            label = unescape(_TAG.sub("", m.group("label"))).strip()
            pills.append((unquote(m.group("id")), label))
    listed = content.get("m.mentions")
    ids = listed.get("user_ids") if isinstance(listed, Mapping) else None
    users = [u for u in ids if isinstance(u, str)] if isinstance(ids, list) else []
    pilled = {uid for uid, _label in pills}
    people = tuple(dict.fromkeys(uid for uid in [*(u for u, _l in pills), *users] if uid != room.own_user_id))
    text, pos = body, 0
    for uid, label in [*pills, *((u, room.display_names.get(u, "")) for u in users if u not in pilled)]:
        if uid == room.own_user_id or not label or label == uid:
            continue
        at = text.find(label, pos)
        if at < 0:
            continue  # e.g. the person a rich reply answers: in m.mentions, not in the text
        start = at - 1 if at > 0 and text[at - 1] == "@" else at
        text = text[:start] + uid + text[at + len(label):]
        pos = start + len(uid)
    return text, people


def address(body: str, content: Mapping[str, Any], room: RoomView) -> tuple[bool, str]:
    """Whether a message speaks to Steward, and its text without the address."""
    text = body.strip()
    if text.lower().startswith(PREFIX) and (len(text) == len(PREFIX) or not text[len(PREFIX)].isalnum()):
        return True, text[len(PREFIX):].lstrip(" :,").strip()
    names = [n for n in (room.own_user_id, *room.own_names) if n]
    for name in sorted(names, key=len, reverse=True):
        if text.lower().startswith(name.lower()):
            rest = text[len(name):]
            if not rest or rest[0] in ":, \n":
                return True, rest.lstrip(" :,\n").strip()
    mentions = content.get("m.mentions")
    mentioned = isinstance(mentions, Mapping) and room.own_user_id in (mentions.get("user_ids") or ())
    html = content.get("formatted_body")
    if mentioned or (isinstance(html, str) and f"matrix.to/#/{room.own_user_id}" in html):
        for name in sorted(names, key=len, reverse=True):
            text = re.sub(rf"@?{re.escape(name)}:?", "", text, flags=re.IGNORECASE)
        return True, " ".join(text.split())
    if room.is_direct:
        return True, text
    return False, ""


def strip_reply_fallback(body: str) -> str:
    """A rich reply's text without the quoted `> ` lines clients put before it."""
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    if lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def strip_reply_html(html: str) -> str:
    """A rich reply's HTML without its `<mx-reply>` quote."""
    return _REPLY_HTML.sub("", html)


def _membership(event: Mapping[str, Any], content: Mapping[str, Any], room: RoomView) -> Event | None:
    user = event.get("state_key")
    if not isinstance(user, str) or user == room.own_user_id:
        return None
    unsigned = event.get("unsigned")
    prev = unsigned.get("prev_content") if isinstance(unsigned, Mapping) else None
    before = prev.get("membership") if isinstance(prev, Mapping) else None
    now = content.get("membership")
    name = content.get("displayname")
    base: dict[str, Any] = {
        "event_id": event["event_id"], "platform": PLATFORM, "channel": room.room_id,
        "sender": Sender(id=user, display_name=name if isinstance(name, str) else ""),
        "at": _when(event), "raw": event,
    }
    if now == "join" and before != "join":
        return MemberJoined(**base)
    if now in ("leave", "ban") and before == "join":
        return MemberLeft(**base)
    return None


def _poll_answer(event: Mapping[str, Any], content: Mapping[str, Any], relation: Mapping[str, Any],
                 base: dict[str, Any]) -> PollAnswer | None:
    poll = relation.get("event_id")
    unstable = content.get("org.matrix.msc3381.poll.response")
    answers = unstable.get("answers") if isinstance(unstable, Mapping) else content.get("m.selections")
    if not isinstance(poll, str) or not isinstance(answers, list):
        return None
    return PollAnswer(event_id=base["event_id"], room_id=base["channel"], sender=base["sender"],
                      poll_event_id=poll, answers=tuple(a for a in answers if isinstance(a, str)), at=base["at"])


def _when(event: Mapping[str, Any]) -> datetime:
    ts = event.get("origin_server_ts")
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        return datetime.fromtimestamp(ts / 1000, UTC)
    return datetime.now(UTC)
