"""Reputation computed from the ledger: per member, per topic, with decay, and explained entry by entry.

Everyone's score is summed in SQL (`power()`; on a SQLite build without math functions the ledger is
grouped by member, kind and day and summed here). An explanation groups one member's ledger by kind
and day for the totals and lists their best entries; the rest is summed on one line. Both count age
in whole UTC days, so the listed entries plus the rest always add up to the score.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.reputation.topics import query_terms
from bot.reputation.weights import HALF_LIFE_DAYS, WEIGHTS, level, worth
from storage.ledger import day_buckets, decayed_scores, latest_per_kind, topic_counts
from storage.models import Contribution, Member
from storage.types import utcnow

BEST = 5  # entries an explanation lists by default


def day_of(at: datetime) -> int:
    """Days since 1970-01-01 (UTC) of a moment, as the SQL side counts them."""
    return int(at.timestamp() // 86400)


async def reputation(session: AsyncSession, community_id: int, *, topic: str | None = None,
                     member_ids: list[int] | None = None, now: datetime | None = None) -> dict[int, float]:
    """Member id → score (on `topic` when given) for ranked members: opted-out members and bots get none."""
    today = day_of(now or utcnow())
    terms = query_terms(topic) if topic else None
    scores = await decayed_scores(session, community_id, weights=WEIGHTS, half_life=HALF_LIFE_DAYS, today=today,
                                  terms=terms, member_ids=member_ids)
    if scores is None:
        scores = defaultdict(float)
        for member_id, kind, day, count in await day_buckets(session, community_id, terms=terms,
                                                             member_ids=member_ids):
            scores[member_id] += count * worth(kind, day, today)
    return {m: s for m, s in scores.items() if s > 0}


@dataclass(frozen=True)
class EvidenceLine:
    """One ledger entry and what it is worth today."""

    kind: str
    at: datetime
    points: float
    topic: str
    url: str
    note: str


@dataclass(frozen=True)
class Explanation:
    """A member's score: the best entries listed, the others summed; `score == listed + rest_points`."""

    member_id: int
    topic: str | None
    lines: tuple[EvidenceLine, ...]
    by_kind: dict[str, tuple[int, float]] = field(default_factory=dict)  # kind → (entries, points)
    first_day: int | None = None

    @property
    def score(self) -> float:
        """The member's score (the sum over every entry, by kind)."""
        return sum(points for _n, points in self.by_kind.values())

    @property
    def entries(self) -> int:
        """How many entries count."""
        return sum(n for n, _p in self.by_kind.values())

    @property
    def rest(self) -> tuple[int, float]:
        """(entries, points) not listed in `lines`."""
        return self.entries - len(self.lines), self.score - sum(line.points for line in self.lines)

    @property
    def level(self) -> str | None:
        """The level's msgid, or None."""
        return level(self.score)


async def explain(session: AsyncSession, member_id: int, *, topic: str | None = None,
                  now: datetime | None = None, best: int | None = BEST) -> Explanation:
    """The entries behind a member's score (on `topic` when given): totals by kind and the `best` entries
    (all of them with best=None)."""
    today = day_of(now or utcnow())
    member = await session.get(Member, member_id)
    terms = query_terms(topic) if topic else None
    if member is None:
        return Explanation(member_id, topic, ())
    by_kind: dict[str, tuple[int, float]] = {}
    first: int | None = None
    for _m, kind, day, count in await day_buckets(session, member.community_id, terms=terms, member_ids=[member_id],
                                                  ranked_only=False):
        if not WEIGHTS.get(kind):
            continue
        n, pts = by_kind.get(kind, (0, 0.0))
        by_kind[kind] = (n + count, pts + count * worth(kind, day, today))
        first = day if first is None else min(first, day)
    per_kind = best if best is not None else 10**9
    entries = await latest_per_kind(session, member_id, per_kind, terms=terms, kinds=list(by_kind))
    lines = sorted((_line(e, today) for e in entries if WEIGHTS.get(e.kind)),
                   key=lambda ln: (-ln.points, -ln.at.timestamp()))
    return Explanation(member_id, topic, tuple(lines[:best] if best is not None else lines), by_kind, first)


def _line(entry: Contribution, today: int) -> EvidenceLine:
    # Pulse surveys are counted, never linked: no link, no note, whatever the entry holds.
    private = entry.kind == "surveyed"
    return EvidenceLine(kind=entry.kind, at=entry.at, points=worth(entry.kind, day_of(entry.at), today),
                        topic=entry.topic or "", url="" if private else entry.evidence_url,
                        note="" if private else entry.note)


async def top_topics(session: AsyncSession, member_id: int, top: int = 5) -> list[tuple[str, int]]:
    """The terms most present in a member's entries, with their counts."""
    counts: dict[str, int] = defaultdict(int)
    for topics, n in await topic_counts(session, member_id):
        for term in topics.split():
            counts[term] += n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
