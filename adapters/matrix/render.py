"""Neutral replies → Matrix event contents (`m.notice` with HTML, threads, polls, reactions). Pure.

The neutral markup (`**bold**`, `_italic_`, `` `code` ``, `[label](url)`, `- ` list lines) becomes
escaped HTML in `formatted_body`; `body` keeps the readable plain text. What people typed (the literal
spans of bot/markup.py) is escaped text in both, never markup or a link; links go to http(s) only.

Nothing Steward sends pings a room: every message says so with an empty `m.mentions` (so servers skip
the legacy rules that ping on "@room" or a display name in the body), and "@room" in a person's words
gets a word joiner in any case, for clients and servers that still read the body.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from adapters.matrix.emoji import emoji_for, number_emoji
from bot.errors import Unsupported
from bot.markup import Held, hold, web_url
from bot.markup import plain as unmarked
from bot.replies import AskChoice, DirectMessage, Ephemeral, Post, React, Reply, ReplyInThread, parse_channel_link

POLL_START = "org.matrix.msc3381.poll.start"
MAX_POLL_OPTIONS = 10  # the numbered-reaction fallback stops at 🔟
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(?!\s)(.+?)(?<!\s)\*\*")
_ITALIC = re.compile(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)")
_ROOM_PING = re.compile(r"@room\b", re.IGNORECASE)
WORD_JOINER = "\u2060"
NO_MENTIONS: dict[str, Any] = {"m.mentions": {}}  # Steward never means to ping anyone


@dataclass(frozen=True, slots=True)
class PollMeta:
    """What to remember about a poll once sent: its question key, options and who may answer."""

    key: str
    options: tuple[str, ...]
    user: str | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Matrix event to send: to `room`, or to the DM with `user` when room is None."""

    room: str | None
    user: str | None
    event_type: str
    content: dict[str, Any]
    poll: PollMeta | None = None


def render(reply: Reply, dm_room: str | None = None) -> Outgoing:
    """The Matrix event for a reply; `dm_room` is the known DM with the reply's member, if any."""
    if isinstance(reply, Post):
        return Outgoing(reply.channel, None, "m.room.message", notice(reply.text))
    if isinstance(reply, ReplyInThread):
        return Outgoing(reply.channel, None, "m.room.message", notice(reply.text) | thread_relation(reply.thread))
    if isinstance(reply, DirectMessage):
        return Outgoing(dm_room, reply.user, "m.room.message", notice(reply.text))
    if isinstance(reply, Ephemeral):
        # Matrix has no message only one member sees: the answer goes to their DM.
        if reply.channel == dm_room:
            content = notice(reply.text) | (thread_relation(reply.thread) if reply.thread else {})
            return Outgoing(dm_room, reply.user, "m.room.message", content)
        return Outgoing(dm_room, reply.user, "m.room.message", notice(reply.text))
    if isinstance(reply, AskChoice):
        return _poll(reply, dm_room)
    if isinstance(reply, React):
        return Outgoing(reply.channel, None, "m.reaction", reaction(reply.message_id, emoji_for(reply.emoji)))
    raise Unsupported(f"the Matrix adapter cannot render {type(reply).__name__}")


def notice(text: str) -> dict[str, Any]:
    """An `m.notice` (bots speak in notices, so other bots do not answer them) with HTML."""
    return {"msgtype": "m.notice", "body": plain(text), "format": "org.matrix.custom.html",
            "formatted_body": to_html(text), **NO_MENTIONS}


def thread_relation(root: str) -> dict[str, Any]:
    """The relation putting an event in the thread of `root`, with a reply fallback for older clients."""
    return {"m.relates_to": {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                             "m.in_reply_to": {"event_id": root}}}


def reaction(target: str, emoji: str) -> dict[str, Any]:
    """An `m.reaction` annotation."""
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": emoji}}


def unping(text: str) -> str:
    """"@room" broken by a word joiner: push rules that read the body no longer see it."""
    return _ROOM_PING.sub(lambda m: f"@{WORD_JOINER}{m.group(0)[1:]}", text)


