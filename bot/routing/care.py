"""Care for experts: who may be suggested, weekly caps, availability, and spreading the load."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.expertise import Evidence, ExpertiseIndex, Suggestion
from bot.reputation.scores import reputation
from storage.expertise import available, members_by_platform_id, recent_requests, suggestable
from storage.models import Member

DEFAULT_WEEKLY_CAP = 3
SUGGESTED = 3  # members suggested for a question (and asked, when the asker says "Ask them")
NEAR_EQUAL = 0.10  # candidates within 10% of each other's (load-discounted) score count as equally good
WEEK = timedelta(days=7)
UNANSWERED_AFTER = timedelta(hours=24)  # then the next candidates; as long again, the coordinators


@dataclass(frozen=True)
class Candidate:
    """A member Steward may suggest, with the index's evidence."""

    member: Member
    suggestion: Suggestion


@dataclass
class Asks:
    """Questions routed outside the database (a replay's), counted with the stored ones by caps and spreading."""

    made: list[tuple[int, datetime]] = field(default_factory=list)

    def add(self, member_ids: Iterable[int], at: datetime) -> None:
        """Record that these members were asked at that time."""
        self.made += [(member_id, at) for member_id in member_ids]

    def since(self, member_ids: Sequence[int], since: datetime) -> dict[int, int]:
        """How many times each of these members was asked since a time."""
        wanted, counts = set(member_ids), dict[int, int]()
        for member_id, at in self.made:
            if member_id in wanted and at >= since:
                counts[member_id] = counts.get(member_id, 0) + 1
        return counts


async def _recent(session: AsyncSession, member_ids: Sequence[int], since: datetime, status: str | None,
                  asks: Asks | None) -> dict[int, int]:
    counts = await recent_requests(session, member_ids, since, status)
    for member_id, n in (asks.since(member_ids, since) if asks else {}).items():
        counts[member_id] = counts.get(member_id, 0) + n
    return counts


def has_evidence(suggestion: Suggestion) -> bool:
    """True when the member answered a similar thread or declared the topic (being active is not enough)."""
    return suggestion.evidence.similar_threads > 0 or bool(suggestion.evidence.declared)


async def candidates(session: AsyncSession, index: ExpertiseIndex, community_id: int, question: str, *,
                     asker: str | None, now: datetime, top: int, exclude: frozenset[str] = frozenset(),
                     weekly_cap: int = DEFAULT_WEEKLY_CAP, respect_care: bool = True,
                     asks: Asks | None = None) -> list[Candidate]:
    """The best `top` members with evidence for a question, never the asker nor anyone unsuggestable.

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
        evident = [s for s in batch if has_evidence(s)]
        rows = await members_by_platform_id(session, community_id, [s.member for s in evident])
        ok = [s for s in evident if s.member in rows and suggestable(rows[s.member])]
        if respect_care:
            ok = [s for s in ok if available(rows[s.member], now.date())]
            asked = await _recent(session, [rows[s.member].id or 0 for s in ok], now - WEEK, "asked", asks)
            ok = [s for s in ok if asked.get(rows[s.member].id or 0, 0) < _cap(rows[s.member], weekly_cap)]
        found += [Candidate(rows[s.member], s) for s in ok]
        wanted *= 2
        if len(batch) < 10:
            break
    return found[:top]


def _cap(member: Member, default: int) -> int:
    return default if member.weekly_cap is None else member.weekly_cap


def room(used: float) -> float:
    """What is left of a member's weekly willingness, for `used` = the share of their cap already asked.

    The trade-off of online allocation under budgets (Mehta, Saberi, Vazirani and Vazirani, "AdWords
    and generalized online matching", 2007): weighing a candidate by 1 - e^(used - 1) keeps people
    available for the questions only they can answer, which greedy "ask the best" does not. Scaled
    to 1 for someone not asked yet: with a cap of 3, one question asked this week counts 0.77, two 0.45.
    """
    return max(0.0, -math.expm1(min(used, 1.0) - 1.0)) / -math.expm1(-1.0)


def focus(evidence: Evidence) -> float:
    """The part of a member's answering that went to questions like this one (a declared topic counts once).

    Someone who answers everything is also the one every other question needs: asking them costs more
    than asking an equally likely specialist, whose week this question is the natural use of.
    """
    similar = evidence.similar_threads + (1 if evidence.declared else 0)
    return min(1.0, similar / (evidence.answers + 1))


def worth(candidate: Candidate, asked: int, cap: int) -> float:
    """How much asking this member now is worth: their chance of answering, weighed by their focus on
    questions like this one and by the room left under their cap.

    A week's asks are a budget: spending a generalist's on a question a specialist is nearly as likely
    to answer leaves later questions that only the generalist can answer without them. Weighing the
    chance by the focus itself (not its square root, as first shipped) asks a generalist only when they
    are 1/focus times likelier than the specialist; over the synthetic communities of bench/routing_care.py
    the expected hit@3 under care rose on every one tried (BENCHMARKS.md, "Routing under care").
    """
    if cap <= 0:
        return 0.0
    chance = max(0.0, candidate.suggestion.score)
    return chance * focus(candidate.suggestion.evidence) * room(asked / cap)


async def spread(session: AsyncSession, ranked: list[Candidate], k: int, now: datetime,
                 reputation: dict[int, float] | None = None, *, weekly_cap: int = DEFAULT_WEEKLY_CAP,
                 asks: Asks | None = None) -> list[Candidate]:
    """Pick `k` by `worth`; among near-equals, those solicited least in the past week first.

    Among near-equals solicited as often, the one with the higher `reputation` (the contribution
    ledger's decayed score: answers, accepted answers, kudos…) comes first.
    """
    ids = [c.member.id or 0 for c in ranked]
    asked = await _recent(session, ids, now - WEEK, "asked", asks)
    load = await _recent(session, ids, now - WEEK, None, asks)
    standing = reputation or {}
    value = {id(c): worth(c, asked.get(c.member.id or 0, 0), _cap(c.member, weekly_cap)) for c in ranked}
    chosen: list[Candidate] = []
    pool = list(ranked)
    while pool and len(chosen) < k:
        best = max(value[id(c)] for c in pool)
        near = [c for c in pool if value[id(c)] >= best * (1.0 - NEAR_EQUAL)]
        pick = min(near, key=lambda c: (load.get(c.member.id or 0, 0), -standing.get(c.member.id or 0, 0.0),
                                        -value[id(c)]))
        chosen.append(pick)
        pool.remove(pick)
    return chosen


async def choose(session: AsyncSession, index: ExpertiseIndex, community_id: int, question: str, *,
                 asker: str | None, now: datetime, k: int = SUGGESTED, exclude: frozenset[str] = frozenset(),
                 weekly_cap: int = DEFAULT_WEEKLY_CAP, asks: Asks | None = None) -> list[Candidate]:
    """The members Steward suggests for a question now: ranked, cared for (away, capped), spread.

    `who knows` and `steward who --replay` both choose here, so a replay asks whom the bot would.
    """
    ranked = await candidates(session, index, community_id, question, asker=asker, now=now, top=k * 4,
                              exclude=exclude, weekly_cap=weekly_cap, asks=asks)
    standing = await reputation(session, community_id, member_ids=[c.member.id or 0 for c in ranked], now=now)
    return await spread(session, ranked, k, now, reputation=standing, weekly_cap=weekly_cap, asks=asks)
