"""Where features register: commands, event handlers and choice answers.

Matching (which handler?) stays separate from handling (what to do?): the router only answers
lookups; `bot.core.Steward` runs what it finds inside one transaction per event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from bot.commands import CommandParser, CommandSpec
from bot.events import Event
from bot.types import Role

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.config import Config
    from bot.context import Context
    from bot.events import Scheduled

Handler = Callable[["Context"], Awaitable[None]]
H = TypeVar("H", bound=Handler)
Finder = Callable[["AsyncSession", "Config", datetime], Awaitable[list["Scheduled"]]]
F = TypeVar("F", bound=Finder)


@dataclass(frozen=True, slots=True)
class Periodic:
    """A look for due work every `every` seconds: `find` returns the `Scheduled` events now due.

    Finders only read: the core claims each event (its id says which step of what), so a look repeated
    (a restart, two processes) has no second effect.
    """

    job: str
    every: float
    find: Finder


class Router:
    """A registry of handlers; several routers (one per feature) are merged with `include`."""

    def __init__(self) -> None:
        self.specs: list[CommandSpec] = []
        self.commands: dict[str, Handler] = {}
        self.events: dict[type[Event], list[Handler]] = {}
        self.choices: dict[str, Handler] = {}
        self.choice_roles: dict[str, Role] = {}
        self.jobs: dict[str, Handler] = {}
        self.periodics: list[Periodic] = []
        self._parser: CommandParser | None = None

    def command(self, spec: CommandSpec) -> Callable[[H], H]:
        """Register the handler of a command."""

        def register(handler: H) -> H:
            if spec.key in self.commands:
                raise ValueError(f"command {spec.key!r} registered twice")
            self.specs.append(spec)
            self.commands[spec.key] = handler
            self._parser = None
            return handler

        return register

    def on(self, event_type: type[Event]) -> Callable[[H], H]:
        """Register a handler run for every event of `event_type` (in registration order)."""

        def register(handler: H) -> H:
            self.events.setdefault(event_type, []).append(handler)
            return handler

        return register

    def choice(self, prefix: str, role: Role = "member") -> Callable[[H], H]:
        """Register the handler of answers to choice questions whose key starts with `prefix:`.

        With a `role`, only members holding it may answer (the core refuses others, as for commands).
        """

        def register(handler: H) -> H:
            if prefix in self.choices:
                raise ValueError(f"choice prefix {prefix!r} registered twice")
            self.choices[prefix] = handler
            self.choice_roles[prefix] = role
            return handler

        return register

    def scheduled(self, job: str) -> Callable[[H], H]:
        """Register the handler of a scheduled job (`Scheduled` events whose `job` is this name).

        What decides *when* lives in the scheduler; what happens then lives here, on the feature's router,
        and runs through the core like any event.
        """

        def register(handler: H) -> H:
            if job in self.jobs:
                raise ValueError(f"scheduled job {job!r} registered twice")
            self.jobs[job] = handler
            return handler

        return register

    def periodic(self, job: str, every: float) -> Callable[[F], F]:
        """Register a finder of due `job` events, run every `every` seconds by the scheduler's leader."""

        def register(find: F) -> F:
            self.periodics.append(Periodic(job, every, find))
            return find

        return register

    def include(self, other: Router) -> None:
        """Merge another router's registrations into this one."""
        for spec in other.specs:
            self.command(spec)(other.commands[spec.key])
        for event_type, handlers in other.events.items():
            self.events.setdefault(event_type, []).extend(handlers)
        for prefix, handler in other.choices.items():
            self.choice(prefix, other.choice_roles.get(prefix, "member"))(handler)
        for job, handler in other.jobs.items():
            self.scheduled(job)(handler)
        self.periodics.extend(other.periodics)

    @property
    def parser(self) -> CommandParser:
        """The parser over every registered command (rebuilt when commands change)."""
        if self._parser is None:
            self._parser = CommandParser(self.specs)
        return self._parser

    def spec(self, key: str) -> CommandSpec | None:
        """The spec registered under `key`."""
        return next((s for s in self.specs if s.key == key), None)

    def handlers_for(self, event: Event) -> list[Handler]:
        """Event handlers registered for the event's type."""
        return list(self.events.get(type(event), []))

    def job_handler(self, job: str) -> Handler | None:
        """The handler of a scheduled job."""
        return self.jobs.get(job)

    def choice_handler(self, key: str) -> Handler | None:
        """The handler for a choice key such as `forget:42`."""
        return self.choices.get(key.split(":", 1)[0])

    def choice_role(self, key: str) -> Role:
        """Who may answer a choice question with this key."""
        return self.choice_roles.get(key.split(":", 1)[0], "member")
