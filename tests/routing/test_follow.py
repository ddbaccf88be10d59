"""Two Steward processes on one database: each one's expertise index follows what the other stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from adapters.recording import RecordingAdapter
from bot.config import Config
from bot.core import Steward
from bot.events import ChoicePicked, MessageDeleted, MessageEdited, ReactionAdded, ReactionRemoved, Sender
from bot.expertise import ExpertiseIndex
from bot.features import build_router
from bot.replies import ReplyInThread
from bot.routing.follow import Cursor
from bot.routing.registry import ExpertiseRegistry
from storage.communities import ensure_channel
from storage.db import Database
from storage.members import ensure_member
from storage.messages import store_message
from storage.models import Community
from tests.conftest import BACKEND
from tests.events import command
from tests.routing.history import START, post, seed

Bot = tuple[Steward, RecordingAdapter]
FAST = 0.05  # seconds between two follower passes in tests
PATIENCE = 5.0  # "within seconds"


@pytest.fixture
async def other(db: Database, config: Config) -> AsyncIterator[Bot]:
    """A second Steward on the same database: another process behind the same endpoint."""
    own_db = Database(db.url)
    steward = Steward(own_db, config, build_router())
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    yield steward, platform
    await steward.stop()
    await own_db.dispose()


@asynccontextmanager
async def following(*stewards: Steward) -> AsyncIterator[None]:
    """Start each Steward's follower as `steward run` does, and stop it after."""
    for steward in stewards:
        await steward.services.expertise.start_following(FAST)
    try:
        yield
    finally:
        for steward in stewards:
            await steward.services.expertise.stop_following()


