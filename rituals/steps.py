"""Which feature code runs for each step of each kind of ritual."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.context import Context
from bot.features import digest, meetups, onboarding, renewal, surveys
from bot.features.ritual_common import RitualRun

StepHandler = Callable[[Context, RitualRun], Awaitable[None]]


def handler_for(kind: str, step: str) -> StepHandler | None:
    """The feature function that runs `step` of a ritual of `kind`."""
    if kind == "meetup":
        if step == "announce":
            return meetups.announce
        if step.startswith("remind-"):
            return meetups.remind
        if step == "followup":
            return meetups.follow_up
    if kind == "reminder":
        return meetups.post_reminder
    if kind == "renewal":
        return renewal.renewal_moment
    if kind == "explore":
        return renewal.explore_prompt if step == "explore" else renewal.explore_digest
    if kind == "anniversaries":
        return onboarding.member_anniversaries
    if kind == "survey":
        return surveys.open_step
    if kind == "digest":
        return digest.monthly_digest
    return None
