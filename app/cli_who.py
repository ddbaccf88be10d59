"""`steward who "QUESTION" --community NAME [--top K] [--json]`, the `--batch FILE.jsonl` form and `--replay`.

Batch lines are `{"id", "text", "asker"}` (an optional `ts`, unix seconds, ranks as of that time);
output lines are `{"id": ..., "experts": [{"member": "<platform user id>", "score": <float>}, ...]}`,
in input order. A bad line is reported on stderr with its number and answered with no experts, so the
output keeps one line per input line. A question longer than MAX_QUESTION characters is ranked on its
first MAX_QUESTION (noted on stderr), never refused. A score is the member's estimated chance of being the one who
answers (0 to 1); only members with evidence (a similar thread answered, a topic declared) are listed.

With `--replay`, the same lines are taken in time order (`ts`) as if each asker had picked "Ask them":
each line lists the members Steward would ask, chosen by the live rules (evidence, availability, weekly
caps counting the replay's own asks, spreading), in the same output form and in input order. The
database is not changed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func
from sqlmodel import col, select

from bot.errors import InputError
from bot.i18n import N_
from bot.routing.care import Asks, candidates, choose
from bot.services import Services
from storage.communities import get_community
from storage.db import Database
from storage.models import Message

MAX_QUESTION = 4000  # characters ranked; the rest of a longer question is not read


async def _as_of(db: Database, community_id: int) -> datetime:
    # A stale export is ranked as if asked right after its last message, not years later.
    async with db.session() as session:
        latest = (await session.exec(select(func.max(Message.posted_at)).where(
            col(Message.community_id) == community_id))).one()
    now = datetime.now(UTC)
    if latest is None:
        return now
    latest_at = latest if isinstance(latest, datetime) else datetime.fromisoformat(str(latest))
    latest_at = latest_at.replace(tzinfo=UTC) if latest_at.tzinfo is None else latest_at
    return min(now, latest_at)


async def _community_id(db: Database, slug: str) -> int:
    async with db.session() as session:
        community = await get_community(session, slug)
    if community is None or community.id is None:
        raise InputError(N_("There is no community named “{name}”. Import one with `steward import slack-export "
                            "PATH --community {name}`, or check the name."), name=slug)
    return community.id


def _check(text: str) -> str:
    """The question to rank: refused only when empty; a long one is ranked on its first MAX_QUESTION
    characters (the ranking reads its first words only anyway), never refused."""
    if not text.strip():
        raise InputError(N_("The question is empty: ask something like \"who knows about helm upgrades?\"."))
    return text[:MAX_QUESTION]


async def rank(db: Database, services: Services, community_id: int, text: str, asker: str | None, top: int,
               at: datetime) -> list[dict[str, Any]]:
    """The experts for one question, as JSON-ready dicts."""
    index = await services.expertise.index(community_id)
    async with db.session() as session:
        found = await candidates(session, index, community_id, text, asker=asker, now=at, top=top)
    return [{"member": c.member.platform_user_id, "score": round(c.suggestion.score, 6),
             "name": c.member.display_name} for c in found]


async def who_one(db: Database, community: str, question: str, *, asker: str | None, top: int,
                  as_json: bool, out: TextIO, services: Services | None = None) -> None:
    """Answer one question on stdout (with `services`, a Steward's: its saved indexes are used)."""
    community_id = await _community_id(db, community)
    services = services or Services.for_database(db)
    experts = await rank(db, services, community_id, _check(question), asker, top, await _as_of(db, community_id))
    if as_json:
        out.write(json.dumps({"experts": [{k: e[k] for k in ("member", "score")} for e in experts]}) + "\n")
        return
    if not experts:
        out.write("Nobody stands out for this question yet.\n")
    for i, e in enumerate(experts, 1):
        out.write(f"{i:2}. {e['member']:<14} {e['score']:8.3f}  {e['name']}\n")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    stream = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    try:
        yield from enumerate(stream, 1)
    finally:
        if stream is not sys.stdin:
            stream.close()


async def who_batch(db: Database, community: str, path: Path, *, top: int, out: TextIO, err: TextIO,
                    services: Services | None = None) -> int:
    """Answer every line of a JSONL file; returns how many lines were bad."""
    await _require_file(path)
    community_id = await _community_id(db, community)
    services = services or Services.for_database(db)
    default_at = await _as_of(db, community_id)
    bad = 0
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            query_id, text, asker, at = _parse(line, default_at)
            if len(text) > MAX_QUESTION:
                err.write(f"{path}:{number}: a question of {len(text)} characters, ranked on its first "
                          f"{MAX_QUESTION}\n")
            experts = await rank(db, services, community_id, text[:MAX_QUESTION], asker, top, at)
        except _BadLine as exc:
            bad += 1
            _skipped(err, path, number, exc)
            out.write(json.dumps({"id": exc.query_id, "experts": []}) + "\n")
            continue
        out.write(json.dumps({"id": query_id, "experts": [{k: e[k] for k in ("member", "score")}
                                                          for e in experts]}) + "\n")
    return bad


async def who_replay(db: Database, community: str, path: Path, *, out: TextIO, err: TextIO,
                     services: Services | None = None) -> int:
    """Replay a JSONL file of questions in time order under the care rules; returns how many lines were bad."""
    await _require_file(path)
    community_id = await _community_id(db, community)
    index = await (services or Services.for_database(db)).expertise.index(community_id)
    default_at = await _as_of(db, community_id)
    answers: list[Any] = []  # per input line: the members asked, or the id of a bad line
    todo: list[tuple[datetime, int, str, str | None]] = []
    bad = 0
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            query_id, text, asker, at = _parse(line, default_at)
        except _BadLine as exc:
            bad += 1
            _skipped(err, path, number, exc)
            answers.append({"id": exc.query_id, "experts": []})
            continue
        todo.append((at, len(answers), text[:MAX_QUESTION], asker))
        answers.append({"id": query_id, "experts": []})
    asks = Asks()  # the replay's own asks count towards caps and spreading, as stored ones would
    for at, slot, text, asker in sorted(todo, key=lambda x: (x[0], x[1])):
        async with db.session() as session:
            chosen = await choose(session, index, community_id, text, asker=asker, now=at, asks=asks)
        asks.add([c.member.id or 0 for c in chosen], at)
        answers[slot]["experts"] = [{"member": c.member.platform_user_id, "score": round(c.suggestion.score, 6)}
                                    for c in chosen]
    for answer in answers:
        out.write(json.dumps(answer) + "\n")
    return bad


class _BadLine(ValueError):
    def __init__(self, reason: str, query_id: Any) -> None:
        super().__init__(reason)
        self.query_id = query_id


def _parse(line: str, default_at: datetime) -> tuple[Any, str, str | None, datetime]:
    """One batch line: (id, question, asker, as of when); _BadLine says why it cannot be used."""
    query: Any = None
    try:
        query = json.loads(line)
        if not isinstance(query, dict) or not isinstance(query.get("text"), str):
            raise ValueError('expected an object with a string "text"')
        asker = query.get("asker") if isinstance(query.get("asker"), str) else None
        at = datetime.fromtimestamp(float(query["ts"]), UTC) if query.get("ts") else default_at
        _check(query["text"])  # an empty question is a bad line
        return query.get("id"), query["text"], asker, at
    except (ValueError, TypeError, OverflowError, OSError, InputError) as exc:
        raise _BadLine(str(exc), query.get("id") if isinstance(query, dict) else None) from exc


def _skipped(err: TextIO, path: Path, number: int, exc: Exception) -> None:
    err.write(f"{path}:{number}: skipped ({exc}); expected {{\"id\": ..., \"text\": ..., \"asker\": ...}}\n")


async def _require_file(path: Path) -> None:
    if str(path) != "-" and not await asyncio.to_thread(path.is_file):
        raise InputError(N_("{path} is not a file: give a JSONL file with one {{\"id\", \"text\", \"asker\"}} per "
                            "line (or - for standard input)."), path=str(path))
