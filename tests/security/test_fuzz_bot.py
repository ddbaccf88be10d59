"""The whole bot fuzzed: random commands (every form in both languages, random arguments), random choice
picks (real options, stale keys, made-up answers), from members, coordinators, sponsors and strangers, in
channels and DMs, on the real database. Whatever they say, Steward never answers "Sorry, something went
wrong" (a handler that crashed) and never lets a dispatch raise."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.features import build_router
from bot.replies import AskChoice
from storage.db import Database
from tests.conftest import BACKEND
from tests.events import message, pick

USERS = ("UANA", "UBOB", "UCOORD", "USPONSOR", "UNEW")
SORRY = "something went wrong"
FORMS = sorted({form for spec in build_router().specs for forms in spec.forms.values() for form in forms})

arguments = st.one_of(
    st.sampled_from(["helm", "kubernetes upgrades", "1", "2", "0", "-3", "99999999999999999999", "yes", "no",
                     "@UANA", "@UBOB @UNEW", "<@UBOB>", "@nobody", "tomorrow 18:00", "every friday at 10:00",
                     "2026-13-45", "fr", "en", "de", "#C1", "scale 1-5", "choice a / b", "until friday",
                     "", " ", "🙏", "[x](!channel)", "`code`", "\x00", "a" * 5000]),
    st.text(max_size=80),
)


@st.composite
def actions(draw: st.DrawFn) -> list[tuple[str, str, str, bool]]:
    """A short session: ("say" | "pick", user, text or option, in a DM)."""
    steps = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        user = draw(st.sampled_from(USERS))
        direct = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            steps.append(("pick", user, draw(st.sampled_from(["1", "2", "3", "yes", "no", "x", ""])), direct))
            continue
        form = draw(st.sampled_from(FORMS))
        said = re.sub(r"\{[a-z_]+\}", lambda _: draw(arguments), form)
        if draw(st.integers(0, 4)) == 0:
            said = draw(st.text(max_size=120))  # not a command at all
        steps.append(("say", user, said, direct))
    return steps


async def _reset(db: Database) -> None:
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for name in reversed(tables):
                await conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            await conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))


async def _session(db: Database, data_dir: Path, steps: list[tuple[str, str, str, bool]]) -> list[str]:
    await _reset(db)
    config = Config(data_dir=data_dir, communities=(CommunityConfig(
        slug="k8s", name="Kubernetes CoP", channels=("recording:C1",), coordinators=("recording:UCOORD",),
        sponsors=("recording:USPONSOR",)),))
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    try:
        for kind, user, said, direct in steps:
            if kind == "say":
                event = message(said, user=user, addressed=not direct, direct=direct,
                                channel=f"D-{user}" if direct else "C1")
            else:
                asked = [r for r in platform.sent if isinstance(r, AskChoice)]
                key = asked[-1].key if asked else "no-such-question"
                options = [o.id for o in asked[-1].options] if asked else []
                option = options[int(said) % len(options)] if options and said.isdigit() else said
                event = pick(key, option, user=user, channel=asked[-1].channel if asked else "C1")
            await platform.inject(event)
        return [getattr(r, "text", "") or "" for r in platform.sent]
    finally:
        await steward.stop()


@pytest.fixture
def fuzz_url(database_url: str) -> str:
    """A migrated database; each example opens (and closes) its own engine on its own event loop."""
    async def migrate() -> None:
        database = Database(database_url)
        await database.upgrade()
        await database.dispose()

    asyncio.run(migrate())
    return database_url


@settings(max_examples=150 if BACKEND == "sqlite" else 60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=actions())
def test_no_input_makes_a_handler_crash(fuzz_url: str, tmp_path: Path,
                                        steps: list[tuple[str, str, str, bool]]) -> None:
    async def run() -> list[str]:
        database = Database(fuzz_url)
        try:
            return await _session(database, tmp_path, steps)
        finally:
            await database.dispose()

    said = asyncio.run(run())
    crashed = [t for t in said if SORRY in t or "quelque chose s'est mal passé" in t]
    assert not crashed, f"a handler crashed on {steps!r}"
