"""Features: each module owns a `router` with its commands and event handlers."""

from __future__ import annotations

from bot.features import (
    follow_up,
    help,
    indexing,
    language,
    meetups,
    onboarding,
    privacy,
    profile,
    renewal,
    rituals,
    who,
)
from bot.router import Router


def build_router() -> Router:
    """Every feature's registrations merged into one router, in a stable order."""
    router = Router()
    for feature in (indexing, follow_up, help, language, who, profile, privacy, rituals, meetups, renewal, onboarding):
        router.include(feature.router)
    return router
