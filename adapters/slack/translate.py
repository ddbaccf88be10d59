"""Slack payloads → neutral events (pure functions, no I/O).

The same body arrives over HTTP (Events API, slash commands, interactivity) and Socket Mode (the
envelope's `payload`), so everything here works on the body alone.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.events import (
    ChoicePicked,
    CommandInvoked,
    Event,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    ReactionRemoved,
    Sender,
)

PLATFORM = "slack"
CHOICE_PREFIX = "choice|"  # action_id = "choice|<AskChoice.key>|<n>", value = option id
FORM_PREFIX = "form|"  # modal callback_id = "form|<key>"
PREFIX = re.compile(r"^\s*!steward\b", re.IGNORECASE)
POSTED_SUBTYPES = {None, "thread_broadcast", "file_share", "bot_message", "me_message"}


@dataclass(frozen=True)
class Identity:
    """What translation needs to know about the running app."""

    team_id: str = ""
    bot_user_id: str = ""
    bot_id: str = ""
    community: str | None = None  # set when exactly one community lives on Slack (for `team_join`)


def translate(body: dict[str, Any], identity: Identity) -> Event | None:
    """Any Slack body → one neutral event, or None when it is not for Steward."""
    kind = body.get("type")
    if kind == "event_callback":
        return _event(body, identity)
    if "command" in body and "trigger_id" in body:
        return command(body, identity)
    if kind == "block_actions":
        return block_action(body, identity)
    if kind == "view_submission":
        return view_submission(body, identity)
    return None


def _team(body: dict[str, Any], identity: Identity) -> str:
    team = body.get("team_id") or body.get("team")
    if isinstance(team, dict):
        team = team.get("id")
    return str(team or identity.team_id)


def _at(ts: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _event(body: dict[str, Any], identity: Identity) -> Event | None:
    event = body.get("event") or {}
    kind = event.get("type")
    event_id = f"slack:{_team(body, identity)}:{body.get('event_id', '')}"
    base: dict[str, Any] = {"platform": PLATFORM, "event_id": event_id,
                            "at": _at(event.get("event_ts") or event.get("ts") or body.get("event_time")), "raw": body}
    if kind in ("message", "app_mention"):
        return message(body, identity)
    if kind in ("reaction_added", "reaction_removed"):
        item = event.get("item") or {}
        if item.get("type") != "message" or not event.get("user"):
            return None
        cls = ReactionAdded if kind == "reaction_added" else ReactionRemoved
        return cls(channel=item.get("channel", ""), sender=Sender(id=event["user"]), message_id=item.get("ts", ""),
                   emoji=event.get("reaction", "").split("::", 1)[0], message_author=event.get("item_user"),
                   **base)
    if kind in ("member_joined_channel", "member_left_channel") and event.get("user"):
        member_cls = MemberJoined if kind == "member_joined_channel" else MemberLeft
        return member_cls(channel=event.get("channel", ""), sender=Sender(id=event["user"]), **base)
    if kind == "team_join" and isinstance(event.get("user"), dict):
        user = event["user"]
        profile = user.get("profile") or {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name", "")
        return MemberJoined(channel="", community=identity.community, sender=Sender(
            id=user.get("id", ""), display_name=name, timezone=user.get("tz"), locale=user.get("locale"),
            is_bot=bool(user.get("is_bot"))), **base)
    return None


def message(body: dict[str, Any], identity: Identity) -> Event | None:
    """A `message` (any subtype Steward cares about) or `app_mention` event.

    A mention arrives twice (as `message` and `app_mention`): both get the id of the message itself,
    `slack:<team>:msg:<channel>:<ts>`, so the core gives it one effect whichever comes first.
    """
    event = body.get("event") or {}
    team, channel, subtype = _team(body, identity), event.get("channel", ""), event.get("subtype")
    common: dict[str, Any] = {"platform": PLATFORM, "channel": channel, "raw": body, "at": _at(event.get("ts")),
              "is_direct": event.get("channel_type") == "im"}
    if subtype == "message_changed":
        new, old = event.get("message") or {}, event.get("previous_message") or {}
        if not new.get("user") or new.get("text") == old.get("text"):
            return None  # unfurls and thread bookkeeping also send message_changed
        return MessageEdited(event_id=f"slack:{team}:{body.get('event_id', '')}", sender=Sender(id=new["user"]),
                             message_id=new.get("ts", ""), text=_plain(new.get("text", "")), **common)
    if subtype == "message_deleted":
        return MessageDeleted(event_id=f"slack:{team}:{body.get('event_id', '')}",
                              sender=Sender(id=(event.get("previous_message") or {}).get("user", "")),
                              message_id=event.get("deleted_ts", ""), **common)
    if subtype not in POSTED_SUBTYPES:
        return None  # joins, topic changes…: other events cover what matters
    is_bot = bool(event.get("bot_id")) or subtype == "bot_message"
    user = event.get("user") or event.get("bot_id") or ""
    if not user:
        return None
    raw = event.get("text", "")
    text = _plain(raw)
    addressed, command_text = _address(text, identity, bool(common["is_direct"]))
    return MessagePosted(event_id=f"slack:{team}:msg:{channel}:{event.get('ts', '')}",
                         sender=Sender(id=user, is_bot=is_bot), message_id=event.get("ts", ""),
                         thread=event.get("thread_ts"), text=text, addressed=addressed,
                         command_text=command_text, mentions=mentioned(raw, identity), **common)


_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def mentioned(raw: str, identity: Identity) -> tuple[str, ...]:
    """The user ids Slack itself wrote as mentions, read before unescaping (a typed `&lt;@U1&gt;` is text)."""
    found = dict.fromkeys(m.group(1) for m in _USER_MENTION.finditer(raw) if m.group(1) != identity.bot_user_id)
    return tuple(found)


def _plain(text: str) -> str:
    # Slack escapes only &, < and > in message text.
    return html.unescape(text) if "&" in text else text


def _address(text: str, identity: Identity, is_direct: bool) -> tuple[bool, str]:
    mention = re.compile(rf"<@{re.escape(identity.bot_user_id)}(?:\|[^>]*)?>") if identity.bot_user_id else None
    if mention is not None and mention.search(text):
        return True, " ".join(mention.sub(" ", text).split()).lstrip(",:; ")
    if PREFIX.match(text) or is_direct:
        return True, text.strip()
    return False, ""


def command(body: dict[str, Any], identity: Identity) -> CommandInvoked | None:
    """A slash command: `/steward <text>`, or `/who <topic>` meaning "who knows about <topic>"."""
    name = str(body.get("command", "")).lstrip("/").lower()
    raw = str(body.get("text", ""))
    text = " ".join(raw.split())
    if name == "who":
        text = f"who knows about {text}".strip()
    elif name != "steward":
        return None
    channel = str(body.get("channel_id", ""))
    return CommandInvoked(event_id=f"slack:{_team(body, identity)}:cmd:{_digest(body)}", platform=PLATFORM,
                          channel=channel, sender=Sender(id=str(body.get("user_id", "")),
                                                         display_name=str(body.get("user_name", ""))),
                          is_direct=channel.startswith("D") or body.get("channel_name") == "directmessage",
                          text=text, name=name, mentions=mentioned(raw, identity), raw=body)


def choice_action_id(key: str, index: int) -> str:
    """The action_id of the `index`-th button answering choice `key`."""
    return f"{CHOICE_PREFIX}{key}|{index}"


def block_action(body: dict[str, Any], identity: Identity) -> ChoicePicked | None:
    """A button of an `AskChoice` → the option picked."""
    actions = body.get("actions") or []
    action = actions[0] if actions else {}
    action_id = str(action.get("action_id", ""))
    if not action_id.startswith(CHOICE_PREFIX) or "value" not in action:
        return None
    key = action_id[len(CHOICE_PREFIX):].rsplit("|", 1)[0]
    container, msg = body.get("container") or {}, body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
    user = body.get("user") or {}
    return ChoicePicked(event_id=f"slack:{_team(body, identity)}:act:{_digest(body)}", platform=PLATFORM,
                        channel=channel, sender=Sender(id=user.get("id", ""), display_name=user.get("name", "")),
                        thread=container.get("thread_ts") or msg.get("thread_ts"), is_direct=channel.startswith("D"),
                        key=key, option=str(action["value"]), message_id=container.get("message_ts"), raw=body)


def view_submission(body: dict[str, Any], identity: Identity) -> ChoicePicked | None:
    """A modal form submitted → `ChoicePicked(key, option)`.

    `option` is the single input's value, or a JSON object `{block_id: value}` for several inputs.
    """
    view = body.get("view") or {}
    callback = str(view.get("callback_id", ""))
    if not callback.startswith(FORM_PREFIX):
        return None
    values: dict[str, str] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for element in actions.values():
            value = element.get("value")
            if value is None:
                value = (element.get("selected_option") or {}).get("value", "")
            values[block_id] = str(value)
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    channel = str(meta.get("channel", "")) if isinstance(meta, dict) else ""
    user = body.get("user") or {}
    option = next(iter(values.values())) if len(values) == 1 else json.dumps(values, sort_keys=True)
    return ChoicePicked(event_id=f"slack:{_team(body, identity)}:view:{_digest(body)}", platform=PLATFORM,
                        channel=channel, sender=Sender(id=user.get("id", ""), display_name=user.get("name", "")),
                        thread=meta.get("thread") if isinstance(meta, dict) else None,
                        is_direct=channel.startswith("D"), key=callback[len(FORM_PREFIX):], option=option, raw=body)
