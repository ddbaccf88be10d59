"""An in-memory platform: events are injected, replies are recorded (for tests and embedding)."""

from __future__ import annotations

import dataclasses
import itertools

from bot.adapter import Sink
from bot.errors import Unsupported
from bot.events import Event
from bot.markup import Markup, plain
from bot.replies import AskForm, Prerendered, React, Reply, SentRef
from storage.owners import Liveness


class RecordingAdapter:
    """A complete adapter whose "platform" is a list: what the bot sends is kept in `sent`.

    `sent` shows texts as a reader would, markup kept and what people typed as typed (the literal-span
    markers of bot/markup.py removed); `raw` keeps the replies exactly as the core sent them.
    """

    def __init__(self, platform: str = "recording", user_id: str = "steward", *, forms: bool = False) -> None:
        self.platform, self.forms = platform, forms
        self.user_id: str | None = user_id
        self.sent: list[Reply] = []
        self.raw: list[Reply] = []
        self._sink: Sink | None = None
        self._ids = itertools.count(1)

    async def start(self, sink: Sink, liveness: Liveness | None = None) -> None:
        """Remember where events go."""
        self._sink = sink

    async def send(self, reply: Reply, key: str | None = None) -> SentRef:
        """Record the reply and give it a message id (forms only when built with `forms=True`)."""
        if isinstance(reply, AskForm) and not self.forms:
            if reply.fallback is None:
                raise Unsupported("this platform has no forms")
            return await self.send(reply.fallback)
        self.raw.append(reply)
        self.sent.append(reply if isinstance(reply, React | Prerendered) else
                         dataclasses.replace(reply, text=Markup(plain(reply.text))))
        return SentRef(self.platform, getattr(reply, "channel", ""), f"sent-{next(self._ids)}")

    async def stop(self) -> None:
        """Nothing to close."""
        self._sink = None

    async def inject(self, event: Event) -> None:
        """Deliver an event as the platform would."""
        assert self._sink is not None, "start the adapter first"
        await self._sink(event)

    def texts(self) -> list[str]:
        """The text of every recorded reply, in order."""
        return [getattr(r, "text", "") for r in self.sent]
