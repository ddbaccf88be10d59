"""Exports (CSV safe against formulas, JSON, filters) and privacy (forget me, kudos given)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from adapters.recording import RecordingAdapter
from app.cli_export import export_contributions
from bot.core import Steward
from bot.errors import InputError
from bot.reputation.export import safe_cell, to_csv
from storage.models import Contribution
from tests.events import command, message, pick
from tests.reputation.conftest import ledger, member_id

Bot = tuple[Steward, RecordingAdapter]


@pytest.mark.parametrize(("raw", "safe"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("helm", "helm"), ("", ""), ("a=b", "a=b")])
def test_cells_that_a_spreadsheet_would_run_get_a_quote(raw: str, safe: str) -> None:
    assert safe_cell(raw) == safe


def test_csv_rows_are_escaped() -> None:
    record = {"date": "2026-01-01T00:00:00", "member": "=cmd|' /C calc'!A0", "member_id": "1",
              "platform_user_id": "U1", "kind": "thanked", "topics": "helm", "evidence": "", "note": "@evil",
              "given_by": "-x"}
    rows = list(csv.reader(io.StringIO(to_csv([record]))))
    assert rows[1][1].startswith("'=") and rows[1][7] == "'@evil" and rows[1][8] == "'-x"


async def test_export_of_a_community_and_of_one_member(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(command("thanks <@UBRUNO> for =the tip", user="UANA"))
    await platform.inject(command("thanks <@UCHLOE> for the review", user="UANA"))
    out = io.StringIO()
    assert await export_contributions(steward.db, "k8s", since="2000-01-01", member=None, fmt="csv", out=out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["note"] == "'=the tip" and rows[0]["given_by"] == "Uana" and rows[0]["kind"] == "thanked"
    out = io.StringIO()
    bruno = await member_id(steward, "UBRUNO")
    await export_contributions(steward.db, "k8s", since=None, member=bruno, fmt="json", out=out)
    assert [r["platform_user_id"] for r in json.loads(out.getvalue())] == ["UBRUNO"]
    out = io.StringIO()
    assert await export_contributions(steward.db, "k8s", since="2999-01-01", member=None, fmt="csv", out=out) == 0
    for bad in ({"since": "last week"}, {"community": "nope"}, {"member": 999999}):
        args = {"since": None, "member": None, "community": "k8s"} | bad
        with pytest.raises(InputError):
            await export_contributions(steward.db, str(args["community"]), since=args["since"],  # type: ignore[arg-type]
                                       member=args["member"], fmt="csv", out=io.StringIO())  # type: ignore[arg-type]


async def test_forget_me_removes_the_ledger_and_the_kudos_given(bot: Bot) -> None:
    steward, platform = bot
    root = message("How do I scale the ingress?", user="UBRUNO")
    await platform.inject(root)
    await platform.inject(message("use an HPA on it", user="UANA", thread=root.message_id))  # Ana answered
    await platform.inject(command("thanks <@UBRUNO> for asking", user="UANA"))  # Ana thanked Bruno
    await platform.inject(command("thanks <@UANA> for the HPA tip", user="UBRUNO"))  # Bruno thanked Ana
    assert len(await ledger(steward)) == 3
    await platform.inject(command("forget me", user="UANA"))
    await platform.inject(pick(platform.sent[-1].key, "yes", user="UANA"))  # type: ignore[union-attr]
    assert await ledger(steward) == []  # her entries, and the kudos she gave Bruno
    async with steward.db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Contribution))).one()[0] == 0  # type: ignore[call-overload]
    await platform.inject(command("my contributions", user="UANA"))
    assert platform.texts()[-1].startswith("No contributions recorded yet")
