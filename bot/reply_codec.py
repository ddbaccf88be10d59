"""Reply intents to JSON and back, so a reply can wait in the database for its delivery.

A form (`AskForm`) is never kept: it answers a platform interaction that expires within seconds.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

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
    cls.__name__: cls for cls in (Post, ReplyInThread, DirectMessage, Ephemeral, AskChoice, React, Prerendered)
}


def keepable(reply: Reply) -> bool:
    """True for replies worth delivering late (not forms: their interaction has expired)."""
    return not isinstance(reply, AskForm)


def encode(reply: Reply) -> str:
    """One reply as a JSON object naming its kind."""
    data: dict[str, Any] = {"kind": type(reply).__name__}
    for f in dataclasses.fields(reply):
        value = getattr(reply, f.name)
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        elif isinstance(value, tuple):
            value = [dataclasses.asdict(v) for v in value]
        data[f.name] = value
    return json.dumps(data, ensure_ascii=False)


def decode(payload: str) -> Reply:
    """The reply `encode` wrote; `ValueError` when the payload is not one."""
    try:
        data = json.loads(payload)
        cls = KINDS[data.pop("kind")]
        if isinstance(data.get("image"), str):
            data["image"] = base64.b64decode(data["image"])
        if "options" in data:
            data["options"] = tuple(Option(**o) for o in data["options"])
        if "fields" in data:
            data["fields"] = tuple(FormField(**f) for f in data["fields"])
        reply: Reply = cls(**data)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"not a stored reply ({err!r})") from err
    return reply
