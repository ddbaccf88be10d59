"""The console adapter: each line typed is a direct message to Steward; choices are answered by number.

Lines starting with `/` are the terminal's own commands, never sent to the core: the wiring hands
them in (`local`), e.g. `/advance 2d` to move the clock forward. The console keeps that clock: its
events are stamped with the moved time (`offset`). Its own words (the greeting, "answer with a number") are in
the language of the person at the terminal, which the wiring tells it (`locale`).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TextIO

from adapters.console.render import render
from bot.adapter import Sink
from bot.errors import Unsupported
from bot.events import ChoicePicked, MessagePosted, Sender
from bot.i18n import Translate, translator
from bot.markup import plain
from bot.replies import AskChoice, AskForm, DirectMessage, Reply, SentRef
from storage.owners import Liveness

CHANNEL = "console"
EXIT_WORDS = {"quit", "exit", "bye", "au revoir", ":q"}
LocalCommand = Callable[[str], Awaitable[str]]  # the rest of the line → what to print
ReaderLocale = Callable[[], Awaitable[str]]  # the language of the person at the terminal, as Steward knows it


class ConsoleAdapter:
    """A terminal REPL speaking to the core through neutral events."""

    platform = "console"

    def __init__(self, community: str, user: str, *, read_line: Callable[[str], str] | None = None,
                 out: TextIO | None = None, local: Mapping[str, LocalCommand] | None = None,
                 locale: ReaderLocale | None = None) -> None:
        self.community, self.user = community, user
        self.user_id: str | None = "steward"
        self._read_line = read_line or input
        self._out = out or sys.stdout
        self._color = self._out.isatty()
        self._session = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)
        self._pending: AskChoice | None = None
        self._sink: Sink | None = None
        self.local: dict[str, LocalCommand] = dict(local or {})
        self.offset = timedelta()  # how far `/advance` moved this terminal's clock
        self.locale = locale

    async def _translator(self) -> Translate:
        return translator(await self.locale() if self.locale is not None else "en")

    def now(self) -> datetime:
        """This terminal's time: the real time, moved forward by `/advance`."""
        return datetime.now(UTC) + self.offset

    async def start(self, sink: Sink, liveness: Liveness | None = None) -> None:
        """Remember the sink; `run` drives the loop."""
        self._sink = sink

    async def run(self) -> None:
        """Read lines until end of input or an exit word; each becomes an event."""
        assert self._sink is not None
        _ = await self._translator()
        self._print(_("Steward: community “{community}”, you are “{user}”. Type `help` (or `aide`), `quit` to "
                      "leave.", community=self.community, user=self.user))
        while True:
            try:
                line = await asyncio.to_thread(self._read_line, f"{self.user}> ")
            except (EOFError, KeyboardInterrupt):
                self._print("")
                return
            if line.strip().casefold() in EXIT_WORDS:
                return
            if line.strip().startswith("/"):
                await self.run_local(line.strip())
            elif line.strip():
                await self._sink(self.event_for(line))

    async def run_local(self, line: str) -> None:
        """A terminal command (`/advance 2d`): run by the wiring, its answer printed."""
        name, _, rest = line.partition(" ")
        command = self.local.get(name.casefold())
        if command is None:
            _ = await self._translator()
            known = ", ".join(sorted(self.local)) or _("none")
            self._print(_("{name}: not a terminal command (they are: {known}). Type `help` to talk to Steward.",
                          name=name, known=known))
            return
        self._print(await command(rest))

    def event_for(self, line: str) -> MessagePosted | ChoicePicked:
        """The neutral event for a typed line (a pending choice takes a number or a label)."""
        n = next(self._counter)
        common = {"event_id": f"console:{self._session}:{n}", "platform": self.platform, "channel": CHANNEL,
                  "community": self.community, "is_direct": True, "at": self.now(),
                  "sender": Sender(id=self.user, display_name=self.user[:1].upper() + self.user[1:], operator=True)}
        choice = self._pick(line)
        if choice is not None and self._pending is not None:
            key = self._pending.key
            self._pending = None
            return ChoicePicked(key=key, option=choice, **common)  # type: ignore[arg-type]
        return MessagePosted(message_id=f"{self._session}.{n}", text=line, addressed=True,
                             command_text=line, **common)  # type: ignore[arg-type]

    def _pick(self, line: str) -> str | None:
        if self._pending is None:
            return None
        text = line.strip().casefold()
        for i, option in enumerate(self._pending.options, 1):
            if text in (str(i), option.id.casefold(), plain(option.label).casefold()):
                return option.id
        return None

    async def send(self, reply: Reply, key: str | None = None) -> SentRef:
        """Print the reply; a choice question waits for the next line."""
        if isinstance(reply, AskForm):
            if reply.fallback is None:
                raise Unsupported("the terminal asks step by step instead of showing a form")
            return await self.send(reply.fallback, key)
        if isinstance(reply, AskChoice):
            self._pending = reply
        if isinstance(reply, DirectMessage) and reply.user == self.user:
            self._print(render(reply.__class__(user=reply.user, text=reply.text), self._color,
                               await self._translator()).split("\n", 1)[-1])
        else:
            self._print(render(reply, self._color, await self._translator()))
        return SentRef(self.platform, CHANNEL, f"out.{next(self._counter)}")

    async def stop(self) -> None:
        """Nothing to close."""
        self._sink = None

    def _print(self, text: str) -> None:
        prefix = "steward> " if text else ""
        self._out.write(prefix + text.replace("\n", "\n         ") + "\n")
        self._out.flush()
