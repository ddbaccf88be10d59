"""Neutral replies as terminal text.

Control characters (ESC and the rest of C0/C1, bidirectional overrides) are removed from everything
printed, so no one's words can move the cursor, recolour or retitle the terminal, or reorder a line; the
only escape sequences are Steward's own bold. What people typed is printed as typed (never markup), and
links show their address only for http(s). The terminal's own words (the hint under a choice, "direct message
to") are in the reader's language: `render` takes their translator.
"""

from __future__ import annotations

import re

from bot.i18n import Translate, translator
from bot.markup import hold, plain, web_url
from bot.replies import (
    AskChoice,
    DirectMessage,
    Ephemeral,
    Post,
    React,
    Reply,
    ReplyInThread,
    parse_channel_link,
    parse_message_link,
)

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """`text` without control characters (line breaks and tabs stay)."""
    return _CONTROLS.sub("", text)


def render_text(text: str, color: bool) -> str:
    """Markup to terminal text: bold in ANSI when `color`, links as `label <url>`."""
    held = hold(clean(text))

    def link(match: re.Match[str]) -> str:
        label, target = match.group(1), held.reveal(match.group(2))
        neutral = parse_message_link(target)
        if neutral is not None:
            return f"{label} (#{neutral[0]}, message {neutral[1]})"
        if parse_channel_link(target) is not None:
            return label
        url = web_url(target)
        return f"{label} <{url}>" if url else match.group(0)

    out = _LINK.sub(link, held.text)
    if color:
        out = _BOLD.sub(lambda m: f"\x1b[1m{m.group(1)}\x1b[0m", out)
    else:
        out = _BOLD.sub(lambda m: m.group(1), out)
    return held.fill(out, lambda span: span)


def render(reply: Reply, color: bool = False, _: Translate | None = None) -> str:
    """One reply as the lines printed under `steward>`, the terminal's own words translated by `_`."""
    _ = _ or translator("en")
    match reply:
        case AskChoice(text=text, options=options):
            numbered = [f"  {i}. {clean(plain(opt.label))}" for i, opt in enumerate(options, 1)]
            return "\n".join([render_text(text, color), *numbered, "  " + _("(answer with a number)")])
        case React(emoji=emoji):
            return _("(reacts :{emoji}:)", emoji=clean(emoji))
        case DirectMessage(user=user, text=text, image=image, image_name=name):
            attached = "\n" + _("(image attached: {name}, {size} bytes)", name=clean(name),
                                 size=len(image)) if image else ""
            return _("(direct message to {user})", user=clean(user)) + f"\n{render_text(text, color)}{attached}"
        case Post(text=text) | ReplyInThread(text=text) | Ephemeral(text=text):
            return render_text(text, color)
    raise TypeError(f"cannot render {reply!r}")  # pragma: no cover
