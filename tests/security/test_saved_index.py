"""Saved expertise indexes are a cache that must never hurt: a bad, foreign or outdated file is rebuilt with
a log line (never a crash, never a hang), and nobody who opted out or was forgotten comes back from a file.

Also: `who --batch` ranks a long question on its beginning instead of refusing it.
"""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.recording import RecordingAdapter
from app.cli_who import MAX_QUESTION, who_batch, who_one
from bot.core import Steward
from bot.events import ChoicePicked, Sender
from bot.expertise import ExpertiseIndex, snapshot
from bot.routing.registry import ExpertiseRegistry
from bot.services import Services
from storage.db import Database
from tests.events import command
from tests.routing.history import post, seed

Bot = tuple[Steward, RecordingAdapter]
QUESTIONS = ("rolling back a helm release", "terraform state locking", "helm or terraform")


def process(db: Database, folder: Path) -> ExpertiseRegistry:
    """Another Steward process's registry, saving and loading in `folder`."""
    return ExpertiseRegistry(db, folder, snapshot_min_posts=0)


def rankings(index: ExpertiseIndex) -> list[object]:
    return [[(s.member, round(s.score, 9), s.evidence) for s in index.rank(q, asker=None, now=2e9)] for q in QUESTIONS]


async def saved(bot: Bot, tmp_path: Path) -> tuple[Path, Path]:
    """The seeded community's index saved by one process: (folder, file)."""
    steward, platform = bot
    await seed(platform)
    folder = tmp_path / "snapshots"
    await process(steward.db, folder).index(1)
    (path,) = folder.glob("*.idx")
    return folder, path


async def rows(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM index_snapshot"))).scalar_one())


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x5A
    path.write_bytes(bytes(data))


def rewrite_header(path: Path, change: dict[str, object]) -> None:
    data = path.read_bytes()
    n = int.from_bytes(data[8:12], "little")
    header = json.loads(data[12:12 + n])
    header.update(change)
    head = json.dumps(header).encode()
    path.write_bytes(data[:8] + len(head).to_bytes(4, "little") + head + data[12 + n:])


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda p: flip(p, os.path.getsize(p) - 40), "corrupt (checksum)"),
    (lambda p: p.write_bytes(p.read_bytes()[:-100]), "length does not match"),
    (lambda p: p.write_bytes(b"\x80\x04\x95 a pickle, say" * 50), "not an expertise index snapshot"),
    (lambda p: p.write_bytes(b""), "not an expertise index snapshot"),
    (lambda p: rewrite_header(p, {"version": 99}), "another version of the format (99"),
    (lambda p: rewrite_header(p, {"sizes": {"B": 1, "H": 2, "I": 8, "i": 4, "q": 8, "d": 8}}), "other number sizes"),
    (lambda p: rewrite_header(p, {"meta": {"community_id": 2}}), "belongs to another community"),
])
async def test_a_bad_file_is_rebuilt_with_a_log_line(
        bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object, reason: str) -> None:
    steward, _platform = bot
    folder, path = await saved(bot, tmp_path)
    damage(path)  # type: ignore[operator]
    caplog.set_level(logging.INFO, logger="bot.routing.registry")
    index = await process(steward.db, folder).index(1)
    assert f"cannot be used: {reason}" in caplog.text or reason in caplog.text, caplog.text
    assert "building it instead" in caplog.text and "built from" in caplog.text
    assert rankings(index) == rankings(await ExpertiseRegistry(steward.db).index(1))
    assert not path.exists() and len(list(folder.glob("*.idx"))) == 1  # replaced by the rebuilt index's file
    assert await rows(steward.db) == 1


async def test_a_crafted_file_with_good_checksums_cannot_make_a_question_loop(bot: Bot, tmp_path: Path) -> None:
    """Consistent checksums, inconsistent content: a reply chain that loops would hang every question."""
    steward, platform = bot
    await seed(platform)
    index = await ExpertiseRegistry(steward.db).index(1)
    index._answers._r_prev[0] = 3  # reply 0 "follows" reply 3, which leads back to 0
    snapshot.save(index, tmp_path / "x.idx", {})
    with pytest.raises(snapshot.SnapshotError, match="loops"):
        snapshot.load(tmp_path / "x.idx")
    index._answers._r_prev[0] = -1
    index._answers.r_author[1] = 10_000  # a member slot that does not exist
    snapshot.save(index, tmp_path / "x.idx", {})
    with pytest.raises(snapshot.SnapshotError, match="r_author: a value out of range"):
        snapshot.load(tmp_path / "x.idx")


async def test_a_forgotten_member_never_comes_back_from_a_saved_file(bot: Bot, tmp_path: Path) -> None:
    steward, platform = bot
    folder, path = await saved(bot, tmp_path)
    assert b"UANA" in path.read_bytes()
    await platform.inject(command("forget me", user="UANA"))
    key = getattr(platform.sent[-1], "key", "")
    await platform.inject(ChoicePicked(event_id="yes", platform="recording", channel="C1", sender=Sender(id="UANA"),
                                       key=key, option="yes"))
    assert await rows(steward.db) == 0  # the forget stopped vouching for every saved file, in its transaction
    index = await process(steward.db, folder).index(1)
    assert not path.exists()  # a file no row vouches for is deleted, not loaded
    assert all(b"UANA" not in p.read_bytes() for p in folder.glob("*"))
    assert "UANA" not in index.members()
    assert all("UANA" not in [m for m, _s, _e in r] for r in rankings(index))  # type: ignore[attr-defined]


