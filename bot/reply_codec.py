"""Reply intents to JSON and back, so a reply can wait in the database for its delivery.

A form (`AskForm`) is kept only with a fallback: its interaction expires within seconds, so sent late it
can only fall back (its adapter then sends `fallback`); without one it would be dropped anyway.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

from bot.markup import Markup
from bot.replies import (
    AskChoice,
    AskForm,
    DirectMessage,
    Ephemeral,
    FormField,
    Option,
    Post,
    Prerendered,
    React,
    Reply,
    ReplyInThread,
)

KINDS: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (Post, ReplyInThread, DirectMessage, Ephemeral, AskChoice, React, AskForm,
                                  Prerendered)
}


def keepable(reply: Reply) -> bool:
    """True for replies worth delivering late (a form only with a fallback: its interaction has expired)."""
    return not isinstance(reply, AskForm) or reply.fallback is not None


def encode(reply: Reply) -> str:
    """One reply as a JSON object naming its kind."""
    return json.dumps(_to_dict(reply), ensure_ascii=False)


def _to_dict(reply: Reply) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": type(reply).__name__}
    for f in dataclasses.fields(reply):
        value = getattr(reply, f.name)
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        elif isinstance(value, tuple):
            value = [dataclasses.asdict(v) for v in value]
        elif f.name == "fallback" and value is not None:
            value = _to_dict(value)
        data[f.name] = value
    return data


def decode(payload: str) -> Reply:
    """The reply `encode` wrote; `ValueError` when the payload is not one."""
    try:
        return _from_dict(json.loads(payload))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"not a stored reply ({err!r})") from err


def _from_dict(data: dict[str, Any]) -> Reply:
    cls = KINDS[data.pop("kind")]
    if isinstance(data.get("image"), str):
        data["image"] = base64.b64decode(data["image"])
    if "options" in data:
        data["options"] = tuple(Option(**o) for o in data["options"])
    if "fields" in data:
        data["fields"] = tuple(FormField(**f) for f in data["fields"])
    if isinstance(data.get("text"), str):
        data["text"] = Markup(data["text"])  # stored as rendered by `encode`: literal spans included
    if isinstance(data.get("private_note"), str):
        data["private_note"] = Markup(data["private_note"])
    if data.get("fallback") is not None:
        data["fallback"] = _from_dict(data["fallback"])
    reply: Reply = cls(**data)
    return reply
