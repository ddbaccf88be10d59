"""Reputation computed from the ledger: per member, per topic, with decay, and explained entry by entry.

The community-wide computation groups the ledger by (member, kind, day) in SQL and applies the decay
in Python (one row per member and day rather than per entry); an explanation reads one member's
entries. Both count age in whole UTC days, so an explanation's entries always add up to the score.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.reputation.topics import query_terms
from bot.reputation.weights import WEIGHTS, level, worth
from storage.ledger import day_buckets, entries_of
from storage.models import Contribution
from storage.types import utcnow


def day_of(at: datetime) -> int:
    """Days since 1970-01-01 (UTC) of a moment, as the SQL side counts them."""
    return int(at.timestamp() // 86400)


async def reputation(session: AsyncSession, community_id: int, *, topic: str | None = None,
                     member_ids: list[int] | None = None, now: datetime | None = None) -> dict[int, float]:
    """Member id → score (on `topic` when given) for ranked members: opted-out members and bots get none."""
    today = day_of(now or utcnow())
    terms = query_terms(topic) if topic else None
    scores: dict[int, float] = defaultdict(float)
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
    """A member's score and every entry behind it (best first): `score == sum(line.points)`."""

    member_id: int
    topic: str | None
    lines: tuple[EvidenceLine, ...]
    by_kind: dict[str, tuple[int, float]] = field(default_factory=dict)  # kind → (entries, points)

    @property
    def score(self) -> float:
        """The member's score: the sum of the listed entries."""
        return sum(line.points for line in self.lines)

    @property
    def level(self) -> str | None:
        """The level's msgid, or None."""
        return level(self.score)


async def explain(session: AsyncSession, member_id: int, *, topic: str | None = None,
                  now: datetime | None = None) -> Explanation:
    """Every entry behind a member's score (on `topic` when given), with its worth today."""
    today = day_of(now or utcnow())
    entries = await entries_of(session, member_id, terms=query_terms(topic) if topic else None)
    lines = sorted((_line(e, today) for e in entries if WEIGHTS.get(e.kind)), key=lambda ln: (-ln.points,
                                                                                              -ln.at.timestamp()))
    by_kind: dict[str, tuple[int, float]] = {}
    for line in lines:
        n, pts = by_kind.get(line.kind, (0, 0.0))
        by_kind[line.kind] = (n + 1, pts + line.points)
    return Explanation(member_id, topic, tuple(lines), by_kind)


def _line(entry: Contribution, today: int) -> EvidenceLine:
    # Pulse surveys are counted, never linked: no link, no note, whatever the entry holds.
    private = entry.kind == "surveyed"
    return EvidenceLine(kind=entry.kind, at=entry.at, points=worth(entry.kind, day_of(entry.at), today),
                        topic=entry.topic or "", url="" if private else entry.evidence_url,
                        note="" if private else entry.note)


async def top_topics(session: AsyncSession, member_id: int, top: int = 5) -> list[tuple[str, int]]:
    """The terms most present in a member's entries, with their counts."""
    counts: dict[str, int] = defaultdict(int)
    for entry in await entries_of(session, member_id):
        for term in (entry.topic or "").split():
            counts[term] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
