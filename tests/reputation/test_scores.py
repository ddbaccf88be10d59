"""Reputation: weights, decay, topics, explanations that add up, opted-out members, leaderboards."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from bot.reputation.scores import explain, reputation
from bot.reputation.weights import HALF_LIFE_DAYS, WEIGHTS, decay, level
from storage.db import Database
from storage.ledger import record
from storage.models import Member
from storage.types import utcnow
from tests.events import command, message
from tests.reputation.conftest import member_id

Bot = tuple[Steward, RecordingAdapter]
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_decay_halves_every_half_life() -> None:
    assert decay(0) == 1.0
    assert decay(int(HALF_LIFE_DAYS)) == pytest.approx(0.5)
    assert decay(int(2 * HALF_LIFE_DAYS)) == pytest.approx(0.25)
    assert decay(-3) == 1.0  # a clock slightly ahead never inflates a score
    assert level(0.5) is None and level(12) == "Regular" and level(100) == "Steward"


async def _people(steward: Steward, platform: RecordingAdapter, *users: str) -> dict[str, int]:
    for user in users:
        await platform.inject(message(f"hello from {user}", user=user))
    return {u: await member_id(steward, u) for u in users}


async def _entry(steward: Steward, who: int, kind: str, days_ago: int, topic: str, n: int,
                 now: datetime | None = None) -> None:
    async with steward.db.session() as session:
        member = await session.get(Member, who)
        assert member is not None
        await record(session, community_id=member.community_id, member_id=who, kind=kind,
                     key=f"{kind}:{who}:t{n}", at=(now or utcnow()) - timedelta(days=days_ago), topic=topic,
                     evidence_url=f"steward://message/C1/{n}.0")


async def test_scores_decay_and_explanations_add_up(bot: Bot) -> None:
    steward, platform = bot
    ids = await _people(steward, platform, "UANA", "UBRUNO")
    ana, bruno = ids["UANA"], ids["UBRUNO"]
    await _entry(steward, ana, "accepted", 0, "helm chart", 1, NOW)
    await _entry(steward, ana, "answered", 180, "helm upgrade", 2, NOW)
    await _entry(steward, ana, "thanked", 360, "terraform", 3, NOW)
    await _entry(steward, bruno, "answered", 10, "terraform modules", 4, NOW)
    async with steward.db.session() as session:
        community = (await session.get(Member, ana)).community_id  # type: ignore[union-attr]
        everyone = await reputation(session, community, now=NOW)
        helm = await reputation(session, community, topic="helm upgrades?", now=NOW)
        why = await explain(session, ana, now=NOW)
        why_helm = await explain(session, ana, topic="helm", now=NOW)
    assert everyone[ana] == pytest.approx(WEIGHTS["accepted"] + WEIGHTS["answered"] / 2 + WEIGHTS["thanked"] / 4)
    assert helm == {ana: pytest.approx(5 + 1.5)}  # bruno answered on terraform only
    assert why.score == pytest.approx(everyone[ana]) and len(why.lines) == 3
    assert sum(line.points for line in why.lines) == pytest.approx(everyone[ana])
    assert why_helm.score == pytest.approx(helm[ana]) and {ln.kind for ln in why_helm.lines} == {"accepted",
                                                                                                    "answered"}
    assert why.lines[0].url == "steward://message/C1/1.0"  # best first


async def test_chat_explanations_list_the_evidence(bot: Bot) -> None:
    steward, platform = bot
    ids = await _people(steward, platform, "UANA", "UBRUNO")
    for n in range(8):
        await _entry(steward, ids["UANA"], "answered", 0, "helm", 10 + n)
    platform.sent.clear()
    await platform.inject(command("why is <@UANA> suggested for helm?", user="UBRUNO"))
    text = platform.texts()[-1]
    assert text.startswith("**Uana** on “helm”: 24.0 points (Regular).")
    assert text.count("steward://message/C1/") == 5 and "- 9.0 · 3 more entries" in text
    await platform.inject(command("reputation <@UANA>", user="UBRUNO"))
    assert "8 answers" in platform.texts()[-1]
    await platform.inject(command("my record", user="UANA"))
    record_text = platform.texts()[-1]
    assert "Contributions of **Uana**" in record_text and "main topics: helm" in record_text
    await platform.inject(command("why is <@UANA> suggested for terraform", user="UBRUNO"))
    assert "no contributions of Uana on “terraform”" in platform.texts()[-1]


async def test_opted_out_members_are_not_ranked_nor_described(bot: Bot) -> None:
    steward, platform = bot
    ids = await _people(steward, platform, "UANA", "UBRUNO")
    await _entry(steward, ids["UANA"], "answered", 0, "helm", 1)
    await _entry(steward, ids["UBRUNO"], "answered", 0, "helm", 2)
    await platform.inject(command("opt out", user="UANA"))
    async with steward.db.session() as session:
        community = (await session.get(Member, ids["UANA"])).community_id  # type: ignore[union-attr]
        assert set(await reputation(session, community)) == {ids["UBRUNO"]}
    await platform.inject(command("reputation <@UANA>", user="UBRUNO"))
    assert "opted out" in platform.texts()[-1]


async def test_leaderboard_is_off_by_default(bot: Bot) -> None:
    steward, platform = bot
    ids = await _people(steward, platform, "UANA")
    await _entry(steward, ids["UANA"], "answered", 0, "helm", 1)
    await platform.inject(command("leaderboard", user="UANA"))
    assert "no leaderboard" in platform.texts()[-1]


@pytest.mark.parametrize("mode", ["levels", "ranks"])
async def test_leaderboard_levels_or_ranks(db: Database, config: Config, mode: str) -> None:
    custom = replace(config, communities=(replace(config.communities[0], leaderboard=mode),))
    steward = Steward(db, custom, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    ids = await _people(steward, platform, "UANA", "UBRUNO", "UCHLOE")
    for n in range(4):
        await _entry(steward, ids["UANA"], "accepted", 0, "helm", n)  # 20 points: Regular
    await _entry(steward, ids["UBRUNO"], "answered", 0, "helm", 9)  # 3 points: Contributor
    await _entry(steward, ids["UCHLOE"], "answered", 0, "helm", 10)
    await platform.inject(command("opt out", user="UCHLOE"))
    await platform.inject(command("leaderboard", user="UBRUNO"))
    text = platform.texts()[-1]
    assert "Uchloe" not in text
    if mode == "levels":
        assert "**Regular**: Uana" in text and "**Contributor**: Ubruno" in text and "20.0" not in text
    else:
        assert "1. Uana: 20.0 (Regular)" in text and "2. Ubruno: 3.0 (Contributor)" in text
    await steward.stop()


async def test_sql_sum_and_day_buckets_agree(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SQL math functions (some SQLite builds) the Python sum gives the same scores."""
    from storage import ledger

    steward, platform = bot
    ids = await _people(steward, platform, "UANA", "UBRUNO")
    for n, (who, kind, days) in enumerate([("UANA", "answered", 3), ("UANA", "hosted", 400), ("UBRUNO", "shared", 90),
                                           ("UBRUNO", "welcomed", 0), ("UANA", "shared", 30)]):
        await _entry(steward, ids[who], kind, days, "helm", n, NOW)
    async with steward.db.session() as session:
        community = (await session.get(Member, ids["UANA"])).community_id  # type: ignore[union-attr]
        in_sql = await reputation(session, community, now=NOW)
        monkeypatch.setattr(ledger, "_POWER", {"sqlite": False, "postgresql": False})
        in_python = await reputation(session, community, now=NOW)
        full = await explain(session, ids["UANA"], now=NOW, best=None)
        short = await explain(session, ids["UANA"], now=NOW, best=1)
    assert in_sql == pytest.approx(in_python)
    assert sum(line.points for line in full.lines) == pytest.approx(in_sql[ids["UANA"]]) == pytest.approx(full.score)
    assert len(short.lines) == 1 and short.rest[0] == 2
    assert short.lines[0].points + short.rest[1] == pytest.approx(in_sql[ids["UANA"]])
