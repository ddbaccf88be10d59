"""Queries on rituals, their deliveries, meetups (RSVPs, agenda, notes), intros and explore ideas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AgendaItem,
    ExploreIdea,
    IntroPair,
    Meetup,
    MeetupHost,
    MeetupRsvp,
    Member,
    Ritual,
)
from storage.types import utcnow

LIVE = ("active", "paused")


async def get_ritual(session: AsyncSession, community_id: int, ritual_id: int) -> Ritual | None:
    """The ritual `ritual_id` if it belongs to the community."""
    ritual = await session.get(Ritual, ritual_id)
    return ritual if ritual is not None and ritual.community_id == community_id else None


async def list_rituals(session: AsyncSession, community_id: int, statuses: tuple[str, ...] = LIVE) -> list[Ritual]:
    """The community's rituals in the given states, oldest first."""
    stmt = select(Ritual).where(Ritual.community_id == community_id, col(Ritual.status).in_(statuses))
    return list((await session.exec(stmt.order_by(col(Ritual.id)))).all())


def bump(ritual: Ritual, **changes: Any) -> None:
    """Apply changes and raise the revision, so the scheduler's leader re-syncs the ritual."""
    for name, value in changes.items():
        setattr(ritual, name, value)
    ritual.revision += 1


async def rituals_to_sync(session: AsyncSession, limit: int = 500) -> list[Ritual]:
    """Rituals changed since the scheduler last saw them."""
    stmt = select(Ritual).where(col(Ritual.synced_revision) != col(Ritual.revision)).order_by(col(Ritual.id))
    return list((await session.exec(stmt.limit(limit))).all())


async def mark_synced(session: AsyncSession, ritual_id: int, revision: int) -> None:
    """Record that the scheduler holds `revision` (unless the ritual changed again meanwhile)."""
    await session.exec(update(Ritual).where(col(Ritual.id) == ritual_id, col(Ritual.revision) == revision)
                       .values(synced_revision=revision))


async def ensure_meetup(session: AsyncSession, ritual_id: int, starts_at: datetime) -> Meetup:
    """The meetup row of one occurrence the schedule has, created on first need.

    A row found skipped or dropped at that time is planned again: the schedule says it happens (a move back).
    """
    meetup = await meetup_at(session, ritual_id, starts_at)
    if meetup is None:
        meetup = Meetup(ritual_id=ritual_id, starts_at=starts_at)
        session.add(meetup)
        await session.flush()
    elif meetup.status != "planned":
        meetup.status = "planned"
    return meetup


async def meetup_at(session: AsyncSession, ritual_id: int, starts_at: datetime) -> Meetup | None:
    """The meetup row at exactly `starts_at`, whatever its status."""
    stmt = select(Meetup).where(Meetup.ritual_id == ritual_id, Meetup.starts_at == starts_at)
    return (await session.exec(stmt)).first()


async def upcoming_meetups(session: AsyncSession, ritual_id: int, after: datetime) -> list[Meetup]:
    """The planned occurrences of a ritual that have a row and start after `after`, soonest first."""
    stmt = select(Meetup).where(Meetup.ritual_id == ritual_id, Meetup.status == "planned",
                                col(Meetup.starts_at) > after)
    return list((await session.exec(stmt.order_by(col(Meetup.starts_at)))).all())


async def redate(session: AsyncSession, moves: list[tuple[Meetup, datetime | None]]) -> None:
    """Move each occurrence row to its new start (None: the schedule no longer has it, it is dropped).

    Everything attached (agenda, RSVPs, hosts, notes) follows the row. Rows are parked on distinct
    placeholder times first, so swapping two dates never trips the (ritual, start) uniqueness.
    """
    moving = [(m, at) for m, at in moves if at is not None and at != m.starts_at]
    for meetup, at in moves:
        if at is None:
            meetup.status = "dropped"
    if not moving:
        await session.flush()
        return
    for meetup, _at in moving:
        meetup.starts_at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=meetup.id or 0)
    await session.flush()
    for meetup, at in moving:
        assert at is not None
        other = await meetup_at(session, meetup.ritual_id, at)
        if other is not None:  # a skipped or dropped row held that time: the moved occurrence takes it
            await session.delete(other)
            await session.flush()
        meetup.starts_at, meetup.agenda_closed = at, False
    await session.flush()


