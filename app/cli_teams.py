"""`steward teams import FILE --community NAME [--dry-run]`: members' teams from a CSV list (an HR or directory export).

The file is untrusted input, checked whole before anything is written: at most `MAX_BYTES` and `MAX_ROWS` lines, UTF-8,
a header naming a member column and a team column (comma, semicolon or tab separated). A line whose team is bad, or
whose member could be several people, stops the import with every such line listed and how to fix it; a member Steward
does not know yet (nobody is created from a list) is left out and counted. An empty team cell removes that member's
team. Members who opted out or were forgotten are left alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import col, select

from bot.errors import InputError
from bot.features.teams import normal_team, team_fault
from storage.communities import get_community
from storage.db import Database
from storage.limits import TEAM_LENGTH
from storage.models import Member
from storage.teams import Assignment, assign, team_sizes

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
MAX_SHOWN = 20  # problems listed; the rest are counted
MEMBER_COLUMNS = ("member", "user", "id", "handle")
TEAM_COLUMNS = ("team", "équipe", "equipe")
EXAMPLE = "member,team\nU0123ABC,Payments\n@ana,Platform"


@dataclass
class TeamsImport:
    """What an import did (or, in a dry run, would do)."""

    changed: int = 0
    unchanged: int = 0
    unknown: list[int] = field(default_factory=list)  # line numbers naming nobody Steward knows here
    left_alone: int = 0  # opted out
    teams: dict[str, int] = field(default_factory=dict)  # members per team afterwards


async def import_teams(db: Database, path: Path, community: str, *, dry_run: bool = False,
                       known: Sequence[str] = ()) -> TeamsImport:
    """Read, check and apply the list in one transaction (rolled back for a dry run); `InputError` says what to fix."""
    rows = _rows(path)
    async with db.session() as session:
        found = await get_community(session, community)
        if found is None or found.id is None:
            listed = ", ".join(known) if known else "none yet"
            raise _bad(f"no community {community!r} (known: {listed}): pick one with --community")
        members = list((await session.exec(select(Member).where(
            col(Member.community_id) == found.id, col(Member.is_bot).is_(False),
            col(Member.forgotten_at).is_(None)))).all())
        done, assignments = TeamsImport(), []
        problems: list[str] = []
        seen: dict[int, int] = {}
        for line, who, team in rows:
            name = normal_team(team)
            fault = team_fault(name) if name else None
            if fault == "long":
                problems.append(f"line {line}: the team {name[:TEAM_LENGTH]!r}… has {len(name)} characters; a team's "
                                f"name has at most {TEAM_LENGTH}: shorten it")
            elif fault is not None:
                problems.append(f"line {line}: the team holds control or direction characters; write it in plain "
                                "words")
            matches = _matching(members, who)
            if len(matches) > 1:
                problems.append(f"line {line}: {_short(who)} could be {len(matches)} members "
                                f"({', '.join(f'{m.platform}:{m.platform_user_id}' for m in matches[:5])}); write "
                                "the one you mean as platform:id, e.g. slack:U0123ABC")
                continue
            if not matches:
                done.unknown.append(line)
                continue
            member = matches[0]
            assert member.id is not None
            if member.id in seen:
                problems.append(f"line {line}: {_short(who)} is the member of line {seen[member.id]} again; keep "
                                "one line per member")
                continue
            seen[member.id] = line
            if member.opted_out:
                done.left_alone += 1
                continue
            if fault is None:
                assignments.append(Assignment(line, member, name or None))
        if problems:
            shown = problems[:MAX_SHOWN]
            if len(problems) > MAX_SHOWN:
                shown.append(f"… and {len(problems) - MAX_SHOWN} more")
            raise _bad(f"nothing was changed: fix these lines of {path} and run the command again:\n  "
                             + "\n  ".join(shown))
        done.changed = await assign(session, assignments)
        done.unchanged = len(assignments) - done.changed
        done.teams = await team_sizes(session, found.id)
        if dry_run:
            await session.rollback()
    return done


def _bad(problem: str) -> InputError:
    """An `InputError` saying `problem` as is (what the file holds is never read as a message's placeholders)."""
    return InputError("{problem}", problem=problem)


def _short(cell: str) -> str:
    return repr(cell if len(cell) <= 60 else cell[:59] + "…")


def _matching(members: list[Member], who: str) -> list[Member]:
    """The members a cell names: `platform:id`, a platform id, or a handle (a display name, `@` optional)."""
    who = who.strip()
    platform, colon, rest = who.partition(":")
    if colon and any(m.platform == platform for m in members):
        return [m for m in members if m.platform == platform and m.platform_user_id == rest]
    by_id = [m for m in members if m.platform_user_id == who]
    if by_id:
        return by_id
    handle = " ".join(who.removeprefix("@").split()).casefold()
    return [m for m in members if handle and " ".join(m.display_name.split()).casefold() == handle]


def _rows(path: Path) -> list[tuple[int, str, str]]:
    """(line number, member cell, team cell) of every data line; `InputError` for a file that cannot be read."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise _bad(f"{path} is not a file: give the CSV file of members and teams")
        if size > MAX_BYTES:
            raise _bad(f"{path} is {size:,} bytes; a team list is at most {MAX_BYTES // (1024 * 1024)} MB: "
                             "keep only the member and team columns, or split it in several files")
        data = path.read_bytes()
    except OSError as err:
        raise _bad(f"cannot read {path}: {err.strerror or err}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise _bad(f"{path} is not UTF-8 text (line {line}): save it as \"CSV UTF-8\" from your "
                         "spreadsheet and try again") from None
    if "\x00" in text:
        raise _bad(f"{path} holds NUL bytes: it is not a CSV text file (save it as \"CSV UTF-8\")")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise _bad(f"{path} is empty or starts with an empty line: its first line names the columns, e.g.\n"
                         + EXAMPLE)
    if len(lines) > MAX_ROWS + 1:
        raise _bad(f"{path} has {len(lines) - 1:,} lines; at most {MAX_ROWS:,} at a time: split it")
    header = lines[0]
    delimiter = "\t" if "\t" in header else ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        names = [c.strip().casefold() for c in next(reader)]
        who = next((names.index(n) for n in MEMBER_COLUMNS if n in names), None)
        team = next((names.index(n) for n in TEAM_COLUMNS if n in names), None)
        if who is None or team is None:
            raise _bad(f"{path}: the first line must name a member column ({' or '.join(MEMBER_COLUMNS)}) and "
                             f"a team column (team); it reads {lines[0][:100]!r}. For example:\n{EXAMPLE}")
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) <= max(who, team):
                raise _bad(f"{path}, line {reader.line_num}: {len(cells)} column(s) where the header has "
                                 f"{len(names)}; each line needs the member and the team (an empty team removes it)")
            if not cells[who].strip():
                raise _bad(f"{path}, line {reader.line_num}: no member; give a platform id (U0123ABC, "
                                 "@ana:example.org), platform:id, or a display name")
            rows.append((reader.line_num, cells[who], cells[team]))
    except csv.Error as err:
        raise _bad(f"{path}, line {reader.line_num}: {err}; check its quotes") from None
    return rows


def describe_teams(done: TeamsImport, community: str, *, dry_run: bool) -> str:
    """The summary printed after an import."""
    lines = [("Dry run, nothing written: " if dry_run else "") + f"teams in “{community}”: {done.changed} member(s) "
             f"changed, {done.unchanged} already so."]
    if done.unknown:
        shown = ", ".join(str(n) for n in done.unknown[:MAX_SHOWN]) + (" …" if len(done.unknown) > MAX_SHOWN else "")
        lines.append(f"{len(done.unknown)} line(s) name nobody Steward knows in “{community}” yet (lines {shown}): "
                     "left out. Steward keeps only people it has met: import the list again once they have spoken "
                     "(or once the history is imported), or they can say `team …` in chat.")
    if done.left_alone:
        lines.append(f"{done.left_alone} member(s) opted out: left alone (Steward keeps nothing more about them).")
    if done.teams:
        lines.append(f"{len(done.teams)} team(s): " + ", ".join(
            f"{team} ({n})" for team, n in sorted(done.teams.items(), key=lambda item: item[0].casefold())))
    return "\n".join(lines)
