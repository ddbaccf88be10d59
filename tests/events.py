"""Builders of neutral events for tests (the recording platform, community k8s in channel C1)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

from bot.events import ChoicePicked, MessagePosted, Sender

_ids = itertools.count(1)


def message(text: str, *, user: str = "UANA", addressed: bool = False, channel: str = "C1",
            thread: str | None = None, direct: bool = False, event_id: str | None = None,
            message_id: str | None = None, **extra: Any) -> MessagePosted:
    """A message from `user`, addressed to Steward when `addressed`; its Slack-style `<@U…>` are the
    mentions the platform vouches for, as the Slack adapter reports them."""
    n = next(_ids)
    mid = message_id or f"{1700000000 + n}.000100"
    extra.setdefault("mentions", tuple(dict.fromkeys(re.findall(r"<@([A-Za-z0-9]+)(?:\|[^>]*)?>", text))))
    return MessagePosted(event_id=event_id or f"ev-{mid}", platform="recording", channel=channel,
                         sender=Sender(id=user, display_name=user.title()), message_id=mid, text=text,
                         addressed=addressed or direct, command_text=text if (addressed or direct) else "",
                         thread=thread, is_direct=direct, at=datetime.now(UTC), **extra)


def command(text: str, **kw: Any) -> MessagePosted:
    """A message addressed to Steward in channel C1."""
    return message(text, addressed=True, **kw)


def pick(key: str, option: str, *, user: str = "UANA", channel: str = "C1") -> ChoicePicked:
    """A member answering a choice question."""
    n = next(_ids)
    return ChoicePicked(event_id=f"pick-{n}", platform="recording", channel=channel,
                        sender=Sender(id=user), key=key, option=option)
