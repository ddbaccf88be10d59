"""Platform-neutral records of a community's past, as importers produce them.

Importers (e.g. `adapters.slack_export`) yield these; `bot.importer` writes them through storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class HistoryUser:
    """A person (or bot) of the platform."""

    id: str
    display_name: str
    timezone: str | None = None
    is_bot: bool = False
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class HistoryChannel:
    """A channel and its human name."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """A past message; `thread` is the root's id for replies; reactions are (emoji, user ids)."""

    id: str
    channel: str
    user: str
    text: str
    at: datetime
    thread: str | None = None
    reactions: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file the importer could not use, and why (reported to the user, never fatal)."""

    path: str
    reason: str
