"""`steward who "QUESTION" --community NAME [--top K] [--json]` and the `--batch FILE.jsonl` form.

Batch lines are `{"id", "text", "asker"}` (an optional `ts`, unix seconds, ranks as of that time);
output lines are `{"id": ..., "experts": [{"member": "<platform user id>", "score": <float>}, ...]}`,
in input order. A bad line is reported on stderr with its number and answered with no experts, so the
output keeps one line per input line. A question longer than MAX_QUESTION characters is ranked on its
first MAX_QUESTION (noted on stderr), never refused.
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
from bot.routing.care import candidates
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
    if str(path) != "-" and not await asyncio.to_thread(path.is_file):
        raise InputError(N_("{path} is not a file: give a JSONL file with one {{\"id\", \"text\", \"asker\"}} per "
                            "line (or - for standard input)."), path=str(path))
    community_id = await _community_id(db, community)
    services = services or Services.for_database(db)
    default_at = await _as_of(db, community_id)
    bad = 0
    for number, line in _lines(path):
        if not line.strip():
            continue
        query: Any = None
        try:
            query = json.loads(line)
            if not isinstance(query, dict) or not isinstance(query.get("text"), str):
                raise ValueError('expected an object with a string "text"')
            asker = query.get("asker") if isinstance(query.get("asker"), str) else None
            at = datetime.fromtimestamp(float(query["ts"]), UTC) if query.get("ts") else default_at
            if len(query["text"]) > MAX_QUESTION:
                err.write(f"{path}:{number}: a question of {len(query['text'])} characters, ranked on its first "
                          f"{MAX_QUESTION}\n")
            experts = await rank(db, services, community_id, _check(query["text"]), asker, top, at)
        except (ValueError, TypeError, InputError) as exc:
            bad += 1
            err.write(f"{path}:{number}: skipped ({exc}); expected {{\"id\": ..., \"text\": ..., \"asker\": ...}}\n")
            query_id = query.get("id") if isinstance(query, dict) else None
            out.write(json.dumps({"id": query_id, "experts": []}) + "\n")
            continue
        out.write(json.dumps({"id": query.get("id"), "experts": [{k: e[k] for k in ("member", "score")}
                                                                  for e in experts]}) + "\n")
    return bad
