"""`steward teams import FILE --community NAME`: a CSV of members and teams, checked whole before anything is written;
every bad input says what is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.cli_teams import MAX_BYTES, describe_teams, import_teams
from bot.errors import InputError
from storage.communities import ensure_community
from storage.db import Database
from storage.members import ensure_member
from storage.models import Member
from tests.test_cli import env, steward  # noqa: F401  (the real process's fixture)


@pytest.fixture
async def k8s(db: Database) -> Database:
    async with db.session() as s:
        community = await ensure_community(s, "k8s", name="Kubernetes CoP")
        cid = community.id or 0
        await ensure_member(s, cid, "slack", "U0ANA", display_name="Ana Souza")
        await ensure_member(s, cid, "slack", "U0BOB", display_name="Bob")
        await ensure_member(s, cid, "matrix", "@bob:example.org", display_name="Bob")
        await ensure_member(s, cid, "slack", "U0CAT", display_name="Cat")
        quiet = await ensure_member(s, cid, "slack", "U0DAN", display_name="Dan")
        quiet.opted_out = True
    return db


def _csv(tmp_path: Path, text: str | bytes, name: str = "teams.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


async def _teams(db: Database) -> dict[str, str | None]:
    async with db.session() as s:
        return {f"{m.platform}:{m.platform_user_id}": m.team for m in (await s.exec(select(Member))).all()}


async def test_a_list_sets_teams_by_id_handle_or_platform_id(k8s: Database, tmp_path: Path) -> None:
    path = _csv(tmp_path, "\ufeffName;Team;Member\nx;Payments;U0ANA\ny; payments ;slack:U0BOB\nz;Platform;"
                          "matrix:@bob:example.org\nw;Platform;@cat\nv;Ops;U0DAN\nu;Ops;U0NOBODY\n")
    done = await import_teams(k8s, path, "k8s")
    assert (done.changed, done.unchanged, done.unknown, done.left_alone) == (4, 0, [7], 1)
    assert done.teams == {"Payments": 2, "Platform": 2}
    assert await _teams(k8s) == {"slack:U0ANA": "Payments", "slack:U0BOB": "Payments",
                                 "matrix:@bob:example.org": "Platform", "slack:U0CAT": "Platform", "slack:U0DAN": None}
    summary = describe_teams(done, "k8s", dry_run=False)
    assert "4 member(s) changed, 0 already so." in summary and "(lines 7)" in summary
    assert "1 member(s) opted out: left alone" in summary and "2 team(s): Payments (2), Platform (2)" in summary
    again = await import_teams(k8s, _csv(tmp_path, "member,team\nU0ANA,\nU0CAT,Platform\n"), "k8s", dry_run=True)
    assert (again.changed, again.unchanged) == (1, 1)
    assert (await _teams(k8s))["slack:U0ANA"] == "Payments"  # a dry run writes nothing
    await import_teams(k8s, _csv(tmp_path, "member,team\nU0ANA,\n"), "k8s")
    assert (await _teams(k8s))["slack:U0ANA"] is None  # an empty team removes it


@pytest.mark.parametrize(("text", "says"), [
    ("", "is empty or starts with an empty line: its first line names the columns"),
    ("name,dept\nU0ANA,Payments\n", "the first line must name a member column (member or user or id or handle)"),
    ("member,team\nU0ANA\n", "line 2: 1 column(s) where the header has 2; each line needs the member and the team"),
    ("member,team\n,Payments\n", "line 2: no member; give a platform id"),
    ('member,team\nU0ANA,"Pay\n', "check its quotes"),
    (b"member,team\nU0ANA,Paiements \xe9quipe\n", "is not UTF-8 text (line 2): save it as \"CSV UTF-8\""),
    ("member,team\nU0ANA,Pay\x00ments\n", "holds NUL bytes"),
])
async def test_a_file_that_cannot_be_read_says_how_to_fix_it(k8s: Database, tmp_path: Path, text: str | bytes,
                                                             says: str) -> None:
    with pytest.raises(InputError) as caught:
        await import_teams(k8s, _csv(tmp_path, text), "k8s")
    assert says in str(caught.value)


async def test_bad_lines_are_all_listed_and_nothing_is_written(k8s: Database, tmp_path: Path) -> None:
    lines = ["member,team", "U0ANA,Payments", "Bob,Platform", "U0CAT," + "x" * 61, "@cat,Ops\u202e",
             "slack:U0ANA,Payments", "U0{usage}X,{team}"]
    with pytest.raises(InputError) as caught:
        await import_teams(k8s, _csv(tmp_path, "\n".join(lines)), "k8s")
    message = str(caught.value)
    assert message.startswith("nothing was changed: fix these lines of ")
    assert "line 3: 'Bob' could be 2 members (slack:U0BOB, matrix:@bob:example.org); write the one you mean as " \
           "platform:id" in message
    assert "line 4: the team 'xxxx" in message
    assert "has 61 characters; a team's name has at most 60: shorten it" in message
    assert "line 5: the team holds control or direction characters; write it in plain words" in message
    assert "line 6: 'slack:U0ANA' is the member of line 2 again; keep one line per member" in message
    assert set((await _teams(k8s)).values()) == {None}


async def test_too_large_a_file_or_an_unknown_community(k8s: Database, tmp_path: Path) -> None:
    big = _csv(tmp_path, "member,team\n" + "U0ANA,Payments\n" * (MAX_BYTES // 15 + 1))
    with pytest.raises(InputError, match="a team list is at most 5 MB: keep only the member and team columns"):
        await import_teams(k8s, big, "k8s")
    with pytest.raises(InputError, match=r"no community 'k9s' \(known: k8s\): pick one with --community"):
        await import_teams(k8s, _csv(tmp_path, "member,team\nU0ANA,x\n"), "k9s", known=["k8s"])
    with pytest.raises(InputError, match=r"cannot read .*missing\.csv: No such file"):
        await import_teams(k8s, tmp_path / "missing.csv", "k8s")


def test_the_command_line(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert steward(env, "demo", stdin="quit\n").returncode == 0
    good = _csv(tmp_path, "member,team\nana,Platform\n@Bruno Tremblay,observability\nzed,Cloud\n")
    result = steward(env, "teams", "import", str(good), "--community", "demo")
    assert result.returncode == 0, result.stderr
    assert "teams in “demo”: 1 member(s) changed, 1 already so." in result.stdout  # ana was in Platform already
    assert "1 line(s) name nobody Steward knows in “demo” yet (lines 4)" in result.stdout
    assert "3 team(s): Cloud (2), Observability (3), Platform (3)" in result.stdout  # the demo's spelling
    bad = steward(env, "teams", "import", str(_csv(tmp_path, "who,what\n", "bad.csv")), "--community", "demo")
    assert bad.returncode == 2 and bad.stderr.startswith("steward: ")
    assert "the first line must name a member column" in bad.stderr
