"""Neutral replies as terminal text."""

from __future__ import annotations

import re

from bot.replies import AskChoice, DirectMessage, Ephemeral, Post, React, Reply, ReplyInThread, parse_message_link

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def _link(match: re.Match[str]) -> str:
    label, url = match.group(1), match.group(2)
    neutral = parse_message_link(url)
    if neutral is not None:
        return f"{label} (#{neutral[0]}, message {neutral[1]})"
    return f"{label} <{url}>"


def render_text(text: str, color: bool) -> str:
    """Markup to terminal text: bold in ANSI when `color`, links as `label <url>`."""
    text = _LINK.sub(_link, text)
    if color:
        return _BOLD.sub(lambda m: f"\x1b[1m{m.group(1)}\x1b[0m", text)
    return _BOLD.sub(lambda m: m.group(1), text)


def render(reply: Reply, color: bool = False) -> str:
    """One reply as the lines printed under `steward>`."""
    match reply:
        case AskChoice(text=text, options=options):
            numbered = [f"  {i}. {opt.label}" for i, opt in enumerate(options, 1)]
            return "\n".join([render_text(text, color), *numbered, "  (answer with a number)"])
        case React(emoji=emoji):
            return f"(reacts :{emoji}:)"
        case DirectMessage(user=user, text=text, image=image, image_name=name):
            attached = f"\n(image attached: {name}, {len(image)} bytes)" if image else ""
            return f"(direct message to {user})\n{render_text(text, color)}{attached}"
        case Post(text=text) | ReplyInThread(text=text) | Ephemeral(text=text):
            return render_text(text, color)
    raise TypeError(f"cannot render {reply!r}")  # pragma: no cover
