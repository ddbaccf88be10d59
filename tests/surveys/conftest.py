"""Surveys fixtures: the bot with ritual targets bound, and helpers to open and answer surveys by chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.replies import AskChoice, Reply
from storage.models import Survey
from tests.clock import due_at
from tests.events import command, pick

COORD, SPONSOR = "UCOORD", "USPONSOR"
Bot = tuple[Steward, RecordingAdapter]


@pytest.fixture
def survey_bot(ritual_bot: Bot) -> Bot:
    """The bot, with the scheduler's job targets bound to it (the shared `ritual_bot`)."""
    return ritual_bot


async def survey_now(bot: Bot, spec: str, user: str = COORD) -> tuple[Survey, list[AskChoice]]:
    """Open a survey now as the coordinator; returns it and its one-tap questions."""
    steward, platform = bot
    before = len(platform.sent)
    await platform.inject(command(f"survey now {spec}", user=user))
    asks = [r for r in platform.sent[before:] if isinstance(r, AskChoice)]
    assert asks, platform.texts()[before:]
    survey_id = int(asks[0].key.split(":")[1])
    async with steward.db.session() as session:
        survey = await session.get(Survey, survey_id)
    assert survey is not None
    return survey, asks


async def answer_all(bot: Bot, key: str, options: list[str], prefix: str = "U") -> None:
    """Members U0, U1, … tap `options[i]`."""
    _, platform = bot
    for i, option in enumerate(options):
        await platform.inject(pick(key, option, user=f"{prefix}{i}"))


async def close(bot: Bot, survey: Survey, after: timedelta = timedelta(minutes=1)) -> list[Reply]:
    """Run what is due just after the survey's closing time; returns what it sent."""
    steward, platform = bot
    return await due_at(steward, platform, survey.closes_at + after)


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
