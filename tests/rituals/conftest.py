"""Rituals fixtures: the whole bot with job targets bound to it, and helpers to make rituals by chat."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapters.recording import RecordingAdapter
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.replies import AskChoice
from storage.models import Ritual
from tests.events import command, pick

COORD = "UCOORD"
Bot = tuple[Steward, RecordingAdapter]


async def make_ritual(bot: Bot, spec: str, kind: str = "meetup") -> Ritual:
    """Schedule through chat as the coordinator and confirm the dry run; returns the saved ritual."""
    steward, platform = bot
    before = len(platform.sent)
    await platform.inject(command(f"schedule {kind} {spec}", user=COORD))
    asks = [r for r in platform.sent[before:] if isinstance(r, AskChoice)]
    assert asks, platform.texts()[before:]
    await platform.inject(pick(asks[-1].key, "yes", user=COORD))
    ritual_id = int(asks[-1].key.rsplit(":", 1)[1])
    async with steward.db.session() as session:
        ritual = await session.get(Ritual, ritual_id)
    assert ritual is not None and ritual.status == "active"
    return ritual


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The shared test community, with a purpose, intros on, a founding date and a time zone."""
    return Config(data_dir=tmp_path, communities=(CommunityConfig(
        slug="k8s", name="Kubernetes CoP", channels=("recording:C1",), coordinators=("recording:UCOORD",),
        sponsors=("recording:USPONSOR",), timezone="America/Montreal", founded=date(2024, 3, 12),
        purpose="We help each other run Kubernetes well.", intros=True),))