async def eventually(check: Callable[[], bool], what: str) -> float:
    """Poll until `check` holds; returns the seconds it took, fails after PATIENCE."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > PATIENCE:
            pytest.fail(f"not within {PATIENCE} s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def top(index: ExpertiseIndex, question: str) -> list[tuple[str, int]]:
    """Who the index ranks for a question, with how many of their answers were marked ✅."""
    return [(s.member, s.evidence.accepted) for s in index.rank(question, asker=None, top=3)]


async def _ask(platform: RecordingAdapter, text: str) -> str:
    platform.sent.clear()
    event = command(text, user="UFRANK")
    await platform.inject(event)
    answer = platform.sent[0]
    assert isinstance(answer, ReplyInThread)
    return answer.text


async def test_who_knows_through_b_finds_the_expert_whose_history_a_handled(bot: Bot, other: Bot) -> None:
    a, a_platform = bot
    b, b_platform = other
    async with following(a, b):
        assert "I don't know yet who knows" in await _ask(b_platform, "who knows about rolling back a helm release?")
        await seed(a_platform)  # every message, answer and ✅ goes through A
        index = b.services.expertise.loaded(1)
        assert index is not None
        await eventually(lambda: top(index, "rolling back a helm release")[:1] == [("UANA", 4)],
                         "B's index ranks Ana for helm, with her accepted answers")
        text = await _ask(b_platform, "who knows about rolling back a helm release?")
        assert "**Ana**" in next(line for line in text.splitlines() if line.startswith("- **"))
        assert "How do I roll back a helm release?" in text


async def test_edits_reactions_and_deletions_on_a_reach_b(bot: Bot, other: Bot) -> None:
    a, a_platform = bot
    b, _ = other
    b_index = await b.services.expertise.index(1)
    async with following(a, b):
        root = post("How do I roll back a helm release?", "UCHLOE")
        answer = post("helm rollback to the previous revision", "UANA", thread=root.message_id)
        for event in (root, answer):
            await a_platform.inject(event)
        tick = dict(platform="recording", channel="C1", sender=Sender(id="UCHLOE"), message_id=answer.message_id,
                    emoji="white_check_mark")
        await a_platform.inject(ReactionAdded(event_id="ok", **tick))  # type: ignore[arg-type]
        await eventually(lambda: top(b_index, "helm rollback") == [("UANA", 1)], "the answer and its ✅")
        await a_platform.inject(ReactionRemoved(event_id="not-ok", **tick))  # type: ignore[arg-type]
        await eventually(lambda: top(b_index, "helm rollback") == [("UANA", 0)], "the ✅ taken back")
        await a_platform.inject(MessageEdited(event_id="edit", platform="recording", channel="C1",
                                              sender=Sender(id="UCHLOE"), message_id=root.message_id,
                                              text="How do I pin terraform provider versions?"))
        await eventually(lambda: top(b_index, "terraform provider versions") == [("UANA", 0)]
                         and not top(b_index, "helm rollback"), "the question's new words")
        await a_platform.inject(MessageDeleted(event_id="gone", platform="recording", channel="C1",
                                               sender=Sender(id="UANA"), message_id=answer.message_id))
        await eventually(lambda: not top(b_index, "terraform provider versions"), "the deleted answer")


async def test_opt_outs_and_declared_topics_on_a_reach_b(bot: Bot, other: Bot) -> None:
    a, a_platform = bot
    b, _ = other
    await seed(a_platform)
    b_index = await b.services.expertise.index(1)
    async with following(a, b):
        assert top(b_index, "terraform state locking")[0][0] == "UBRUNO"
        await a_platform.inject(command("opt out", user="UBRUNO"))
        await eventually(lambda: "UBRUNO" not in [m for m, _ in top(b_index, "terraform state locking")],
                         "Bruno's opt-out")
        await a_platform.inject(command("opt in", user="UBRUNO"))
        await eventually(lambda: top(b_index, "terraform state locking")[:1] == [("UBRUNO", 4)], "his opt-in")
        await a_platform.inject(command("I know about kustomize overlays", user="UDAVID"))
        await eventually(lambda: top(b_index, "kustomize overlays")[:1] == [("UDAVID", 0)],
                         "David's declared topic")


async def test_a_forget_me_on_a_rebuilds_b_without_them(bot: Bot, other: Bot) -> None:
    a, a_platform = bot
    b, _ = other
    await seed(a_platform)
    b_index = await b.services.expertise.index(1)
    async with following(a, b):
        await a_platform.inject(command("forget me", user="UANA"))
        choice = a_platform.sent[-1]
        key = getattr(choice, "key", "")
        await a_platform.inject(ChoicePicked(event_id="yes", platform="recording", channel="C1",
                                             sender=Sender(id="UANA"), key=key, option="yes"))
        await eventually(lambda: b.services.expertise.loaded(1) is not b_index, "B's rebuilt index")
        rebuilt = b.services.expertise.loaded(1)
        assert rebuilt is not None
        assert "UANA" not in [m for m, _ in top(rebuilt, "rolling back a helm release")]


async def test_a_process_following_its_own_changes_counts_each_once(bot: Bot) -> None:
    steward, platform = bot
    registry = steward.services.expertise
    live = await registry.index(1)
    async with following(steward):
        await seed(platform)  # applied live, then again by the follower
        root = post("Helm hooks run twice on upgrade", "UCHLOE")
        answer = post("helm hooks need a delete policy", "UANA", thread=root.message_id)
        for event in (root, answer):
            await platform.inject(event)
        for n, (user, emoji, added) in enumerate([("UBRUNO", "+1", True), ("UEVE", "+1", True),
                                                  ("UCHLOE", "white_check_mark", True),
                                                  ("UEVE", "+1", False)]):
            kind = ReactionAdded if added else ReactionRemoved
            await platform.inject(kind(event_id=f"r{n}", platform="recording", channel="C1", sender=Sender(id=user),
                                       message_id=answer.message_id, emoji=emoji))
        await registry.catch_up()
        registry.invalidate(1)
        fresh = await registry.index(1)
        for question in ("rolling back a helm release", "terraform state locking", "helm hooks", "helm or terraform"):
            got = [(s.member, round(s.score, 6), s.evidence.accepted) for s in live.rank(question, asker=None)]
            assert got == [(s.member, round(s.score, 6), s.evidence.accepted)
                           for s in fresh.rank(question, asker=None)], question


async def test_a_deletion_read_after_its_id_was_reused_brings_back_nothing(bot: Bot, other: Bot) -> None:
    """SQLite gives the id of the last message to the next one once it is deleted: B, reading the deletion
    after that, must not index the new question a second time under the deleted message's id."""
    a, a_platform = bot
    b, _ = other
    await seed(a_platform)
    b_index = await b.services.expertise.index(1)
    await b.services.expertise.start_following(3600)  # one pass now, the next one by hand
    try:
        gone = post("Kubernetes ingress returns 404 behind nginx", "UEVE")  # the last row
        await a_platform.inject(gone)
        await a_platform.inject(MessageDeleted(event_id="gone-last", platform="recording", channel="C1",
                                               sender=Sender(id="UEVE"), message_id=gone.message_id))
        root = post("Helm rollback hangs on a pre-upgrade hook", "UDAVID")  # gets the deleted one's row id
        await a_platform.inject(root)
        await a_platform.inject(post("Delete the hook job, then helm rollback again", "UFRANK", thread=root.message_id))
        await b.services.expertise.catch_up()
    finally:
        await b.services.expertise.stop_following()
    fresh = await ExpertiseRegistry(a.db).index(1)
    question = "helm rollback hook"
    ranked = [[(s.member, round(s.score, 9), s.evidence.answers, s.evidence.thread_ids)
               for s in index.rank(question, asker=None, now=2e9)] for index in (b_index, fresh)]
    assert "UFRANK" in [m for m, *_ in ranked[1]]
    assert ranked[0] == ranked[1]
    assert [t.thread_id for t in b_index.threads_like(question)] == [t.thread_id for t in fresh.threads_like(question)]


