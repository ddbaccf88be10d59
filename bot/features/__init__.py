"""Features: each module owns a `router` with its commands and event handlers."""

from __future__ import annotations

from bot.features import (
    consultations,
    digest,
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
    surveys,
    who,
)
from bot.router import Router


def build_router() -> Router:
    """Every feature's registrations merged into one router, in a stable order."""
    router = Router()
    for feature in (indexing, follow_up, help, language, who, profile, privacy, rituals, meetups, renewal, onboarding,
                    surveys, consultations, digest):
        router.include(feature.router)
    return router
