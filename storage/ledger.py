"""The contribution ledger: recording entries once, and the reads reputation and exports need.

Every entry has a `key` naming the thing it counts, so live events, re-imports and replays never
count it twice (`INSERT … ON CONFLICT DO NOTHING`):

    answered:<member>:<thread root platform id>     once per thread per member
    accepted:<member>:<answer platform id>          the root author's ✅ on that answer
    shared:<member>:<message platform id>           a link with a comment
    welcomed:<member>:<newcomer member id>          a reply to a newcomer's first message
    hosted:<member>:<meetup id>                     hosted or presented at a meetup
    thanked:<member>:<giver>:<source>               a kudos (source: the thanks message, or r:<message>)
    surveyed                                        no key: written at a survey's closing (storage/surveys.py)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Table, case, cast, false, func, literal, or_, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Contribution, Member
from storage.types import utcnow

KINDS = ("answered", "accepted", "thanked", "shared", "hosted", "welcomed", "surveyed")


def _table() -> Table:
    table = Contribution.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


async def record(session: AsyncSession, *, community_id: int, member_id: int, kind: str, key: str | None,
                 at: datetime | None = None, topic: str | None = None, message_id: int | None = None,
                 evidence_url: str = "", note: str = "", giver_id: int | None = None) -> bool:
    """Add one ledger entry unless its key is already there; True when it was added."""
    values = {"community_id": community_id, "member_id": member_id, "kind": kind, "key": key,
              "at": at or utcnow(), "topic": topic, "message_id": message_id,
              "evidence_url": evidence_url[:500], "note": note[:500], "giver_id": giver_id}
    conn = await session.connection()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_table()).values(values).on_conflict_do_nothing()
    result = await session.exec(stmt)
    return bool(result.rowcount)


async def count_of(session: AsyncSession, member_id: int, kind: str) -> int:
    """How many entries of one kind a member has (e.g. surveys answered, shown to the member alone)."""
    stmt = select(func.count()).select_from(Contribution).where(col(Contribution.member_id) == member_id,
                                                                col(Contribution.kind) == kind)
    return int((await session.exec(stmt)).one())


async def kudos_since(session: AsyncSession, giver_id: int, member_id: int, since: datetime) -> bool:
    """True when `giver_id` already thanked `member_id` after `since` (anti-gaming window)."""
    stmt = select(func.count()).select_from(Contribution).where(
        col(Contribution.giver_id) == giver_id, col(Contribution.member_id) == member_id,
        col(Contribution.kind) == "thanked", col(Contribution.at) >= since)
    return int((await session.exec(stmt)).one()) > 0


async def kudos_given_since(session: AsyncSession, giver_id: int, since: datetime) -> int:
    """How many kudos `giver_id` gave after `since` (each one was a DM to the person thanked)."""
    stmt = select(func.count()).select_from(Contribution).where(
        col(Contribution.giver_id) == giver_id, col(Contribution.kind) == "thanked", col(Contribution.at) >= since)
    return int((await session.exec(stmt)).one())


def day_number(conn_dialect: str) -> ColumnElement[int]:
    """SQL for the entry's day (days since 1970-01-01, UTC): decay is counted in whole days."""
    at = col(Contribution.at)
    if conn_dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", at) / 86400), Integer)
    return cast(func.julianday(at) - 2440587.5, Integer)


def topic_filter(terms: Sequence[str]) -> ColumnElement[bool]:
    """Entries whose topics (space-separated terms) hold any of `terms`."""
    if not terms:
        return false()
    padded = literal(" ").concat(func.coalesce(col(Contribution.topic), "")).concat(" ")
    return or_(*(padded.like(f"% {t} %") for t in terms))


async def day_buckets(session: AsyncSession, community_id: int, *, terms: Sequence[str] | None = None,
                      member_ids: Sequence[int] | None = None,
                      ranked_only: bool = True) -> list[tuple[int, str, int, int]]:
    """(member id, kind, day, entries) for a community; `ranked_only`: not opted out, not bots."""
    conn = await session.connection()
    day = day_number(conn.dialect.name)
    stmt = (select(col(Contribution.member_id), col(Contribution.kind), day, func.count())
            .group_by(col(Contribution.member_id), col(Contribution.kind), day))
    if ranked_only:  # only then is the member row needed (a join costs on a prolific member's entries)
        stmt = stmt.join(Member, col(Member.id) == col(Contribution.member_id))
    if member_ids is None:  # member ids belong to one community: filtering on them uses their index
        stmt = stmt.where(col(Contribution.community_id) == community_id)
    if ranked_only:
        stmt = stmt.where(col(Member.opted_out).is_(False), col(Member.is_bot).is_(False))
    if terms is not None:
        stmt = stmt.where(topic_filter(terms))
    if member_ids is not None:
        stmt = stmt.where(col(Contribution.member_id).in_(list(member_ids)))
    return [(int(m), str(k), int(d), int(n)) for m, k, d, n in (await session.exec(stmt)).all()]


