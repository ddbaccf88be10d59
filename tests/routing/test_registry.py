"""The per-community expertise indexes: warmed at start, built from storage like the live path keeps them."""

from __future__ import annotations

import asyncio

from adapters.recording import RecordingAdapter
from app.runtime import warm_indexes
from bot.core import Steward
from bot.expertise import Post
from storage.communities import get_community
from tests.events import command
from tests.routing.history import post, seed

Bot = tuple[Steward, RecordingAdapter]


async def test_warming_builds_every_configured_community_index(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    async with steward.db.session() as session:
        community = await get_community(session, "k8s")
    assert community is not None and community.id is not None
    registry = steward.services.expertise
    registry.invalidate(community.id)
    assert registry.loaded(community.id) is None
    await warm_indexes(steward)
    index = registry.loaded(community.id)
    assert index is not None
    assert [s.member for s in index.rank("rolling back a helm release", asker=None, top=1)] == ["UANA"]


async def _same_as_a_fresh_build(steward: Steward, community_id: int, questions: list[str]) -> None:
    registry = steward.services.expertise
    live = registry.loaded(community_id)
    assert live is not None
    registry.invalidate(community_id)
    fresh = await registry.index(community_id)
    for q in questions:
        got = [(s.member, round(s.score, 6), s.evidence.accepted) for s in live.rank(q, asker=None)]
        assert got == [(s.member, round(s.score, 6), s.evidence.accepted) for s in fresh.rank(q, asker=None)], q


async def test_opting_back_in_restores_the_member_without_rebuilding(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    registry = steward.services.expertise
    index = await registry.index(1)
    await platform.inject(command("opt out", user="UBRUNO"))
    assert "UBRUNO" not in [s.member for s in index.rank("terraform state locking", asker=None)]
    await platform.inject(command("opt in", user="UBRUNO"))
    await registry.idle()
    assert registry.loaded(1) is index  # the same index, not a rebuild
    top = index.rank("terraform state locking", asker=None)[0]
    assert top.member == "UBRUNO" and top.evidence.accepted == 4
    await _same_as_a_fresh_build(steward, 1, ["terraform state locking", "helm release", "terraform or helm"])


async def test_opting_in_after_the_index_was_built_without_them(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    registry = steward.services.expertise
    await platform.inject(command("opt out", user="UBRUNO"))
    registry.invalidate(1)
    index = await registry.index(1)  # built while Bruno was out: his posts were never read
    assert "UBRUNO" not in [s.member for s in index.rank("terraform modules", asker=None)]
    await platform.inject(command("opt in", user="UBRUNO"))
    await registry.idle()
    top = index.rank("terraform modules", asker=None)[0]
    assert top.member == "UBRUNO" and top.evidence.accepted == 4  # his answers' ✅ came back with them
    await _same_as_a_fresh_build(steward, 1, ["terraform modules", "helm chart values"])


async def test_changes_committed_during_a_build_reach_the_index(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    registry = steward.services.expertise
    registry.invalidate(1)
    build = asyncio.create_task(registry.index(1))
    await asyncio.sleep(0)  # the build starts and waits on the database
    assert registry.building(1)
    # A live message whose commit lands while the build reads its snapshot: kept, applied after.
    root = post("Which service mesh: linkerd or istio?", "UCHLOE")
    registry.update(1, lambda index: index.add(Post(root.message_id, root.message_id, "UCHLOE", root.text, 1.0)))
    registry.update(1, lambda index: index.add(Post("r1", root.message_id, "UGRACE", "linkerd", 2.0)))
    index = await build
    assert not registry.building(1)
    assert [s.member for s in index.rank("linkerd service mesh", asker=None, top=1)] == ["UGRACE"]
