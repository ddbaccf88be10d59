"""`steward export contributions --community NAME [--since DATE] [--member ID] --format csv|json`.

An admin tool: whoever can run the CLI can read the database anyway. It exports the ledger as a
coordinator may see it (surveys counted, never linked; forgotten members absent); members get their
own record in chat with `my record`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TextIO

from sqlmodel import col, select

from bot.errors import InputError
from bot.reputation.export import rows, to_csv, to_json
from storage.communities import get_community
from storage.db import Database
from storage.ledger import community_entries
from storage.models import Member


def parse_since(text: str | None) -> datetime | None:
    """A YYYY-MM-DD date as the start of that day (UTC)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--since expects a date such as 2026-01-31, got {text!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def export_contributions(db: Database, community: str, *, since: str | None, member: int | None,
                               fmt: str, out: TextIO) -> int:
    """Write the community's ledger entries (from `since`, for one member if given); returns how many."""
    start = parse_since(since)
    async with db.session() as session:
        found = await get_community(session, community)
        if found is None or found.id is None:
            raise InputError(f"no community {community!r}; use a slug from the config file (e.g. --community k8s)")
        if member is not None:
            owner = await session.get(Member, member)
            if owner is None or owner.community_id != found.id:
                raise InputError(f"no member {member} in {community!r}; member ids are in a full export")
        entries = await community_entries(session, found.id, since=start, member_id=member)
        giver_ids = {e.giver_id for e, _m in entries if e.giver_id}
        givers = {m.id or 0: m.display_name or m.platform_user_id for m in (await session.exec(
            select(Member).where(col(Member.id).in_(giver_ids)))).all()} if giver_ids else {}
    records = rows(entries, givers)
    out.write(to_csv(records) if fmt == "csv" else to_json(records) + "\n")
    return len(records)
