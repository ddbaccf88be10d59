"""Hostile imports and hostile names: bounded reading, skip-and-report, no path outside the export, the
same text limits on SQLite and PostgreSQL (import and live events), and a CSV export that stays a table.

Every export here is small and built in tmp; the zip bomb is a ~20 MB member of blanks that compresses
to a few KB, read under a 1 MB per-file cap so the test stays fast and light.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from adapters.recording import RecordingAdapter
from adapters.slack_export.reader import MB, ExportTooLarge, ImportLimits
from app.cli_export import export_contributions
from app.cli_import import describe, import_slack_export, parse_size
from bot.core import Steward
from bot.events import MessagePosted, ReactionAdded, Sender
from storage.db import Database
from storage.models import Channel, Contribution, Member, Message, Reaction
from tests.conftest import BACKEND, create_pg_database, drop_pg_database

USERS = [{"id": "UANA", "name": "ana", "profile": {"display_name": "Ana"}},
         {"id": "UBRUNO", "name": "bruno", "profile": {"display_name": "Bruno"}}]
CHANNELS = [{"id": "CHELM", "name": "helm"}, {"id": "CRAND", "name": "random"}]
DAY = "2023-11-14.json"


def msg(ts: Any, text: Any = "hello", user: str = "UANA", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": ts, **extra}


def folder(root: Path, days: dict[str, list[Any]], users: Any = None, channels: Any = None) -> Path:
    """An export folder: {channel name: messages of DAY}."""
    export = root / "export"
    export.mkdir()
    (export / "users.json").write_text(json.dumps(USERS if users is None else users), encoding="utf-8")
    (export / "channels.json").write_text(json.dumps(CHANNELS if channels is None else channels), encoding="utf-8")
    for name, messages in days.items():
        (export / name).mkdir(exist_ok=True)
        (export / name / DAY).write_text(json.dumps(messages), encoding="utf-8")
    return export


def zipped(root: Path, files: dict[str, bytes], blank: dict[str, int] | None = None) -> Path:
    """A zip of `files`, plus members of `blank[name]` bytes of a JSON list of blanks, written in steps."""
    archive = root / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, size in (blank or {}).items():
            with zf.open(name, "w", force_zip64=True) as member:
                member.write(b"[")
                for _ in range(size // MB):
                    member.write(b" " * MB)
                member.write(b"]")
    return archive


def basics(**days: list[Any]) -> dict[str, bytes]:
    files = {"export/users.json": json.dumps(USERS).encode(), "export/channels.json": json.dumps(CHANNELS).encode()}
    files |= {f"export/{name}/{DAY}": json.dumps(messages).encode() for name, messages in days.items()}
    return files


async def count(db: Database, model: type, *where: Any) -> int:
    async with db.engine.connect() as conn:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)
        return int((await conn.execute(stmt)).scalar_one())


async def texts(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        return sorted((await conn.execute(select(col(Message.text)))).scalars())


# --- size caps ------------------------------------------------------------------------------------------


async def test_a_zip_bomb_member_is_skipped_unread_and_the_rest_imported(db: Database, tmp_path: Path) -> None:
    archive = zipped(tmp_path, basics(helm=[msg("1700000100.000100", "kept")]),
                     blank={"export/random/2023-11-14.json": 20 * MB})
    assert archive.stat().st_size < 200_000  # 20 MB of blanks, a few KB on disk
    tracemalloc.start()
    try:
        summary = await import_slack_export(db, archive, "k8s", progress=False,
                                            limits=ImportLimits(max_file=1 * MB, max_total=1024 * MB))
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB, f"{peak / MB:.1f} MB held while skipping a 20 MB member"
    assert await texts(db) == ["kept"]
    [skipped] = summary.skipped
    assert skipped.path.endswith("export/random/2023-11-14.json")
    assert "over the 1 MB limit per file" in skipped.reason and "--max-file-size" in skipped.reason


async def test_an_export_declaring_more_than_the_total_is_refused_before_writing(db: Database,
                                                                                 tmp_path: Path) -> None:
    archive = zipped(tmp_path, basics(), blank={"export/helm/2023-11-14.json": 3 * MB,
                                                "export/random/2023-11-14.json": 3 * MB})
    with pytest.raises(ExportTooLarge) as refused:
        await import_slack_export(db, archive, "k8s", progress=False,
                                  limits=ImportLimits(max_file=10 * MB, max_total=5 * MB))
    assert "expands to 6 MB, over the 5 MB" in str(refused.value)
    assert "--max-total-size 1GB" in str(refused.value)
    assert await count(db, Member) == 0 and await count(db, Channel) == 0


@pytest.fixture
def cli_env(tmp_path: Path) -> Any:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    environment["STEWARD_DATA_DIR"] = str(tmp_path / "data")
    if BACKEND == "postgres":
        url = create_pg_database("steward_cli")
        environment["STEWARD_DATABASE_URL"] = url.replace("+asyncpg", "")
        yield environment
        drop_pg_database(url)
    else:
        yield environment


def test_the_cli_says_how_to_raise_the_limit(cli_env: dict[str, str], tmp_path: Path) -> None:
    archive = zipped(tmp_path, basics(helm=[msg("1700000100.000100", "kept")]),
                     blank={"export/random/2023-11-14.json": 2 * MB})
    run = [sys.executable, "-m", "app", "import", "slack-export", str(archive), "--community", "k8s"]
    refused = subprocess.run([*run, "--max-total-size", "1MB"], capture_output=True, text=True, env=cli_env,
                             timeout=120, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "over the 1 MB an import reads at most" in refused.stderr and "--max-total-size" in refused.stderr
    done = subprocess.run([*run, "--max-file-size", "1MB"], capture_output=True, text=True, env=cli_env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "1 new messages" in done.stdout and "1 file(s) skipped" in done.stdout
    assert "over the 1 MB limit per file (raise it with --max-file-size" in done.stdout


@pytest.mark.parametrize(("text", "size"), [("200MB", 200 * MB), ("2GB", 2048 * MB), ("1.5g", 1536 * MB),
                                            ("512", 512), ("64KiB", 64 * 1024)])
def test_sizes_read_as_people_write_them(text: str, size: int) -> None:
    assert parse_size(text) == size


# --- one bad value skips one record, never the import ---------------------------------------------------


async def test_bad_timestamps_skip_their_message_only(db: Database, tmp_path: Path) -> None:
    export = folder(tmp_path, {"helm": [msg("1e300"), msg("inf"), msg("nan"), msg(1e300), msg("-1"),
                                        msg("999999999999.5"), msg("1700000100.000100", "kept"),
                                        msg("1700000200.000200", "reply", thread_ts={"$gt": ""})]})
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert await texts(db) == ["kept"]
    assert summary.problems == {"messages with a bad ts": 6, "messages with a bad thread_ts": 1}
    assert summary.skipped == []
    assert describe(summary, "k8s").endswith("Records left out (the rest of their files was imported): "
                                             "messages with a bad ts: 6; messages with a bad thread_ts: 1.")


async def test_an_object_where_text_belongs_skips_that_record(db: Database, tmp_path: Path) -> None:
    users = [{"id": "UANA", "profile": {"display_name": {"$ne": 1}, "real_name": "Ana"}}, {"id": {"x": 1}},
             {"id": "U" * 300}, "not an object"]
    export = folder(tmp_path, {"helm": [msg("1700000100.000100", {"rich": ["text"]}),
                                        msg("1700000200.000200", "kept"), msg("1700000300.0", "x", user="U\x00X")]},
                    users=users, channels=[*CHANNELS, {"id": ["C"], "name": "x"}])
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert await texts(db) == ["kept"]
    assert summary.problems == {"messages whose text is not text": 1, "messages with a bad user id": 1,
                                "user records without a usable id": 3,
                                "channel records without a usable id or name": 1}
    async with db.engine.connect() as conn:
        assert (await conn.execute(select(col(Member.display_name)))).scalars().all() == ["Ana"]


async def test_nul_bytes_in_imported_text_and_emoji_are_dropped_on_both_databases(db: Database,
                                                                                  tmp_path: Path) -> None:
    """The bulk import cleans its own rows (it skips the engine's per-row filter): a NUL in a message's text or a
    reaction's name must still never reach the database (PostgreSQL refuses it) and never lose the record."""
    reacted = {**msg("1700000200.000200", "thanks\x00!"), "reactions": [{"name": "pray\x00", "users": ["UANA"]}]}
    export = folder(tmp_path, {"helm": [msg("1700000100.000100", "helm\x00 charts"), reacted]})
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert sorted(await texts(db)) == ["helm charts", "thanks!"] and summary.problems == {}
    async with db.engine.connect() as conn:
        assert (await conn.execute(select(col(Reaction.emoji)))).scalars().all() == ["pray"]


async def test_a_deeply_nested_users_json_is_skipped_and_can_be_fixed(db: Database, tmp_path: Path) -> None:
    export = folder(tmp_path, {"helm": [msg("1700000100.000100", "kept")]})
    deep = "[" * 10_000 + "]" * 10_000
    (export / "users.json").write_text(f'[{{"id": "UANA", "profile": {deep}}}]', encoding="utf-8")
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert await texts(db) == ["kept"]
    [skipped] = summary.skipped
    assert skipped.path == str(export / "users.json") and "depth limit exceeded" in skipped.reason
    assert "named by their ids until it is fixed" in skipped.reason
    (export / "users.json").write_text(json.dumps(USERS), encoding="utf-8")
    await import_slack_export(db, export, "k8s", progress=False)  # fixed: the placeholder name is replaced
    async with db.engine.connect() as conn:
        names = dict((await conn.execute(select(col(Member.platform_user_id), col(Member.display_name)))).all())
    assert names["UANA"] == "Ana"


async def test_the_same_ts_in_two_channels_keeps_both_messages(db: Database, tmp_path: Path) -> None:
    same = "1700000100.000100"
    export = folder(tmp_path, {
        "helm": [msg(same, "in helm", reactions=[{"name": "+1", "users": ["UBRUNO"]}])],
        "random": [msg(same, "in random", user="UBRUNO", reactions=[{"name": "tada", "users": ["UANA"]}]),
                   msg("1700000200.000200", "reply in random", thread_ts=same)]})
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert (summary.messages_new, summary.reactions_new) == (3, 2)
    assert await texts(db) == ["in helm", "in random", "reply in random"]
    async with db.engine.connect() as conn:
        pairs = (await conn.execute(select(col(Message.text), col(Reaction.emoji))
                                    .join(Reaction, col(Reaction.message_id) == col(Message.id)))).all()
    assert sorted(pairs) == [("in helm", "+1"), ("in random", "tada")]
    again = await import_slack_export(db, export, "k8s", progress=False)
    assert (again.messages_new, again.reactions_new) == (0, 0)


async def test_reaction_users_given_as_a_string_create_nobody(db: Database, tmp_path: Path) -> None:
    export = folder(tmp_path, {"helm": [msg("1700000100.000100", "kept", reactions=[
        {"name": "+1", "users": "UBRUNO"}, {"name": "tada", "users": ["UBRUNO"]}, {"name": ["x"], "users": []}])]})
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert summary.reactions_new == 1
    assert summary.problems == {"reactions without a name and a list of user ids": 2}
    assert await count(db, Member) == 2  # Ana and Bruno: not one member per character of "UBRUNO"


# --- no path outside the export -------------------------------------------------------------------------


async def test_a_channel_named_dot_dot_reads_nothing_outside_the_folder(db: Database, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / DAY).write_text(json.dumps([msg("1700000100.000100", "secret outside")]), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / DAY).write_text(json.dumps([msg("1700000200.000200", "linked secret")]), encoding="utf-8")
    export = folder(tmp_path, {"helm": [msg("1700000300.000300", "kept")]},
                    channels=[*CHANNELS, {"id": "CEVIL", "name": "../outside"}, {"id": "CLINK", "name": "linked"}])
    (export / "linked").symlink_to(elsewhere, target_is_directory=True)
    (export / "random").mkdir()
    (export / "random" / DAY).symlink_to(outside / DAY)
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert await texts(db) == ["kept"]
    reasons = " | ".join(f"{s.path}: {s.reason}" for s in summary.skipped)
    assert "'../outside': not a plain folder name" in reasons
    assert f"{export / 'linked'}: a link leaving the export" in reasons
    assert f"{export / 'random' / DAY}: a link leaving the export" in reasons


async def test_zip_members_with_dot_dot_or_absolute_paths_are_not_read(db: Database, tmp_path: Path) -> None:
    files = basics(helm=[msg("1700000100.000100", "kept")])
    files["export/../2023-11-15.json"] = json.dumps([msg("1700000200.000200", "escaped")]).encode()
    files["/etc/2023-11-15.json"] = b"[]"
    archive = zipped(tmp_path, files)
    summary = await import_slack_export(db, archive, "k8s", progress=False)
    channels = [*CHANNELS, {"id": "CUP", "name": ".."}]
    assert await texts(db) == ["kept"]
    assert len([s for s in summary.skipped if "a path leaving the export" in s.reason]) == 2
    # the same zip whose channels.json names ".." as a channel: refused too
    files["export/channels.json"] = json.dumps(channels).encode()
    (tmp_path / "export.zip").unlink()
    summary = await import_slack_export(db, zipped(tmp_path, files), "k8s", progress=False)
    assert await texts(db) == ["kept"]
    assert any("'..': not a plain folder name" in s.reason for s in summary.skipped)


# --- CSV export -----------------------------------------------------------------------------------------


async def test_a_carriage_return_in_a_name_cannot_start_a_csv_row(db: Database, tmp_path: Path) -> None:
    evil = "Eve\r=cmd|' /C calc'!A0"
    users = [*USERS, {"id": "UEVE", "profile": {"display_name": evil}}, {"id": "UMAL", "real_name": "=1+1"}]
    export = folder(tmp_path, {"helm": [
        msg("1700000100.000100", "How do I pin chart versions?"),
        msg("1700000200.000200", "Use a lock file", user="UEVE", thread_ts="1700000100.000100"),
        msg("1700000300.000300", "Or pin in Chart.yaml", user="UMAL", thread_ts="1700000100.000100")]},
        users=users)
    await import_slack_export(db, export, "k8s", progress=False)
    out = io.StringIO()
    assert await export_contributions(db, "k8s", since=None, member=None, fmt="csv", out=out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert len(rows) == 3 and all(len(row) == 9 for row in rows)  # the header and one row per contribution
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert sorted(row[1] for row in rows[1:]) == ["'=1+1", evil]


# --- the same text limits on both databases, live ----------------------------------------------------------


async def test_a_256_character_name_and_nul_bytes_work_live(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    name = "N" * 120 + "\x00" + "M" * 135  # 256 characters: Matrix allows it, the column holds 200
    sender = Sender(id="@long:example.org", display_name=name)
    await platform.inject(MessagePosted(event_id="$long1", platform="recording", channel="C1", sender=sender,
                                        message_id="$long1", text="helm\x00 charts pinned with a lock file",
                                        at=datetime.now(UTC)))
    await platform.inject(ReactionAdded(event_id="$react", platform="recording", channel="C1", sender=sender,
                                        message_id="$long1", emoji="🎉" * 150, at=datetime.now(UTC)))
    await platform.inject(MessagePosted(event_id="$long2", platform="recording", channel="C1", sender=sender,
                                        message_id="$long2", text="help\x00", addressed=True,
                                        command_text="help\x00", at=datetime.now(UTC)))
    async with steward.db.engine.connect() as conn:
        member = (await conn.execute(select(col(Member.display_name)))).scalar_one()
        stored = (await conn.execute(select(col(Message.text)))).scalars().all()
        emoji = (await conn.execute(select(col(Reaction.emoji)))).scalar_one()
    assert member == ("N" * 120 + "M" * 135)[:200]
    assert stored == ["helm charts pinned with a lock file"]
    assert emoji == "🎉" * 100
    assert platform.sent and not any("Sorry" in t for t in platform.texts())


@pytest.mark.parametrize("who", ["@" + "x" * 300 + ":example.org", "@nul\x00:example.org"])
async def test_an_id_no_database_can_keep_is_ignored_quietly(bot: tuple[Steward, RecordingAdapter], who: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    steward, platform = bot
    await platform.inject(MessagePosted(event_id=f"$e{len(who)}", platform="recording", channel="C1",
                                        sender=Sender(id=who, display_name="X"), message_id=f"$m{len(who)}",
                                        text="help", addressed=True, command_text="help", at=datetime.now(UTC)))
    assert platform.sent == [] and "its sender is over 255 characters or holds a NUL byte" in caplog.text
    assert await count(steward.db, Member) == 0 and await count(steward.db, Message) == 0
    await platform.inject(MessagePosted(event_id="$ok", platform="recording", channel="C1",
                                        sender=Sender(id="@ana:example.org"), message_id="$ok", text="help",
                                        addressed=True, command_text="help", at=datetime.now(UTC)))
    assert len(platform.sent) == 1 and "Sorry" not in platform.texts()[0]


async def test_the_import_applies_the_same_limits(db: Database, tmp_path: Path) -> None:
    long_name = "L" * 256
    export = folder(tmp_path, {"helm": [msg("1700000100.000100", "nul\x00 inside", user="ULONG",
                                            reactions=[{"name": "e" * 150, "users": ["UANA"]}])]},
                    users=[*USERS, {"id": "ULONG", "profile": {"display_name": long_name}, "tz": "Z" * 80}],
                    channels=[{"id": "CHELM", "name": "helm"}])
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert (summary.messages_new, summary.reactions_new) == (1, 1)
    async with db.engine.connect() as conn:
        member = (await conn.execute(select(col(Member.display_name), col(Member.timezone))
                                     .where(col(Member.platform_user_id) == "ULONG"))).one()
        emoji = (await conn.execute(select(col(Reaction.emoji)))).scalar_one()
    assert tuple(member) == ("L" * 200, None)
    assert await texts(db) == ["nul inside"] and emoji == "e" * 100
    assert await count(db, Contribution) == 0