async def move_agenda(session: AsyncSession, from_id: int, to_id: int) -> int:
    """Carry a meetup's agenda items over to another one; returns how many moved."""
    result = await session.exec(update(AgendaItem).where(col(AgendaItem.meetup_id) == from_id)
                                .values(meetup_id=to_id))
    return int(result.rowcount or 0)


async def set_hosts(session: AsyncSession, meetup_id: int, member_ids: list[int]) -> None:
    """The meetup's hosts are exactly these members."""
    await session.exec(delete(MeetupHost).where(col(MeetupHost.meetup_id) == meetup_id))
    for member_id in dict.fromkeys(member_ids):
        session.add(MeetupHost(meetup_id=meetup_id, member_id=member_id))
    await session.flush()


async def add_hosts(session: AsyncSession, meetup_id: int, member_ids: list[int]) -> None:
    """Add hosts to a meetup (those already there stay once)."""
    known = {m.id for m in await hosts_of(session, meetup_id)}
    for member_id in dict.fromkeys(member_ids):
        if member_id not in known:
            session.add(MeetupHost(meetup_id=meetup_id, member_id=member_id))
    await session.flush()


async def hosts_of(session: AsyncSession, meetup_id: int) -> list[Member]:
    """The meetup's hosts, in the order named."""
    stmt = select(Member).join(MeetupHost, col(MeetupHost.member_id) == col(Member.id)).where(
        MeetupHost.meetup_id == meetup_id).order_by(col(MeetupHost.id))
    return list((await session.exec(stmt)).all())


async def rsvps(session: AsyncSession, meetup_id: int) -> list[tuple[MeetupRsvp, Member]]:
    """Every answer to a meetup with who gave it, in the order answered."""
    stmt = select(MeetupRsvp, Member).join(Member, col(Member.id) == col(MeetupRsvp.member_id)).where(
        MeetupRsvp.meetup_id == meetup_id).order_by(col(MeetupRsvp.at), col(MeetupRsvp.id))
    return [(r, m) for r, m in (await session.exec(stmt)).all()]


async def past_meetups(session: AsyncSession, ritual_id: int, before: datetime,
                       limit: int = 12) -> list[tuple[Meetup, int, int]]:
    """The ritual's occurrences that started before `before` (held or skipped), latest first, with
    (members going, members who confirmed attending)."""
    going = func.sum(case((col(MeetupRsvp.answer) == "going", 1), else_=0))
    came = func.sum(case((col(MeetupRsvp.attended).is_(True), 1), else_=0))
    stmt = (select(Meetup, func.coalesce(going, 0), func.coalesce(came, 0))
            .outerjoin(MeetupRsvp, col(MeetupRsvp.meetup_id) == col(Meetup.id))
            .where(Meetup.ritual_id == ritual_id, col(Meetup.starts_at) <= before, Meetup.status != "dropped")
            .group_by(col(Meetup.id)).order_by(col(Meetup.starts_at).desc()).limit(limit))
    return [(m, int(g), int(a)) for m, g, a in (await session.exec(stmt)).all()]


async def stale_drafts(session: AsyncSession, before: datetime) -> list[Ritual]:
    """Drafts created before `before`, and rituals holding an edit or a dialogue (`pending`): a dry run
    never confirmed, a guided dialogue left half-way. Whether each is stale is decided by its handler."""
    stmt = select(Ritual).where((col(Ritual.status) == "draft") | col(Ritual.pending).is_not(None))
    return [r for r in (await session.exec(stmt.order_by(col(Ritual.id)))).all()
            if r.status != "draft" or r.created_at <= before]


async def latest_meetup(session: AsyncSession, ritual_id: int, before: datetime) -> Meetup | None:
    """The last planned (not skipped) meetup of a ritual that started before `before`."""
    stmt = select(Meetup).where(Meetup.ritual_id == ritual_id, col(Meetup.starts_at) <= before,
                                Meetup.status == "planned")
    return (await session.exec(stmt.order_by(col(Meetup.starts_at).desc()))).first()


