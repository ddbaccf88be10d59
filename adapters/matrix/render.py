"""Neutral replies → Matrix event contents (`m.notice` with HTML, threads, polls, reactions). Pure.

The neutral markup (`**bold**`, `_italic_`, `` `code` ``, `[label](url)`, `- ` list lines) becomes
escaped HTML in `formatted_body`; `body` keeps the readable plain text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from adapters.matrix.emoji import emoji_for, number_emoji
from bot.errors import Unsupported
from bot.replies import AskChoice, DirectMessage, Ephemeral, Post, React, Reply, ReplyInThread

POLL_START = "org.matrix.msc3381.poll.start"
MAX_POLL_OPTIONS = 10  # the numbered-reaction fallback stops at 🔟
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(?!\s)(.+?)(?<!\s)\*\*")
_ITALIC = re.compile(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)")
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "matrix:")


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
            "formatted_body": to_html(text)}


def thread_relation(root: str) -> dict[str, Any]:
    """The relation putting an event in the thread of `root`, with a reply fallback for older clients."""
    return {"m.relates_to": {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                             "m.in_reply_to": {"event_id": root}}}


def reaction(target: str, emoji: str) -> dict[str, Any]:
    """An `m.reaction` annotation."""
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": emoji}}


def plain(text: str) -> str:
    """The plain-text body: links as `label (url)`, the rest as written."""
    return _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text)


def to_html(text: str) -> str:
    """The neutral markup as escaped Matrix HTML."""
    out: list[str] = []
    items: list[str] = []
    for line in text.split("\n"):
        if line.startswith("- "):
            items.append(f"<li>{_inline(line[2:])}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        out.append(_inline(line) + "<br>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    result = "".join(out)
    return result[:-4] if result.endswith("<br>") else result


def _inline(line: str) -> str:
    parts = _CODE.split(line)  # odd indexes are code spans: no formatting inside
    return "".join(f"<code>{html.escape(part)}</code>" if i % 2 else _format(part) for i, part in enumerate(parts))


def _format(text: str) -> str:
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        if not url.startswith(_SAFE_SCHEMES):
            return match.group(0)
        links.append(f'<a href="{html.escape(url, quote=True)}">{_emphasis(html.escape(label))}</a>')
        return f"\x00{len(links) - 1}\x00"

    marked = _emphasis(html.escape(_LINK.sub(link, text.replace("\x00", ""))))
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], marked)


def _emphasis(escaped: str) -> str:
    return _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", escaped))


def _poll(ask: AskChoice, dm_room: str | None) -> Outgoing:
    if not ask.options or len(ask.options) > MAX_POLL_OPTIONS:
        raise Unsupported(f"a Matrix poll needs 1 to {MAX_POLL_OPTIONS} options, got {len(ask.options)}")
    lines = [plain(ask.text), *(f"{number_emoji(i)} {o.label}" for i, o in enumerate(ask.options))]
    fallback = "\n".join(lines)
    content: dict[str, Any] = {
        POLL_START: {
            "question": {"org.matrix.msc1767.text": plain(ask.text), "body": plain(ask.text), "msgtype": "m.text"},
            "kind": "org.matrix.msc3381.poll.disclosed", "max_selections": 1,
            "answers": [{"id": o.id, "org.matrix.msc1767.text": o.label} for o in ask.options],
        },
        "org.matrix.msc1767.text": fallback,
        # The stable (Matrix 1.7) names, for clients that read them.
        "m.poll": {
            "kind": "m.poll.disclosed", "max_selections": 1, "question": {"m.text": [{"body": plain(ask.text)}]},
            "answers": [{"m.id": o.id, "m.text": [{"body": o.label}]} for o in ask.options],
        },
        "m.text": [{"body": fallback}],
        "body": fallback,
    }
    meta = PollMeta(ask.key, tuple(o.id for o in ask.options), ask.user)
    if ask.user is not None and ask.channel != dm_room:
        return Outgoing(dm_room, ask.user, POLL_START, content, meta)  # only this member is asked: their DM
    if ask.thread:
        content |= thread_relation(ask.thread)
    return Outgoing(ask.channel, None, POLL_START, content, meta)