async def test_history_stored_before_following_started_is_caught_up(bot: Bot, other: Bot) -> None:
    """A process that built its index before its follower started (a question before warming) misses nothing."""
    _a, a_platform = bot
    b, _ = other
    b_index = await b.services.expertise.index(1)  # built now; the follower starts only later
    await seed(a_platform)
    async with following(b):
        await eventually(lambda: top(b_index, "terraform state locking")[:1] == [("UBRUNO", 4)], "the history")


@pytest.mark.skipif(BACKEND != "postgres", reason="only PostgreSQL commits ids out of order (SQLite has one writer)")
async def test_a_change_committed_after_a_later_one_is_not_skipped(bot: Bot, other: Bot) -> None:
    a, _ = bot
    b, _ = other
    b_index = await b.services.expertise.index(1)
    async with a.db.session() as session:
        community = await session.get(Community, 1)
        assert community is not None
        channel = (await ensure_channel(session, community, "recording", "C1")).id or 0
        chloe, gina = [(await ensure_member(session, 1, "recording", u)).id or 0 for u in ("UCHLOE", "UGINA")]
    async with following(b):
        slow = a.db.new_session()
        await slow.begin()  # a transaction that takes its ids first and commits last
        await store_message(slow, community_id=1, channel_id=channel, author_id=chloe, platform_id="slow-q",
                            text="Kustomize overlays per environment?", posted_at=START)
        await store_message(slow, community_id=1, channel_id=channel, author_id=gina, platform_id="slow-a",
                            text="One overlay per environment", posted_at=START, thread_id="slow-q")
        async with a.db.session() as fast:
            await store_message(fast, community_id=1, channel_id=channel, author_id=gina, platform_id="fast",
                                text="Anyone for the meetup?", posted_at=START)
        await b.services.expertise.catch_up()
        assert not top(b_index, "kustomize overlays")  # the later id is read, the earlier ones awaited
        await slow.commit()
        await slow.close()
        await eventually(lambda: top(b_index, "kustomize overlays")[:1] == [("UGINA", 0)], "the late commit")


def test_ids_committed_out_of_order_are_waited_for_then_given_up() -> None:
    cursor = Cursor(mark=10)
    cursor.advance([11, 14], now=0.0)  # 12 and 13 are still in open transactions (or rolled back)
    assert cursor.mark == 14 and sorted(cursor.waiting()) == [12, 13]
    cursor.advance([12], now=1.0)
    assert cursor.waiting() == [13]
    cursor.advance([], now=61.0)  # past the grace: 13 was rolled back
    assert cursor.waiting() == [] and cursor.mark == 14
