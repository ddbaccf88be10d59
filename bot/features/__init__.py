"""Features: each module owns a `router` with its commands and event handlers."""

from __future__ import annotations

from bot.features import (
    calendar,
    community,
    consultations,
    contributions,
    dashboard,
    digest,
    follow_up,
    help,
    hosts,
    indexing,
    kudos,
    language,
    meetups,
    occurrences,
    onboarding,
    privacy,
    profile,
    questions,
    renewal,
    reputation,
    ritual_steps,
    rituals,
    survey_manage,
    surveys,
    teams,
    who,
)
from bot.pulse import due
from bot.router import Router
from bot.routing import escalation


def build_router() -> Router:
    """Every feature's registrations merged into one router, in a stable order."""
    router = Router()
    for feature in (indexing, follow_up, help, language, who, questions, profile, teams, privacy, rituals, calendar,
                    meetups, occurrences, renewal, onboarding, contributions, kudos, reputation, hosts, surveys,
                    consultations, digest, dashboard, ritual_steps, escalation, due, survey_manage, community):
        router.include(feature.router)
    return router
