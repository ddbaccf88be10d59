"""Saved expertise indexes: a later process loads the file instead of building, and catches up with storage.

Each `ExpertiseRegistry` made here stands for another process on the same database and data folder
(`snapshot_min_posts=0`: the test community is small).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.events import MessageDeleted, MessageEdited, ReactionAdded, Sender
from bot.expertise import ExpertiseIndex, Post, snapshot
from bot.history import HistoryChannel, HistoryMessage, HistoryUser
from bot.importer import HistoryImport
from bot.routing.registry import ExpertiseRegistry
from storage.communities import ensure_channel, ensure_community
from storage.db import Database
from storage.index_changes import prune
from storage.members import ensure_member
from storage.messages import store_message
from tests.routing.history import post, seed

Bot = tuple[Steward, RecordingAdapter]
QUESTIONS = ("rolling back a helm release", "terraform state locking", "helm or terraform", "kubernetes ingress",
             "pinning chart versions", "helm hooks run twice")


def process(db: Database, folder: Path) -> ExpertiseRegistry:
    """Another Steward process's registry, saving and loading in `folder`."""
    return ExpertiseRegistry(db, folder, snapshot_min_posts=0)


def rankings(index: ExpertiseIndex) -> list[object]:
    """Everything a question shows, for every test question: who, score, evidence, similar threads."""
    return [([(s.member, round(s.score, 9), s.evidence) for s in index.rank(q, asker=None, now=2e9)],
             index.threads_like(q)) for q in QUESTIONS]


async def fresh(db: Database) -> ExpertiseIndex:
    """The index as a build from storage makes it (no saved file involved)."""
    return await ExpertiseRegistry(db).index(1)


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.idx"))


