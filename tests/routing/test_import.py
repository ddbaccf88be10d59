"""`steward import slack-export`: folder and zip, idempotent, malformed files reported and skipped."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel import select as sm_select

from adapters.slack_export.reader import NotAnExport
from app.cli_import import describe, import_slack_export
from storage.db import Database
from storage.models import Channel, Member, Message, Reaction

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "routing-dev" / "quantumcomputing" / "export"


def write_export(root: Path) -> Path:
    """A small export: two channels, a thread with an accepted answer, noise to skip."""
    export = root / "export"
    (export / "helm").mkdir(parents=True)
    (export / "random").mkdir()
    users = [
        {"id": "UANA", "name": "ana", "profile": {"display_name": "Ana", "real_name": "Ana S"}, "tz": "Europe/Paris"},
        {"id": "UBRUNO", "name": "bruno", "real_name": "Bruno"},
        {"id": "UGONE", "name": "gone", "deleted": True},
        {"id": "UBOT", "name": "ci-bot", "is_bot": True},
    ]
    (export / "users.json").write_text(json.dumps(users), encoding="utf-8")
    channels = [{"id": "CHELM", "name": "helm"}, {"id": "CRAND", "name": "random"}]
    (export / "channels.json").write_text(json.dumps(channels), encoding="utf-8")
    day = [
        {"type": "message", "subtype": "channel_join", "user": "UANA", "text": "joined", "ts": "1700000000.000001"},
        {"type": "message", "user": "UANA", "text": "How do I pin chart versions?", "ts": "1700000100.000100",
         "thread_ts": "1700000100.000100", "reply_count": 1},
        {"type": "message", "user": "UBRUNO", "text": "Use a lock file", "ts": "1700000200.000200",
         "thread_ts": "1700000100.000100", "parent_user_id": "UANA",
         "reactions": [{"name": "white_check_mark", "users": ["UANA"], "count": 1},
                       {"name": "+1", "users": ["UGONE", "UVOTER9"], "count": 2}]},
        {"type": "message", "subtype": "bot_message", "bot_id": "B1", "text": "deploy ok", "ts": "1700000300.0"},
        {"type": "message", "user": "UBOT", "bot_id": "B2", "text": "beep", "ts": "1700000400.0"},
    ]
    (export / "helm" / "2023-11-14.json").write_text(json.dumps(day), encoding="utf-8")
    (export / "random" / "2023-11-14.json").write_text("[{not json", encoding="utf-8")
    (export / "random" / "2023-11-15.json").write_text(json.dumps(
        [{"type": "message", "user": "UGONE", "text": "old news", "ts": "1700050000.000100"}]), encoding="utf-8")
    (export / "random" / "notes.txt").write_text("ignored", encoding="utf-8")
    return export


async def _count(db: Database, model: type, *where: object) -> int:
    async with db.engine.connect() as conn:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)  # type: ignore[arg-type]
        return int((await conn.execute(stmt)).scalar_one())


async def test_folder_import_is_complete_and_idempotent(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert (summary.messages_seen, summary.messages_new, summary.reactions_new) == (3, 3, 3)
    assert [s.path for s in summary.skipped] == [str(export / "random" / "2023-11-14.json")]
    assert "JSONDecodeError" in summary.skipped[0].reason
    assert "1 file(s) skipped" in describe(summary, "k8s")
    assert await _count(db, Message) == 3
    assert await _count(db, Channel) == 2
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(Member.platform_user_id, Member.deleted, Member.is_bot,  # type: ignore[call-overload]
                                          Member.display_name, Member.timezone))).all()
        people = {r[0]: r[1:] for r in rows}
        reply = (await conn.execute(select(Message.thread_id).where(  # type: ignore[call-overload]
            col(Message.platform_id) == "1700000200.000200"))).scalar_one()
    async with db.session() as session:
        root = (await session.exec(sm_select(Message).where(Message.platform_id == "1700000100.000100"))).one()
    assert root.posted_at == datetime.fromtimestamp(1700000100.0001, UTC)  # bulk path stores what the ORM reads
    assert people["UANA"] == (False, False, "Ana", "Europe/Paris")
    assert people["UGONE"][0] is True and people["UBOT"][1] is True
    assert "UVOTER9" in people  # a reactor missing from users.json is kept, not dropped
    assert reply == "1700000100.000100"

    again = await import_slack_export(db, export, "k8s", progress=False)
    assert (again.messages_new, again.reactions_new) == (0, 0)
    assert await _count(db, Message) == 3 and await _count(db, Reaction) == 3


async def test_zip_import_matches_folder_import(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in export.rglob("*"):
            zf.write(path, Path("My Workspace Slack export") / path.relative_to(export))
    summary = await import_slack_export(db, archive, "k8s", progress=False)
    assert (summary.messages_new, summary.reactions_new, len(summary.skipped)) == (3, 3, 1)
    assert "export.zip:" in summary.skipped[0].path


async def test_malformed_file_keeps_what_was_imported(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    await import_slack_export(db, export, "k8s", progress=False)
    (export / "helm" / "2023-11-14.json").write_text('{"not": "a list"}', encoding="utf-8")
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert len(summary.skipped) == 2 and "expected a JSON list" in summary.skipped[0].reason
    assert await _count(db, Message) == 3  # nothing already stored was lost


async def test_opted_out_members_are_not_imported(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    await import_slack_export(db, export, "k8s", progress=False)
    async with db.engine.begin() as conn:
        await conn.execute(Member.__table__.update().where(  # type: ignore[attr-defined]
            Member.__table__.c.platform_user_id == "UBRUNO").values(opted_out=True))  # type: ignore[attr-defined]
        await conn.execute(Message.__table__.delete())  # type: ignore[attr-defined]
    await import_slack_export(db, export, "k8s", progress=False)
    assert await _count(db, Message) == 2


# An unreadable users.json is skipped and reported, not refused: tests/security/test_import_limits.py
@pytest.mark.parametrize("make", ["missing", "plain-file", "empty-dir", "zip-without-users"])
async def test_not_an_export(db: Database, tmp_path: Path, make: str) -> None:
    target = tmp_path / "target"
    if make == "plain-file":
        target.write_text("hello", encoding="utf-8")
    elif make == "empty-dir":
        target.mkdir()
    elif make == "zip-without-users":
        target = tmp_path / "x.zip"
        with zipfile.ZipFile(target, "w") as zf:
            zf.writestr("channels.json", "[]")
    with pytest.raises(NotAnExport) as err:
        await import_slack_export(db, target, "k8s", progress=False)
    assert str(target) in str(err.value)
    assert await _count(db, Message) == 0


@pytest.mark.skipif(not DEV.exists(), reason="shared routing-dev data not present beside the repository")
async def test_dev_set_imports(db: Database, tmp_path: Path) -> None:
    copy = tmp_path / "dev"
    shutil.copytree(DEV, copy)
    summary = await import_slack_export(db, copy, "qc", progress=False)
    assert summary.messages_new == 1321 and summary.skipped == []


async def _index_names(db: Database) -> set[str]:
    from sqlalchemy import inspect

    async with db.engine.connect() as conn:
        return set(await conn.run_sync(
            lambda c: {i["name"] for t in ("message", "reaction") for i in inspect(c).get_indexes(t)}))


async def test_a_large_import_rebuilds_the_indexes_it_deferred(db: Database, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import app.cli_import
    from storage.bulk import DEFERRABLE, drop_secondary_indexes

    before = await _index_names(db)
    assert set(DEFERRABLE["message"]) <= before
    monkeypatch.setattr(app.cli_import, "LARGE_IMPORT_FILES", 1)  # treat the small export as a large one
    summary = await import_slack_export(db, write_export(tmp_path), "k8s", progress=False)
    assert summary.messages_new == 3
    assert await _index_names(db) == before
    if db.is_sqlite:  # an import that crashed after dropping them: the next start puts them back
        async with db.engine.begin() as conn:
            await drop_secondary_indexes(conn)
        assert not set(DEFERRABLE["message"]) & await _index_names(db)
        await db.upgrade()
        assert await _index_names(db) == before


async def test_imported_kudos_reactions_become_thanks(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    day = export / "helm" / "2023-11-14.json"
    messages = json.loads(day.read_text(encoding="utf-8"))
    messages[2]["reactions"].append({"name": "pray", "users": ["UANA", "UBRUNO"], "count": 2})  # self-thanks too
    day.write_text(json.dumps(messages), encoding="utf-8")
    from storage.models import Contribution

    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert summary.ledger is not None and summary.ledger.added["thanked"] == 1
    again = await import_slack_export(db, export, "k8s", progress=False)
    assert again.ledger is not None and again.ledger.added["thanked"] == 0
    async with db.session() as session:
        thanks = (await session.exec(sm_select(Contribution).where(Contribution.kind == "thanked"))).all()
        bruno = (await session.exec(sm_select(Member).where(Member.platform_user_id == "UBRUNO"))).one()
        ana = (await session.exec(sm_select(Member).where(Member.platform_user_id == "UANA"))).one()
    assert [(t.member_id, t.giver_id) for t in thanks] == [(bruno.id, ana.id)]


async def test_imported_replies_to_a_newcomers_first_message_are_welcomes(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    later = [{"type": "message", "user": "UNEWBIE", "text": "Hi all, new here: where are the helm docs",
              "ts": "1704100000.000100", "thread_ts": "1704100000.000100"},
             {"type": "message", "user": "UANA", "text": "Welcome! Pinned in this channel.",
              "ts": "1704100100.000100", "thread_ts": "1704100000.000100"},
             {"type": "message", "user": "UANA", "text": "And ask away.",
              "ts": "1704100200.000100", "thread_ts": "1704100000.000100"}]
    (export / "helm" / "2024-01-01.json").write_text(json.dumps(later), encoding="utf-8")
    from storage.models import Contribution

    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert summary.ledger is not None and summary.ledger.added["welcomed"] == 1  # not Bruno's reply at the start
    async with db.session() as session:
        [welcome] = (await session.exec(sm_select(Contribution).where(Contribution.kind == "welcomed"))).all()
        ana = (await session.exec(sm_select(Member).where(Member.platform_user_id == "UANA"))).one()
    assert welcome.member_id == ana.id and welcome.evidence_url.endswith("/1704100100.000100")
