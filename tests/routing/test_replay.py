"""`steward who --batch FILE --replay`: whom Steward would ask, question after question, under its care rules.

A small Slack export: four vault experts, two terraform experts, and one very active member who only
ever answers about helm (active, but no evidence on vault or terraform).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from adapters.recording import RecordingAdapter
from app.cli_import import import_slack_export
from app.cli_who import who_batch, who_one, who_replay
from bot.core import Steward
from bot.expertise import Evidence, Suggestion
from bot.routing.care import Candidate, worth
from storage.db import Database
from storage.models import Member, Question, RoutingRequest
from tests.conftest import BACKEND, create_pg_database, drop_pg_database
from tests.events import command
from tests.routing.history import seed

Bot = tuple[Steward, RecordingAdapter]

T0 = 1_700_000_000  # the history; questions come a few days later
ASKED_AT = T0 + 5 * 86_400
VAULT = ("UV1", "UV2", "UV3", "UV4")
TERRAFORM = ("UT1", "UT2")
BUSY = "UBUSY"
VAULT_TOPICS = ("rotate vault tokens", "vault token renewal", "unseal vault after restart", "vault policy for ci",
                "vault approle login", "vault audit log")


def _export(root: Path) -> Path:
    export = root / "export"
    (export / "ops").mkdir(parents=True)
    people = [*VAULT, *TERRAFORM, BUSY, "UASK1", "UASK2"]
    (export / "users.json").write_text(json.dumps([{"id": u, "name": u.lower()} for u in people]), encoding="utf-8")
    (export / "channels.json").write_text(json.dumps([{"id": "COPS", "name": "ops"}]), encoding="utf-8")
    messages: list[dict[str, Any]] = []
    n = 0

    def thread(text: str, answerers: tuple[str, ...]) -> None:
        nonlocal n
        n += 1
        root = f"{T0 + n * 600}.000100"
        messages.append({"type": "message", "user": "UASK1" if n % 2 else "UASK2", "text": text, "ts": root,
                         "thread_ts": root})
        for i, who in enumerate(answerers, 1):
            messages.append({"type": "message", "user": who, "text": f"here is how ({text})",
                             "ts": f"{T0 + n * 600 + i}.000200", "thread_ts": root})

    for i, topic in enumerate(VAULT_TOPICS * 2):
        thread(f"How do I {topic}?", (VAULT[i % 4], VAULT[(i + 1) % 4]))
    for topic in ("terraform state locking", "terraform module layout"):
        thread(f"Question on {topic}", TERRAFORM)
    for i in range(30):  # the busiest helper of the community, on helm only
        thread(f"helm chart question number {i} about upgrades", (BUSY,))
    (export / "ops" / "2023-11-14.json").write_text(json.dumps(messages), encoding="utf-8")
    return export


async def _community(db: Database, tmp_path: Path) -> None:
    await import_slack_export(db, _export(tmp_path), "ops", progress=False)


def _batch(tmp_path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


async def _replay(db: Database, path: Path) -> tuple[list[dict[str, Any]], str, int]:
    out, err = io.StringIO(), io.StringIO()
    bad = await who_replay(db, "ops", path, out=out, err=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue(), bad


async def _set(db: Database, user: str, **values: object) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(Member.__table__.update().where(  # type: ignore[attr-defined]
            Member.__table__.c.platform_user_id == user).values(**values))  # type: ignore[attr-defined]


def _vault_questions(first_at: int, n: int = 6) -> list[dict[str, Any]]:
    """n vault questions a minute apart, given latest first (the replay must sort them by ts)."""
    return [{"id": f"q{i}", "text": f"how to {VAULT_TOPICS[i % len(VAULT_TOPICS)]} in prod?", "asker": "UASK1",
             "ts": first_at + 60 * i} for i in reversed(range(n))]


async def test_replay_asks_in_time_order_within_the_weekly_cap(db: Database, tmp_path: Path) -> None:
    await _community(db, tmp_path)
    week_later = _vault_questions(ASKED_AT + 8 * 86_400, 1)[0] | {"id": "later"}
    rows, err, bad = await _replay(db, _batch(tmp_path, [*_vault_questions(ASKED_AT), week_later]))
    assert (bad, err) == (0, "")
    assert [r["id"] for r in rows] == ["q5", "q4", "q3", "q2", "q1", "q0", "later"]  # input order kept
    asked = {r["id"]: [e["member"] for e in r["experts"]] for r in rows}
    # Four experts, three questions a week each: the first four questions (by ts) take all twelve asks,
    # the last two get nobody (never someone without evidence), whatever their place in the file.
    assert [len(asked[f"q{i}"]) for i in range(6)] == [3, 3, 3, 3, 0, 0]
    assert all(m in VAULT for people in asked.values() for m in people)
    counts = {m: sum(m in asked[f"q{i}"] for i in range(6)) for m in VAULT}
    assert counts == dict.fromkeys(VAULT, 3)
    assert len(asked["later"]) == 3  # a week on, everyone may be asked again
    assert all(set(e) == {"member", "score"} and 0.0 <= e["score"] <= 1.0 for r in rows for e in r["experts"])


async def test_replay_respects_availability_and_personal_caps(db: Database, tmp_path: Path) -> None:
    await _community(db, tmp_path)
    await _set(db, "UV4", away_until=date(2023, 12, 31))
    await _set(db, "UV1", weekly_cap=1)
    rows, _err, _bad = await _replay(db, _batch(tmp_path, _vault_questions(ASKED_AT)))
    asked = [m for r in rows for m in (e["member"] for e in r["experts"])]
    assert "UV4" not in asked  # away until the end of the year
    assert asked.count("UV1") == 1 and asked.count("UV2") == asked.count("UV3") == 3
    first = next(r for r in rows if r["id"] == "q0")
    assert {e["member"] for e in first["experts"]} == {"UV1", "UV2", "UV3"}


async def test_replay_changes_nothing_and_reports_bad_lines(db: Database, tmp_path: Path) -> None:
    await _community(db, tmp_path)
    path = _batch(tmp_path, ['{"id": "ok", "text": "vault tokens", "asker": "UASK1", "ts": 1700432000}',
                             "not json", '{"id": "no-ts-is-fine", "text": "terraform state"}',
                             '{"id": "bad-ts", "text": "vault", "ts": "soon"}', '{"id": "empty", "text": " "}'])
    rows, err, bad = await _replay(db, path)
    assert bad == 3 and [r["id"] for r in rows] == ["ok", None, "no-ts-is-fine", "bad-ts", "empty"]
    assert f"{path}:2: skipped" in err and f"{path}:4: skipped" in err and f"{path}:5: skipped" in err
    assert rows[0]["experts"] and rows[3]["experts"] == []
    # Only two people ever answered about terraform: two are asked, nobody is added to make three.
    assert sorted(e["member"] for e in rows[2]["experts"]) == sorted(TERRAFORM)
    async with db.engine.connect() as conn:
        for table in (Question, RoutingRequest):
            assert (await conn.execute(select(func.count()).select_from(table))).scalar_one() == 0


async def test_who_lists_only_members_with_evidence_and_no_negative_score(db: Database, tmp_path: Path) -> None:
    await _community(db, tmp_path)
    out = io.StringIO()
    await who_batch(db, "ops", _batch(tmp_path, [{"id": "v", "text": "vault tokens", "asker": "UASK1"},
                                                 {"id": "t", "text": "terraform state", "asker": "UASK2"}]),
                    top=10, out=out, err=io.StringIO())
    rows = {r["id"]: r["experts"] for r in map(json.loads, out.getvalue().splitlines())}
    assert {e["member"] for e in rows["v"]} == set(VAULT)  # the busiest helper knows nothing of vault
    assert {e["member"] for e in rows["t"]} == set(TERRAFORM)
    assert all(e["score"] >= 0.0 for experts in rows.values() for e in experts)
    out = io.StringIO()
    await who_one(db, "ops", "terraform module layout", asker=None, top=5, as_json=False, out=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(float(line.split()[2]) >= 0.0 for line in lines)


@pytest.mark.parametrize("text", ["vault", "terraform state", "helm chart upgrades"])
async def test_scores_are_chances(db: Database, tmp_path: Path, text: str) -> None:
    await _community(db, tmp_path)
    out = io.StringIO()
    await who_one(db, "ops", text, asker=None, top=10, as_json=True, out=out)
    scores = [e["score"] for e in json.loads(out.getvalue())["experts"]]
    assert scores and scores == sorted(scores, reverse=True) and 0.0 < sum(scores) <= 1.0 + 1e-6
    assert (await _questions(db)) == 0


async def _questions(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Question).where(
            col(Question.id) > 0))).scalar_one())


async def test_chat_says_honestly_when_fewer_than_three_have_evidence(bot: Bot) -> None:
    _steward, platform = bot
    await seed(platform, extra_helpers={"UGINA": "terraform plan is slow"})
    await platform.inject(command("who knows about terraform plans?", user="UFRANK"))
    text = platform.sent[0].text
    people = [line for line in text.splitlines() if line.startswith("- **")]
    assert text.startswith("I found only 2 people who may know about “terraform plans”:")
    assert [p.split("**")[1] for p in people] == ["Bruno", "Gina"]  # nobody without evidence makes a third


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    environment["STEWARD_DATA_DIR"] = str(tmp_path / "data")
    if BACKEND == "postgres":
        url = create_pg_database("steward_replay")
        environment["STEWARD_DATABASE_URL"] = url.replace("+asyncpg", "")
        yield environment
        drop_pg_database(url)
    else:
        yield environment


def test_replay_through_the_command_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    def steward(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=cli_env,
                              timeout=120, check=False)

    assert steward("import", "slack-export", str(_export(tmp_path)), "--community", "ops").returncode == 0
    batch = str(_batch(tmp_path, _vault_questions(ASKED_AT)))
    done = steward("who", "--community", "ops", "--batch", batch, "--replay")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [len(r["experts"]) for r in rows] == [0, 0, 3, 3, 3, 3]  # q5 … q0: the latest ones wait
    refusals = ((("--replay",), "add --batch FILE"), (("--batch", batch, "--replay", "--top", "5"), "drop --top"))
    for args, hint in refusals:
        refused = steward("who", "--community", "ops", *args)
        assert refused.returncode == 2 and hint in refused.stderr and "Traceback" not in refused.stderr


def _candidate(chance: float, similar: int, answers: int) -> Candidate:
    evidence = Evidence(similar_threads=similar, accepted=0, upvotes=0, answers=answers, last_answer_at=None,
                        matched_terms=(), declared=(), thread_ids=())
    return Candidate(Member(community_id=1, platform="slack", platform_user_id="U"), Suggestion("U", chance, evidence))


def test_a_generalist_is_asked_before_a_specialist_only_when_likelier_by_their_focus() -> None:
    specialist = _candidate(0.12, similar=9, answers=9)  # all of their answering is on such questions
    generalist = _candidate(0.30, similar=10, answers=39)  # a quarter of theirs: every other question needs them
    assert worth(specialist, 0, 3) > worth(generalist, 0, 3)  # 0.30 is not 1/0.25 = 4 times 0.12
    assert worth(_candidate(0.50, similar=10, answers=39), 0, 3) > worth(specialist, 0, 3)  # 0.50 is
    assert worth(specialist, 2, 3) < worth(specialist, 1, 3) < worth(specialist, 0, 3)  # less room, less worth
    assert worth(specialist, 0, 0) == 0.0
