"""Members' teams: the team a member says they work in (or the operator's list gives), one spelling per community.

A team is typed text, so `payments` and `Payments` would split one team in two: a new name takes the spelling the
community already uses when one matches it case- and accent-insensitively (`spelling`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import limits
from storage.models import Member


def team_key(name: str) -> str:
    """The name as teams are compared: case, accents and spacing left out."""
    decomposed = unicodedata.normalize("NFKD", " ".join(name.split()))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


async def spelling(session: AsyncSession, community_id: int, name: str, *, besides: int | None = None) -> str:
    """How the community already spells the team `name` names (other than on member `besides`), else `name`."""
    stmt = select(Member.team).where(col(Member.community_id) == community_id, col(Member.team).is_not(None))
    if besides is not None:
        stmt = stmt.where(col(Member.id) != besides)
    wanted = team_key(name)
    for existing in sorted({t for t in (await session.exec(stmt.distinct())).all() if t}):
        if team_key(existing) == wanted:
            return existing
    return name


async def set_team(session: AsyncSession, member: Member, name: str | None) -> str | None:
    """Put `member` in team `name` (as the community spells it) or, with None, in none; the name kept."""
    member.team = None if not name else await spelling(session, member.community_id,
                                                       limits.fit(name, limits.TEAM_LENGTH), besides=member.id)
    return member.team


async def team_sizes(session: AsyncSession, community_id: int) -> dict[str, int]:
    """Members per team: people only (no bot), neither opted out nor forgotten."""
    stmt = (select(Member.team, func.count()).where(
        col(Member.community_id) == community_id, col(Member.team).is_not(None), col(Member.is_bot).is_(False),
        col(Member.opted_out).is_(False)).group_by(col(Member.team)))
    return {str(team): int(n) for team, n in (await session.exec(stmt)).all()}


@dataclass(frozen=True)
class Assignment:
    """One line of an operator's list, resolved: the member and the team (None: no team)."""

    line: int
    member: Member
    team: str | None


async def assign(session: AsyncSession, assignments: list[Assignment]) -> int:
    """Apply a checked list in one transaction; how many members' team changed."""
    changed = 0
    for a in assignments:
        before = a.member.team
        if await set_team(session, a.member, a.team) != before:
            changed += 1
    await session.flush()
    return changed
