"""The tiny contract between the core and a platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.events import Event
from bot.replies import Reply, SentRef

Sink = Callable[[Event], Awaitable[None]]


class Adapter(Protocol):
    """A platform connection: it feeds events into a sink and renders replies.

    `user_id` is Steward's own id on the platform once started (own events are ignored by the core).
    """

    platform: str
    user_id: str | None

    async def start(self, sink: Sink) -> None:
        """Connect and start feeding events to `sink`; return once listening."""

    async def send(self, reply: Reply) -> SentRef:
        """Render and deliver one reply; raise an `AdapterError` subclass on failure."""

    async def stop(self) -> None:
        """Stop listening and let in-flight sends finish."""