async def test_a_saved_index_loads_with_the_same_rankings_as_a_build(
        bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    steward, platform = bot
    await seed(platform, {"UFRANK": "Kubernetes ingress returns 404", "UGRACE": "Helm hooks run twice"})
    folder = tmp_path / "snapshots"
    built = await process(steward.db, folder).index(1)
    assert len(files(folder)) == 1
    assert files(folder)[0].stat().st_mode & 0o777 == 0o600  # it names members: for Steward's user only
    caplog.set_level(logging.INFO, logger="bot.routing.registry")
    loaded = await process(steward.db, folder).index(1)
    assert "loaded from" in caplog.text and "built from" not in caplog.text  # not built
    assert rankings(loaded) == rankings(built) == rankings(await fresh(steward.db))
    assert loaded.weights == built.weights


async def test_the_index_round_trips_through_a_file_exactly(bot: Bot, tmp_path: Path) -> None:
    steward, platform = bot
    await seed(platform)
    index = await fresh(steward.db)
    index.forget_member("UBRUNO")  # detached replies, an emptied name: saved as they are
    snapshot.save(index, tmp_path / "x.idx", {"community_id": 1})
    loaded, meta = snapshot.load(tmp_path / "x.idx")
    assert meta == {"community_id": 1}
    assert rankings(loaded) == rankings(index)
    # It goes on living: new posts, reactions and a second save.
    for again in (index, loaded):
        again.add(Post("q9", "q9", "UCHLOE", "helm chart testing in CI", 1.9e9))
        again.add(Post("r9", "q9", "UANA", "", 1.9e9 + 60))
        again.add_reaction("r9", "white_check_mark", "UCHLOE")
        again.edit("q9", "helm chart testing in CI pipelines")
    assert rankings(loaded) == rankings(index)
    snapshot.save(loaded, tmp_path / "y.idx", {})
    assert rankings(snapshot.load(tmp_path / "y.idx")[0]) == rankings(index)


async def test_a_loaded_index_catches_up_with_what_was_stored_since(bot: Bot, tmp_path: Path) -> None:
    steward, platform = bot
    roots = await seed(platform)
    folder = tmp_path / "snapshots"
    await process(steward.db, folder).index(1)
    # Live changes after the save: a new thread, a ✅, an edited question, a deleted answer.
    root = post("Helm hooks run twice on upgrade", "UCHLOE")
    answer = post("helm hooks need a delete policy", "UGRACE", thread=root.message_id)
    for event in (root, answer):
        await platform.inject(event)
    await platform.inject(ReactionAdded(event_id="ok-hooks", platform="recording", channel="C1",
                                        sender=Sender(id="UCHLOE"), message_id=answer.message_id,
                                        emoji="white_check_mark"))
    await platform.inject(MessageEdited(event_id="ed-1", platform="recording", channel="C1", sender=Sender(id="UDAVID"),
                                        message_id=roots["Terraform state locking in S3"],
                                        text="Kubernetes ingress returns 404"))
    await platform.inject(post("I can help with ingress", "UFRANK", thread=roots["Terraform state locking in S3"]))
    await platform.inject(MessageDeleted(event_id="del-1", platform="recording", channel="C1",
                                         sender=Sender(id="UCHLOE"), message_id=roots["How do I roll back a helm "
                                                                                      "release?"]))
    loaded = await process(steward.db, folder).index(1)
    assert rankings(loaded) == rankings(await fresh(steward.db))
    assert "UGRACE" in [s.member for s in loaded.rank("helm hooks", asker=None, top=3)]


async def test_messages_imported_after_the_save_are_read(bot: Bot, tmp_path: Path) -> None:
    """An import writes no change log: the loader reads what was stored after the file's last message."""
    steward, platform = bot
    await seed(platform)
    folder = tmp_path / "snapshots"
    await process(steward.db, folder).index(1)
    job = HistoryImport(steward.db, "k8s", platform="recording")
    await job.begin([HistoryUser("UIVY", "Ivy"), HistoryUser("UJOE", "Joe")], [HistoryChannel("C1", "general")])
    at = datetime(2026, 10, 1, tzinfo=UTC)
    await job.add([
        HistoryMessage(f"imp-{n}", "C1", "UJOE", f"Linkerd mTLS question {n}", at + timedelta(hours=n))
        for n in range(3)] + [
        HistoryMessage(f"imp-r{n}", "C1", "UIVY", "linkerd answer", at + timedelta(hours=n, minutes=5),
                       thread=f"imp-{n}", reactions=(("white_check_mark", ("UJOE",)),)) for n in range(3)])
    await job.finish([])
    loaded = await process(steward.db, folder).index(1)
    assert [s.member for s in loaded.rank("linkerd mtls", asker=None, top=1)] == ["UIVY"]
    assert rankings(loaded) == rankings(await fresh(steward.db))


async def test_an_index_older_than_the_change_log_is_built_again(
        bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    steward, platform = bot
    await seed(platform)
    folder = tmp_path / "snapshots"
    await process(steward.db, folder).index(1)
    await platform.inject(post("Terraform workspaces or folders?", "UCHLOE"))
    async with steward.db.session() as session:
        await prune(session, older_than=timedelta(0))  # the change made since is no longer in the log
    caplog.set_level(logging.INFO, logger="bot.routing.registry")
    loaded = await process(steward.db, folder).index(1)
    assert "is out of date: changes made since were already pruned" in caplog.text
    assert "built from" in caplog.text  # built
    assert rankings(loaded) == rankings(await fresh(steward.db))


async def test_a_following_process_saves_what_changed_when_it_stops(
        bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    steward, platform = bot
    await seed(platform)
    folder = tmp_path / "snapshots"
    running = process(steward.db, folder)
    await running.index(1)
    first = files(folder)
    await running.start_following(3600, save_every=3600)
    await platform.inject(post("Helm chart testing in CI", "UCHLOE"))
    await running.catch_up()
    await running.stop_following()
    assert files(folder) != first and len(files(folder)) == 1  # the new file replaced the old one
    async with steward.db.session() as session:
        await prune(session, older_than=timedelta(0))  # the file alone must hold the change
    caplog.set_level(logging.INFO, logger="bot.routing.registry")
    loaded = await process(steward.db, folder).index(1)
    assert "loaded from" in caplog.text and "built from" not in caplog.text
    assert rankings(loaded) == rankings(await fresh(steward.db))


async def test_an_unchanged_index_is_vouched_for_at_the_new_mark_without_rewriting_it(
        bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Changes to other communities move the log on: the file stays, its row follows the mark."""
    steward, platform = bot
    await seed(platform)
    folder = tmp_path / "snapshots"
    running = process(steward.db, folder)
    await running.index(1)
    first = files(folder)
    await running.start_following(3600, save_every=3600)
    async with steward.db.session() as session:  # another community's message, as another process stores it
        other = await ensure_community(session, "other")
        channel = await ensure_channel(session, other, "recording", "COTHER")
        author = await ensure_member(session, other.id or 0, "recording", "UZED")
        await store_message(session, community_id=other.id or 0, channel_id=channel.id or 0, author_id=author.id or 0,
                            platform_id="o1", text="Helm chart testing in CI", posted_at=datetime.now(UTC))
    await running.catch_up()
    await running.stop_following()
    assert files(folder) == first
    async with steward.db.session() as session:
        await prune(session, older_than=timedelta(0))
    caplog.set_level(logging.INFO, logger="bot.routing.registry")
    loaded = await process(steward.db, folder).index(1)
    assert "caught up with 0 changes" in caplog.text
    assert rankings(loaded) == rankings(await fresh(steward.db))
