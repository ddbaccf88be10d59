"""The tiny contract between the core and a platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Protocol

from bot.events import Event
from bot.replies import Reply, SentRef
from storage.owners import Liveness

Sink = Callable[[Event], Awaitable[object]]

# An adapter that keeps one conversation's events in order may set this before calling its sink: the core
# calls it once the event's transaction is over (committed, a duplicate or failed), before the replies are
# sent. The conversation's next event may start then: its replies still leave after these, since delivery
# keeps one lane per conversation (bot/delivery.py), while waiting for the sends would cap a conversation
# at one event per platform round trip.
TRANSACTION_OVER: ContextVar[Callable[[], None] | None] = ContextVar("transaction_over", default=None)


class Adapter(Protocol):
    """A platform connection: it feeds events into a sink and renders replies.

    Optional: `async def already_sent(self, reply, key) -> SentRef | None` when the platform can find a
    reply it accepted by its key (Slack message metadata): the core asks it before sending again a reply
    a crashed process left, which makes those resends exactly once too. And `def web_link(self, channel,
    message_id) -> str | None`: a web address of a message, for a reader on another platform (a digest's
    stories); without it, such a reader gets no link.

    `user_id` is Steward's own id on the platform once started (own events are ignored by the core).
    """

    platform: str
    user_id: str | None

    async def start(self, sink: Sink, liveness: Liveness | None = None) -> None:
        """Connect and start feeding events to `sink`; return once listening.

        `liveness` is the running process's owner id and its test for dead ones: an adapter that
        acknowledges deliveries before handling them (Slack) keeps them under that owner, and takes
        over those of a dead process.
        """

    async def send(self, reply: Reply, key: str | None = None) -> SentRef:
        """Render and deliver one reply; raise an `AdapterError` subclass on failure.

        `key` is the reply's stable idempotency key (the same on a resend after a crash): platforms
        with idempotent sends use it (a Matrix transaction id); `Transient` and `RateLimited` mean
        "try again later" and the core does. A form the platform cannot show is answered with its
        `fallback` by the adapter itself.
        """

    async def stop(self) -> None:
        """Stop listening and let in-flight sends finish."""
