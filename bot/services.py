"""Long-lived helpers shared by every event of a running Steward (one instance per process)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.routing.registry import ExpertiseRegistry
from storage.db import Database


@dataclass
class Services:
    """What features may use beyond the event's own session."""

    expertise: ExpertiseRegistry

    @classmethod
    def for_database(cls, db: Database) -> Services:
        """Fresh services on a database."""
        return cls(expertise=ExpertiseRegistry(db))
