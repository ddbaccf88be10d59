"""`steward export contributions --community NAME [--since DATE] [--member ID] --format csv|json`.

An admin tool: whoever can run the CLI can read the database anyway. It exports the ledger as a
coordinator may see it (surveys counted, never linked; forgotten members absent); members get their
own record in chat with `my record`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TextIO

from sqlmodel import col, select

from bot.community_settings import effective
from bot.config import Config
from bot.errors import InputError
from bot.pulse.closing import DEFAULT_K
from bot.pulse.export import result_rows
from bot.pulse.export import to_csv as survey_csv
from bot.pulse.results import survey_result
from bot.reputation.export import rows, to_csv, to_json
from storage.communities import get_community, list_communities
from storage.db import Database
from storage.ledger import community_entries
from storage.models import Member, Survey


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


async def export_survey(db: Database, config: Config, community: str, survey_id: int, *, out: TextIO) -> None:
    """Write a closed survey's aggregate results as CSV, with the threshold chat and the config set (and never
    below the one it opened with): the same figures as its results post, nothing more."""
    async with db.session() as session:
        found = await get_community(session, community)
        if found is None or found.id is None:
            known = ", ".join(c.slug for c in await list_communities(session)) or "none yet"
            raise InputError(f"no community {community!r} (known: {known})")
        survey = await session.get(Survey, survey_id)
        if survey is None or survey.community_id != found.id:
            raise InputError(f"no survey {survey_id} in {community!r}; say `surveys` in its chat to see them")
        if survey.status != "closed":
            raise InputError(f"survey {survey_id} is still open (until {survey.closes_at:%Y-%m-%d %H:%M} UTC): its "
                             "results exist once it closes")
        cc = effective(config, found)
        result = await survey_result(session, survey, cc.survey_min_answers if cc else DEFAULT_K)
    out.write(survey_csv(result_rows(result)))