_POWER: dict[str, bool] = {}  # dialect → has power() (SQLite builds without math functions lack it)


async def _has_power(session: AsyncSession) -> bool:
    conn = await session.connection()
    name = conn.dialect.name
    if name not in _POWER:
        try:
            async with session.begin_nested():
                await session.exec(text("SELECT power(0.5, 1.0)"))  # type: ignore[call-overload]
            _POWER[name] = True
        except Exception:  # OperationalError "no such function": fall back to day buckets
            _POWER[name] = False
    return _POWER[name]


async def decayed_scores(session: AsyncSession, community_id: int, *, weights: dict[str, float],
                         half_life: float, today: int, terms: Sequence[str] | None = None,
                         member_ids: Sequence[int] | None = None) -> dict[int, float] | None:
    """Member id → Σ weight × 0.5^(age in days / half_life), summed in SQL (ranked members only).

    None when the database has no power() function; callers then sum `day_buckets` themselves.
    """
    if not await _has_power(session):
        return None
    conn = await session.connection()
    day = day_number(conn.dialect.name)
    age = case((day > today, 0), else_=today - day)
    weight = case(*((col(Contribution.kind) == kind, w) for kind, w in weights.items()), else_=0.0)
    points = func.sum(weight * func.power(0.5, cast(age, Float) / half_life))
    stmt = (select(col(Contribution.member_id), points)
            .join(Member, col(Member.id) == col(Contribution.member_id))
            .where(col(Contribution.community_id) == community_id, col(Member.opted_out).is_(False),
                   col(Member.is_bot).is_(False))
            .group_by(col(Contribution.member_id)))
    if terms is not None:
        stmt = stmt.where(topic_filter(terms))
    if member_ids is not None:
        stmt = stmt.where(col(Contribution.member_id).in_(list(member_ids)))
    return {int(m): float(p or 0.0) for m, p in (await session.exec(stmt)).all()}


async def latest_per_kind(session: AsyncSession, member_id: int, per_kind: int, *,
                          terms: Sequence[str] | None = None, kinds: Sequence[str] | None = None) -> list[Contribution]:
    """A member's `per_kind` most recent entries of each kind (the best ones are among them).

    One short indexed query per kind (member_id, kind, at): a window function over all of a prolific
    member's entries costs more than the whole explanation may take.
    """
    if kinds is None:
        found = await session.exec(select(col(Contribution.kind)).where(
            col(Contribution.member_id) == member_id).distinct())
        kinds = list(found.all())
    out: list[Contribution] = []
    for kind in kinds:
        stmt: Any = (select(Contribution)
                     .where(col(Contribution.member_id) == member_id, col(Contribution.kind) == kind)
                     .order_by(col(Contribution.at).desc(), col(Contribution.id).desc()).limit(per_kind))
        if terms is not None:
            stmt = stmt.where(topic_filter(terms))
        out += list((await session.exec(stmt)).all())
    return out


async def topic_counts(session: AsyncSession, member_id: int) -> list[tuple[str, int]]:
    """(topics, entries) of a member's ledger, grouped in SQL."""
    stmt = (select(col(Contribution.topic), func.count()).where(col(Contribution.member_id) == member_id)
            .group_by(col(Contribution.topic)))
    return [(t or "", int(n)) for t, n in (await session.exec(stmt)).all()]


async def entries_of(session: AsyncSession, member_id: int, *, terms: Sequence[str] | None = None,
                     since: datetime | None = None) -> list[Contribution]:
    """A member's ledger entries, newest first (with `terms`, only those on these topics)."""
    stmt = select(Contribution).where(col(Contribution.member_id) == member_id)
    if terms is not None:
        stmt = stmt.where(topic_filter(terms))
    if since is not None:
        stmt = stmt.where(col(Contribution.at) >= since)
    stmt = stmt.order_by(col(Contribution.at).desc(), col(Contribution.id).desc())
    return list((await session.exec(stmt)).all())


async def community_entries(session: AsyncSession, community_id: int, *, since: datetime | None = None,
                            member_id: int | None = None) -> list[tuple[Contribution, Member]]:
    """Entries of a community with their member (for exports), oldest first; forgotten members excluded,
    and survey participation too (it is the member's own business, not a performance review's)."""
    stmt = (select(Contribution, Member).join(Member, col(Member.id) == col(Contribution.member_id))
            .where(col(Contribution.community_id) == community_id, col(Member.forgotten_at).is_(None),
                   col(Contribution.kind) != "surveyed"))
    if since is not None:
        stmt = stmt.where(col(Contribution.at) >= since)
    if member_id is not None:
        stmt = stmt.where(col(Contribution.member_id) == member_id)
    stmt = stmt.order_by(col(Contribution.at), col(Contribution.id))
    return [(c, m) for c, m in (await session.exec(stmt)).all()]
