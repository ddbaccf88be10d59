"""Care for experts: who may be suggested, weekly caps, availability, and spreading the load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.expertise import ExpertiseIndex, Suggestion
from storage.expertise import available, members_by_platform_id, recent_requests, suggestable
from storage.models import Member

DEFAULT_WEEKLY_CAP = 3
NEAR_EQUAL = 0.10  # candidates within 10% of each other's score count as equally good
WEEK = timedelta(days=7)
UNANSWERED_AFTER = timedelta(hours=24)  # then the next candidates; as long again, the coordinators


@dataclass(frozen=True)
class Candidate:
    """A member Steward may suggest, with the index's evidence."""

    member: Member
    suggestion: Suggestion


async def candidates(session: AsyncSession, index: ExpertiseIndex, community_id: int, question: str, *,
                     asker: str | None, now: datetime, top: int, exclude: frozenset[str] = frozenset(),
                     weekly_cap: int = DEFAULT_WEEKLY_CAP, respect_care: bool = True) -> list[Candidate]:
    """The best `top` members for a question, never the asker nor anyone unsuggestable.

    With `respect_care`, members who are away or reached their weekly cap of routed questions are
    skipped too (the CLI ranking for benchmarks keeps them, to measure the ranking itself).
    """
    wanted, found = top, list[Candidate]()
    seen: set[str] = set(exclude)
    while len(found) < top:
        batch = index.rank(question, asker=asker, exclude=seen, top=max(wanted * 3, 10), now=now.timestamp())
        if not batch:
            break
        seen.update(s.member for s in batch)
        rows = await members_by_platform_id(session, community_id, [s.member for s in batch])
        ok = [s for s in batch if s.member in rows and suggestable(rows[s.member])]
        if respect_care:
            ok = [s for s in ok if available(rows[s.member], now.date())]
            asked = await recent_requests(session, [rows[s.member].id or 0 for s in ok], now - WEEK, "asked")
            ok = [s for s in ok if asked.get(rows[s.member].id or 0, 0) < _cap(rows[s.member], weekly_cap)]
        found += [Candidate(rows[s.member], s) for s in ok]
        wanted *= 2
        if len(batch) < 10:
            break
    return found[:top]


def _cap(member: Member, default: int) -> int:
    return default if member.weekly_cap is None else member.weekly_cap


async def spread(session: AsyncSession, ranked: list[Candidate], k: int, now: datetime,
                 reputation: dict[int, float] | None = None) -> list[Candidate]:
    """Pick `k`, preferring, among near-equal candidates, those asked least in the past week.

    Among near-equals asked as often, the one with the higher `reputation` (the contribution ledger's
    decayed score: answers, accepted answers, kudos…) comes first.
    """
    load = await recent_requests(session, [c.member.id or 0 for c in ranked], now - WEEK)
    standing = reputation or {}
    chosen: list[Candidate] = []
    pool = list(ranked)
    while pool and len(chosen) < k:
        best = pool[0].suggestion.score
        near = [c for c in pool if c.suggestion.score >= best - abs(best) * NEAR_EQUAL]
        pick = min(near, key=lambda c: (load.get(c.member.id or 0, 0), -standing.get(c.member.id or 0, 0.0),
                                        -c.suggestion.score))
        chosen.append(pick)
        pool.remove(pick)
    return chosen
