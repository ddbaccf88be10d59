"""Features: each module owns a `router` with its commands and event handlers."""

from __future__ import annotations

from bot.features import (
    consultations,
    contributions,
    digest,
    follow_up,
    help,
    hosts,
    indexing,
    kudos,
    language,
    meetups,
    onboarding,
    privacy,
    profile,
    renewal,
    reputation,
    rituals,
    surveys,
    who,
)
from bot.router import Router


def build_router() -> Router:
    """Every feature's registrations merged into one router, in a stable order."""
    router = Router()
    for feature in (indexing, follow_up, help, language, who, profile, privacy, rituals, meetups, renewal, onboarding,
                    contributions, kudos, reputation, hosts, surveys, consultations, digest):
        router.include(feature.router)
    return router
