"""Neutral replies → Slack message arguments (Block Kit built with `slack_sdk.models`).

Blocks are serialised with `to_dict()`, which validates Slack's limits (section text ≤ 3000,
button text ≤ 75, ≤ 25 buttons per actions block…), so a reply too big for Slack fails here,
not at Slack. Every message also carries a `text` fallback for notifications and screen readers.

What people typed (the literal spans of bot/markup.py) is escaped (`&`, `<`, `>`), so it can never
write `<!channel>`, `<!here>`, `<@U…>`, `<#C…>` nor a `<url|label>` link, and `@channel`/`@here`/
`@everyone` in it get a word joiner so nothing parses them; sections are `verbatim` (no automatic links
or mentions). Steward's own links render only to http(s) addresses.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from adapters.slack.translate import FORM_PREFIX, choice_action_id
from bot.markup import hold, plain, web_url
from bot.replies import AskChoice, parse_channel_link

SECTION_LIMIT = 3000
TEXT_LIMIT = 40000  # chat.postMessage truncates `text` beyond this
BUTTON_TEXT_LIMIT = 75
BUTTONS_PER_BLOCK = 25
MAX_BLOCKS = 50

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
# A list item: "- " after a line's indent. Two patterns, so the search for the common case skips to each line
# break by its literal first character (a `^` with MULTILINE tries every position of a long text).
_LIST_FIRST = re.compile(r"\A([^\S\n]*)- ")
_LIST = re.compile(r"\n([^\S\n]*)- ")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{1,40}")  # a Slack conversation id: nothing else goes inside <#…>
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
WORD_JOINER = "\u2060"


def escape(text: str) -> str:
    """Slack's three control characters as entities: no `<…>` sequence (mention, link) can come out.

    Three `replace`s (`&` first, so no entity is escaped twice): `str.translate` with a table was about 20
    times slower on a reply-sized text, and every reply's whole text passes here."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def literal(span: str) -> str:
    """A person's words, shown as typed: escaped, and `@channel`-like words broken so nothing parses them."""
    escaped = escape(span)
    return _BROADCAST.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", escaped) if "@" in escaped else escaped


def mrkdwn(text: str) -> str:
    """The neutral markup (`**bold**`, `[label](url)`, `- ` lists) as Slack mrkdwn, escaped."""
    held = hold(text)

    def link(match: re.Match[str]) -> str:
        target = held.reveal(html.unescape(match.group(2)))
        channel = parse_channel_link(target)
        if channel is not None and _CHANNEL_ID.fullmatch(channel):
            return f"<#{channel}>"  # Slack shows the channel's current name to each reader
        url = web_url(target)
        if url is None:
            return match.group(0)  # not a web address: shown as written, never `<!channel|…>`
        return f"<{escape(url).replace('|', '%7C')}|{match.group(1)}>"

    out = escape(held.text)
    if "](" in out:
        out = _LINK.sub(link, out)
    out = _BOLD.sub(r"*\1*", out) if "**" in out else out  # templates, not callbacks: no Python call per match
    # unindented items by a plain replace (no Python call per item), then the indented ones and the first line
    out = _LIST.sub("\n\\1• ", out.replace("\n- ", "\n• "))
    out = _LIST_FIRST.sub(r"\1• ", out)
    return held.fill(out, literal)


def _chunks(text: str, limit: int) -> list[str]:
    """Split at line breaks (or hard, for a single huge line) into pieces of at most `limit`."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current or " ")
    return pieces


def text_blocks(text: str, rendered: str | None = None) -> list[Block]:
    """Sections holding `text` as mrkdwn (`rendered`, when the caller has it), split to respect the section limit."""
    return [SectionBlock(text=MarkdownTextObject(text=piece, verbatim=True))
            for piece in _chunks(mrkdwn(text) if rendered is None else rendered, SECTION_LIMIT)]


def message(text: str) -> dict[str, Any]:
    """`chat.postMessage`/`chat.postEphemeral` arguments for a text reply (rendered once, for both fields).

    Its sections are written as the dicts `SectionBlock(…).to_dict()` gives (tests/slack/test_render.py
    compares them): `_chunks` already keeps each within Slack's limit, and every reply pays this, so the
    models' generic validation is left to the replies that have buttons or inputs."""
    rendered = mrkdwn(text)
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": piece, "verbatim": True}}
                for piece in _chunks(rendered, SECTION_LIMIT)]
    if len(sections) > MAX_BLOCKS:
        raise ValueError(f"reply needs {len(sections)} blocks; Slack allows {MAX_BLOCKS}")
    return {"text": _fit(rendered, TEXT_LIMIT), "blocks": sections}


def choice(ask: AskChoice) -> dict[str, Any]:
    """An `AskChoice` as a question with one button per option."""
    blocks = text_blocks(ask.text)
    buttons = [ButtonElement(text=PlainTextObject(text=_fit(plain(opt.label), BUTTON_TEXT_LIMIT), emoji=True),
                             action_id=choice_action_id(ask.key, i), value=opt.id)
               for i, opt in enumerate(ask.options)]
    for start in range(0, len(buttons), BUTTONS_PER_BLOCK):
        blocks.append(ActionsBlock(elements=buttons[start:start + BUTTONS_PER_BLOCK]))
    return _validated(ask.text, blocks)


def _validated(text: str, blocks: list[Block], rendered: str | None = None) -> dict[str, Any]:
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"reply needs {len(blocks)} blocks; Slack allows {MAX_BLOCKS}")
    return {"text": _fit(mrkdwn(text) if rendered is None else rendered, TEXT_LIMIT),
            "blocks": [b.to_dict() for b in blocks]}


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class FormField:
    """One text input of a modal form; its `id` is the key of its value in the submission."""

    id: str
    label: str
    placeholder: str = ""
    multiline: bool = False
    optional: bool = False


def modal(*, key: str, title: str, fields: tuple[FormField, ...], submit: str = "Send", intro: str = "",
          channel: str = "", thread: str | None = None) -> dict[str, Any]:
    """A modal for `views.open`; its submission comes back as `ChoicePicked(key=key, ...)`.

    `channel`/`thread` travel in `private_metadata` so the answer lands where the form was asked.
    """
    blocks: list[Block] = text_blocks(intro) if intro else []
    for f in fields:
        element = PlainTextInputElement(action_id="value", multiline=f.multiline, placeholder=PlainTextObject(
            text=plain(f.placeholder)) if f.placeholder else None)
        blocks.append(InputBlock(block_id=f.id, label=PlainTextObject(text=_fit(plain(f.label), 2000)),
                                 element=element, optional=f.optional))
    view = View(type="modal", callback_id=f"{FORM_PREFIX}{key}", title=PlainTextObject(text=_fit(plain(title), 24)),
                submit=PlainTextObject(text=_fit(submit, 24)), close=None, blocks=blocks,
                private_metadata=json.dumps({"channel": channel, "thread": thread}))
    return dict(view.to_dict())


def permalink(workspace_url: str, channel: str, ts: str) -> str:
    """A link to a message in Slack's `archives` form; `https://slack.com/` opens the reader's own workspace."""
    base = workspace_url if workspace_url.endswith("/") else workspace_url + "/"
    return f"{base}archives/{channel}/p{ts.replace('.', '')}"
