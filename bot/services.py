"""Long-lived helpers shared by every event of a running Steward (one instance per process)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.directory import Directory
from bot.routing.registry import ExpertiseRegistry
from storage.db import Database
from storage.models import Community

SettingsFollower = Callable[[AsyncSession, Community], Awaitable[None]]

WebLink = Callable[[str, str], str | None]  # (channel, message id) → an address a browser opens


@dataclass
class Services:
    """What features may use beyond the event's own session."""

    expertise: ExpertiseRegistry
    own_ids: dict[str, str | None] = field(default_factory=dict)  # platform → Steward's own user id
    directory: Directory = field(default_factory=Directory)  # channels and communities, resolved once
    tombstone_key: bytes | None = None  # the installation's key for tombstones, read once (it never changes)
    web_links: dict[str, WebLink] = field(default_factory=dict)  # platform → its adapter's `web_link`
    # What follows a community's settings when chat changes them (its built-in rituals: the wiring sets it).
    settings_changed: SettingsFollower | None = None

    @classmethod
    def for_database(cls, db: Database, data_dir: Path | None = None) -> Services:
        """Fresh services on a database; with a data folder, expertise indexes are saved in it."""
        return cls(expertise=ExpertiseRegistry(db, None if data_dir is None else data_dir / "index"))
