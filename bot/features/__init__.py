"""Features: each module owns a `router` with its commands and event handlers."""

from __future__ import annotations

from bot.features import help, indexing, language, meetups, onboarding, privacy, renewal, rituals, who
from bot.router import Router


def build_router() -> Router:
    """Every feature's registrations merged into one router, in a stable order."""
    router = Router()
    for feature in (indexing, help, language, who, privacy, rituals, meetups, renewal, onboarding):
        router.include(feature.router)
    return router
