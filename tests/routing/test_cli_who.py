"""`steward who`: the single and --batch forms, their output contract and their answers to bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from adapters.recording import RecordingAdapter
from app.cli_who import who_batch, who_one
from bot.core import Steward
from bot.errors import InputError
from tests.events import command
from tests.routing.history import seed

Bot = tuple[Steward, RecordingAdapter]


async def test_batch_contract_keeps_order_and_excludes_the_asker(bot: Bot, tmp_path: Path) -> None:
    steward, platform = bot
    await seed(platform)
    batch = tmp_path / "q.jsonl"
    lines = [{"id": "a", "text": "helm rollback", "asker": "UFRANK"},
             {"id": "b", "text": "terraform modules", "asker": "UBRUNO"},
             {"id": "c", "text": "terraform state", "asker": "UFRANK", "ts": 1790100000}]
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert await who_batch(steward.db, "k8s", batch, top=10, out=out, err=err) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["experts"][0]["member"] == "UANA"
    assert all(set(e) == {"member", "score"} and isinstance(e["score"], float) for r in rows for e in r["experts"])
    assert "UBRUNO" not in [e["member"] for e in rows[1]["experts"]]
    assert rows[2]["experts"][0]["member"] == "UBRUNO"
    scores = [e["score"] for e in rows[0]["experts"]]
    assert scores == sorted(scores, reverse=True)


async def test_batch_bad_lines_are_reported_and_answered_empty(bot: Bot, tmp_path: Path) -> None:
    steward, platform = bot
    await seed(platform)
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "ok", "text": "helm", "asker": "UX"}\nnot json\n{"id": "no-text"}\n'
                     '{"id": "empty", "text": "  "}\n\n[1, 2]\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert await who_batch(steward.db, "k8s", batch, top=3, out=out, err=err) == 4
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["ok", None, "no-text", "empty", None]
    assert rows[0]["experts"] and all(r["experts"] == [] for r in rows[1:])
    assert f"{batch}:2: skipped" in err.getvalue() and f"{batch}:6: skipped" in err.getvalue()


async def test_single_question_text_and_json(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    out = io.StringIO()
    await who_one(steward.db, "k8s", "helm chart values", asker=None, top=2, as_json=False, out=out)
    assert out.getvalue().splitlines()[0].split()[1] == "UANA"
    out = io.StringIO()
    await who_one(steward.db, "k8s", "terraform and helm chart values", asker="UANA", top=2, as_json=True, out=out)
    assert "UANA" not in out.getvalue() and json.loads(out.getvalue())["experts"]


@pytest.mark.parametrize(("community", "question", "fragment"), [
    ("nope", "helm", "no community named"),
    ("k8s", "   ", "empty"),
])
async def test_single_question_bad_input(bot: Bot, community: str, question: str, fragment: str) -> None:
    steward, _platform = bot
    with pytest.raises(InputError, match=fragment):
        await who_one(steward.db, community, question, asker=None, top=3, as_json=False, out=io.StringIO())


async def test_batch_file_missing(bot: Bot, tmp_path: Path) -> None:
    steward, _platform = bot
    with pytest.raises(InputError, match="not a file"):
        await who_batch(steward.db, "k8s", tmp_path / "missing.jsonl", top=3, out=io.StringIO(), err=io.StringIO())


async def test_opting_out_removes_from_a_loaded_index_and_opting_in_restores(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    out = io.StringIO()
    await platform.inject(command("who knows about helm?", user="UFRANK"))  # loads the index in the bot
    await platform.inject(command("opt out", user="UANA"))
    index = steward.services.expertise.loaded(1)
    assert index is not None
    assert "UANA" not in [s.member for s in index.rank("helm rollback", asker=None)]
    await platform.inject(command("opt in", user="UANA"))
    await steward.services.expertise.idle()
    assert steward.services.expertise.loaded(1) is index  # restored in place, with her history
    assert [s.member for s in index.rank("helm rollback", asker=None, top=1)] == ["UANA"]
    await who_one(steward.db, "k8s", "helm rollback", asker=None, top=1, as_json=True, out=out)
    assert "UANA" in out.getvalue()