async def forget(platform: RecordingAdapter, user: str) -> None:
    """`forget me`, confirmed, as the person does it in chat."""
    await platform.inject(command("forget me", user=user))
    key = getattr(platform.sent[-1], "key", "")
    await platform.inject(ChoicePicked(event_id=f"yes-{user}", platform="recording", channel="C1",
                                       sender=Sender(id=user), key=key, option="yes"))


async def who(db: Database, folder: Path, question: str) -> tuple[list[str], ExpertiseIndex]:
    """`steward who` in a new process on the same data folder: the members it suggests, and its index."""
    services = Services(expertise=process(db, folder))
    out = io.StringIO()
    await who_one(db, "k8s", question, asker=None, top=5, as_json=True, out=out, services=services)
    return [e["member"] for e in json.loads(out.getvalue())["experts"]], await services.expertise.index(1)


async def test_after_forget_me_a_restart_from_saved_files_never_suggests_them(bot: Bot, tmp_path: Path) -> None:
    """The worst case for files: a running process that saved its index (still holding Ana) after her
    `forget me` but before it followed it, and an older file of hers put back in the folder (a restored
    copy). The next `who` builds, suggests someone else, and leaves no file naming her."""
    steward, platform = bot
    await seed(platform)
    folder = tmp_path / "snapshots"
    before, _index = await who(steward.db, folder, QUESTIONS[2])
    assert "UANA" in before  # she is suggested before: the checks below can fail
    (copy,) = folder.glob("*.idx")
    kept = copy.read_bytes()
    running = process(steward.db, folder)  # a `steward run` that loaded her from the file
    assert "UANA" in (await running.index(1)).members()
    await running.start_following(3600, save_every=3600)
    await platform.inject(post("Helm chart testing in CI", "UCHLOE"))
    await running.catch_up()  # its index changed since its file: it saves when it stops
    await forget(platform, "UANA")
    await running.stop_following()  # saved as of a mark before the forget, which it never read
    assert any(b"UANA" in p.read_bytes() for p in folder.glob("*.idx"))
    copy.write_bytes(kept)
    after, index = await who(steward.db, folder, QUESTIONS[2])
    assert "UANA" not in after and after[0] == "UBRUNO"  # someone else answers
    assert "UANA" not in index.members()
    assert all(b"UANA" not in p.read_bytes() for p in folder.glob("*"))
    again, index = await who(steward.db, folder, QUESTIONS[2])  # and from the new file
    assert again == after and "UANA" not in index.members()


async def test_an_opt_out_since_the_save_holds_in_the_loaded_index(bot: Bot, tmp_path: Path) -> None:
    steward, platform = bot
    folder, _path = await saved(bot, tmp_path)
    await platform.inject(command("opt out", user="UANA"))
    index = await process(steward.db, folder).index(1)
    assert "UANA" not in index.members()
    assert "UANA" not in [s.member for s in index.rank("rolling back a helm release", asker=None)]


async def test_an_opt_out_the_change_log_never_saw_holds_too(bot: Bot, tmp_path: Path) -> None:
    """Whoever may not be indexed now is taken out of a loaded file, whatever its change log says."""
    steward, _platform = bot
    folder, _path = await saved(bot, tmp_path)
    async with steward.db.session() as session:
        await session.exec(text("UPDATE member SET opted_out = :yes WHERE platform_user_id = 'UANA'")  # type: ignore[call-overload]
                           .bindparams(yes=True))
    index = await process(steward.db, folder).index(1)
    assert "UANA" not in index.members()
    assert "UANA" not in [s.member for s in index.rank("rolling back a helm release", asker=None)]


async def test_an_opt_in_since_the_save_brings_the_member_back(bot: Bot, tmp_path: Path) -> None:
    steward, platform = bot
    await seed(platform)
    await platform.inject(command("opt out", user="UBRUNO"))
    folder = tmp_path / "snapshots"
    await process(steward.db, folder).index(1)  # saved without him
    await platform.inject(command("opt in", user="UBRUNO"))
    index = await process(steward.db, folder).index(1)
    top = index.rank("terraform state locking", asker=None)[0]
    assert (top.member, top.evidence.accepted) == ("UBRUNO", 4)


async def test_a_long_batch_question_is_ranked_on_its_beginning(bot: Bot, tmp_path: Path) -> None:
    steward, platform = bot
    await seed(platform)
    long = "How do I roll back a helm release? " + "Here is the log: " + "x" * 6000
    batch = tmp_path / "q.jsonl"
    batch.write_text("\n".join(json.dumps(q) for q in [
        {"id": "short", "text": "helm rollback", "asker": "UFRANK"},
        {"id": "long", "text": long, "asker": "UFRANK"},
        {"id": "after", "text": "terraform state", "asker": "UFRANK"}]) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert await who_batch(steward.db, "k8s", batch, top=3, out=out, err=err) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["id"] for line in lines] == ["short", "long", "after"]
    assert lines[1]["experts"][0]["member"] == "UANA"
    assert f"{batch}:2: a question of {len(long)} characters, ranked on its first {MAX_QUESTION}" in err.getvalue()
    one = io.StringIO()
    await who_one(steward.db, "k8s", long, asker=None, top=1, as_json=True, out=one)
    assert json.loads(one.getvalue())["experts"][0]["member"] == "UANA"