def plain(text: str) -> str:
    """The plain-text body: links as `label (url)`, what people typed as written, no "@room"."""
    held = hold(text)

    def link(match: re.Match[str]) -> str:
        target = held.reveal(match.group(2))
        if parse_channel_link(target) is not None:
            return match.group(1)  # a room: its name as written
        url = web_url(target)
        if url is None:
            return match.group(0)
        return match.group(1) if held.reveal(match.group(1)) == url else f"{match.group(1)} ({url})"

    return unping(held.fill(_LINK.sub(link, held.text), lambda span: span))


def to_html(text: str) -> str:
    """The neutral markup as escaped Matrix HTML (a person's line breaks as `<br>`)."""
    held = hold(text)
    out: list[str] = []
    items: list[str] = []
    for line in held.text.split("\n"):
        if line.startswith("- "):
            items.append(f"<li>{_inline(line[2:], held)}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        out.append(_inline(line, held) + "<br>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    result = "".join(out)
    result = result[:-4] if result.endswith("<br>") else result
    return held.fill(result, lambda span: unping(html.escape(span)).replace("\n", "<br>"))


def _inline(line: str, held: Held) -> str:
    parts = _CODE.split(line)  # odd indexes are code spans: no formatting inside
    return "".join(f"<code>{html.escape(part)}</code>" if i % 2 else _format(part, held)
                   for i, part in enumerate(parts))


def _format(text: str, held: Held) -> str:
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        target = held.reveal(match.group(2))
        if parse_channel_link(target) is not None:
            return match.group(1)  # a room: its name as written
        label, url = match.group(1), web_url(target)
        if url is None:
            return match.group(0)  # not a web address: shown as written
        links.append(f'<a href="{html.escape(url, quote=True)}">{_emphasis(html.escape(label))}</a>')
        return f"\x00{len(links) - 1}\x00"

    marked = _emphasis(html.escape(_LINK.sub(link, text.replace("\x00", ""))))
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], marked)


def _emphasis(escaped: str) -> str:
    return _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", escaped))


def _poll(ask: AskChoice, dm_room: str | None) -> Outgoing:
    if not ask.options or len(ask.options) > MAX_POLL_OPTIONS:
        raise Unsupported(f"a Matrix poll needs 1 to {MAX_POLL_OPTIONS} options, got {len(ask.options)}")
    labels = [unping(unmarked(o.label)) for o in ask.options]
    lines = [plain(ask.text), *(f"{number_emoji(i)} {label}" for i, label in enumerate(labels))]
    fallback = "\n".join(lines)
    content: dict[str, Any] = {
        POLL_START: {
            "question": {"org.matrix.msc1767.text": plain(ask.text), "body": plain(ask.text), "msgtype": "m.text"},
            "kind": "org.matrix.msc3381.poll.disclosed", "max_selections": 1,
            "answers": [{"id": o.id, "org.matrix.msc1767.text": label} for o, label in zip(ask.options, labels,
                                                                                           strict=True)],
        },
        "org.matrix.msc1767.text": fallback,
        # The stable (Matrix 1.7) names, for clients that read them.
        "m.poll": {
            "kind": "m.poll.disclosed", "max_selections": 1, "question": {"m.text": [{"body": plain(ask.text)}]},
            "answers": [{"m.id": o.id, "m.text": [{"body": label}]} for o, label in zip(ask.options, labels,
                                                                                       strict=True)],
        },
        "m.text": [{"body": fallback}],
        "body": fallback,
        **NO_MENTIONS,
    }
    meta = PollMeta(ask.key, tuple(o.id for o in ask.options), ask.user)
    if ask.user is not None and ask.channel != dm_room:
        return Outgoing(dm_room, ask.user, POLL_START, content, meta)  # only this member is asked: their DM
    if ask.thread:
        content |= thread_relation(ask.thread)
    return Outgoing(ask.channel, None, POLL_START, content, meta)


def matrix_to(room: str, event: str) -> str:
    """A web address of an event that any Matrix client (or a browser) opens: matrix.to."""
    return f"https://matrix.to/#/{quote(room)}/{quote(event)}"