async def set_rsvp(session: AsyncSession, meetup_id: int, member_id: int, answer: str) -> MeetupRsvp:
    """Record (or change) a member's answer."""
    stmt = select(MeetupRsvp).where(MeetupRsvp.meetup_id == meetup_id, MeetupRsvp.member_id == member_id)
    rsvp = (await session.exec(stmt)).first()
    if rsvp is None:
        rsvp = MeetupRsvp(meetup_id=meetup_id, member_id=member_id, answer=answer)
        session.add(rsvp)
    else:
        rsvp.answer, rsvp.at = answer, utcnow()
    await session.flush()
    return rsvp


async def rsvp_counts(session: AsyncSession, meetup_id: int) -> dict[str, int]:
    """How many answered going, maybe and no."""
    stmt = select(MeetupRsvp.answer, func.count()).where(MeetupRsvp.meetup_id == meetup_id)
    rows = (await session.exec(stmt.group_by(col(MeetupRsvp.answer)))).all()
    return {"going": 0, "maybe": 0, "no": 0} | {answer: int(n) for answer, n in rows}


async def add_agenda_item(session: AsyncSession, meetup_id: int, member_id: int, text: str) -> AgendaItem:
    """Propose a topic for the meetup."""
    item = AgendaItem(meetup_id=meetup_id, member_id=member_id, text=text)
    session.add(item)
    await session.flush()
    return item


async def agenda(session: AsyncSession, meetup_id: int) -> list[tuple[AgendaItem, Member]]:
    """The agenda items with their authors, in the order proposed."""
    stmt = select(AgendaItem, Member).join(Member, col(Member.id) == col(AgendaItem.member_id))
    stmt = stmt.where(AgendaItem.meetup_id == meetup_id).order_by(col(AgendaItem.id))
    return [(item, member) for item, member in (await session.exec(stmt)).all()]


async def attendance(session: AsyncSession, community_id: int) -> list[tuple[Meetup, int, int]]:
    """Per meetup of the community: (meetup, members going, members who confirmed attending)."""
    going = func.sum(case((col(MeetupRsvp.answer) == "going", 1), else_=0))
    came = func.sum(case((col(MeetupRsvp.attended).is_(True), 1), else_=0))
    stmt = (select(Meetup, func.coalesce(going, 0), func.coalesce(came, 0))
            .join(Ritual, col(Ritual.id) == col(Meetup.ritual_id))
            .outerjoin(MeetupRsvp, col(MeetupRsvp.meetup_id) == col(Meetup.id))
            .where(Ritual.community_id == community_id)
            .group_by(col(Meetup.id)).order_by(col(Meetup.starts_at)))
    return [(m, int(g), int(a)) for m, g, a in (await session.exec(stmt)).all()]


async def introduced_to(session: AsyncSession, member_id: int) -> set[int]:
    """Every member already introduced to `member_id`."""
    stmt = select(IntroPair).where((col(IntroPair.member_a) == member_id) | (col(IntroPair.member_b) == member_id))
    return {p.member_b if p.member_a == member_id else p.member_a for p in (await session.exec(stmt)).all()}


async def intros_since(session: AsyncSession, member_id: int, since: datetime) -> int:
    """How many introductions `member_id` took part in since `since` (to spread the load)."""
    stmt = select(func.count()).select_from(IntroPair).where(
        (col(IntroPair.member_a) == member_id) | (col(IntroPair.member_b) == member_id), col(IntroPair.at) >= since)
    return int((await session.exec(stmt)).one())


async def record_intro(session: AsyncSession, one: int, other: int) -> bool:
    """Remember an introduction; False when this pair was introduced before."""
    a, b = sorted((one, other))
    try:
        async with session.begin_nested():
            session.add(IntroPair(member_a=a, member_b=b))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def add_idea(session: AsyncSession, community_id: int, member_id: int, text: str) -> ExploreIdea:
    """Keep an answer to "what should we explore next?"."""
    idea = ExploreIdea(community_id=community_id, member_id=member_id, text=text)
    session.add(idea)
    await session.flush()
    return idea


async def undigested_ideas(session: AsyncSession, community_id: int) -> list[tuple[ExploreIdea, Member]]:
    """Ideas not yet sent to the coordinators, with their authors."""
    stmt = select(ExploreIdea, Member).join(Member, col(Member.id) == col(ExploreIdea.member_id)).where(
        ExploreIdea.community_id == community_id, col(ExploreIdea.digested_at).is_(None))
    return [(i, m) for i, m in (await session.exec(stmt.order_by(col(ExploreIdea.id)))).all()]
