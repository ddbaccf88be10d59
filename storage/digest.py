"""Set-based figures for the sponsor digest: a handful of indexed range queries per month.

Every query is bounded by (community, month) and runs on `ix_message_posted` (community_id, posted_at,
author_id) or `ix_message_author_posted` (author_id, posted_at), so a month of a 1,000,000-message
community costs tens of milliseconds, not a scan of its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Executable, Result, Table, and_, exists, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Channel, Contribution, Meetup, MeetupRsvp, Member, Message, Question, Reaction, Ritual

THANKS = ("pray", "+1", "white_check_mark", "heavy_check_mark", "raised_hands", "heart", "tada", "clap", "100")


@dataclass(frozen=True)
class Story:
    """A much-thanked message of the month."""

    message_id: int
    author_id: int
    channel: str  # platform channel id
    platform_message_id: str
    text: str
    thanks: int


def _t(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


MESSAGE, MEMBER, CONTRIBUTION = _t(Message), _t(Member), _t(Contribution)
REACTION, CHANNEL, QUESTION = _t(Reaction), _t(Channel), _t(Question)
MEETUP, RSVP, RITUAL = _t(Meetup), _t(MeetupRsvp), _t(Ritual)


async def _run(session: AsyncSession, stmt: Executable) -> Result[*tuple[Any, ...]]:
    """Core statements run on the session's connection (same transaction, no ORM layer)."""
    return await (await session.connection()).execute(stmt)


run = _run


def _in(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


async def bot_ids(session: AsyncSession, community_id: int) -> set[int]:
    """Members that are bots (left out of every people count)."""
    stmt = select(MEMBER.c.id).where(MEMBER.c.community_id == community_id, MEMBER.c.is_bot.is_(True))
    return {int(i) for i in (await _run(session, stmt)).scalars()}


async def messages_by_author(session: AsyncSession, community_id: int, start: datetime,
                             end: datetime) -> dict[int, int]:
    """Messages per author in [start, end)."""
    m = MESSAGE.c
    stmt = (select(m.author_id, func.count()).where(m.community_id == community_id, _in(m.posted_at, start, end))
            .group_by(m.author_id))
    return {int(a): int(n) for a, n in (await _run(session, stmt)).all()}


async def contributions_by_member(session: AsyncSession, community_id: int, start: datetime,
                                  end: datetime) -> dict[int, int]:
    """Contributions (answers, accepted answers, surveys taken…) per member in [start, end)."""
    c = CONTRIBUTION.c
    stmt = (select(c.member_id, func.count()).where(c.community_id == community_id, _in(c.at, start, end))
            .group_by(c.member_id))
    return {int(a): int(n) for a, n in (await _run(session, stmt)).all()}


async def newcomers(session: AsyncSession, community_id: int, start: datetime, end: datetime) -> set[int]:
    """Members who joined in [start, end) or wrote their first message then."""
    m, earlier = MESSAGE.c, MESSAGE.alias("earlier").c
    authors = (select(m.author_id).where(m.community_id == community_id, _in(m.posted_at, start, end))
               .distinct().subquery())
    first = select(authors.c.author_id).where(~exists().where(earlier.author_id == authors.c.author_id,
                                                              earlier.posted_at < start))
    joined = select(MEMBER.c.id).where(MEMBER.c.community_id == community_id, _in(MEMBER.c.joined_at, start, end))
    found = {int(i) for i in (await _run(session, first)).scalars()}
    return found | {int(i) for i in (await _run(session, joined)).scalars()}


async def question_threads(session: AsyncSession, community_id: int, start: datetime,
                           end: datetime) -> list[tuple[datetime, datetime | None]]:
    """Thread roots of the month ending with "?": (asked at, first answer by someone else or None)."""
    m, reply = MESSAGE.c, MESSAGE.alias("reply").c
    first_answer = (select(func.min(reply.posted_at)).where(
        reply.community_id == m.community_id, reply.thread_id == m.platform_id, reply.channel_id == m.channel_id,
        reply.author_id != m.author_id).scalar_subquery())
    stmt = select(m.posted_at, first_answer).where(
        m.community_id == community_id, _in(m.posted_at, start, end), m.thread_id.is_(None),
        func.rtrim(m.text).like("%?"))
    return [(asked, _aware(answered)) for asked, answered in (await _run(session, stmt)).all()]


def _aware(value: datetime | str | None) -> datetime | None:
    # A scalar subquery loses the column type: SQLite hands back text, PostgreSQL a naive datetime.
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def routed_questions(session: AsyncSession, community_id: int, start: datetime,
                           end: datetime) -> tuple[int, int]:
    """Routed `who knows` questions asked in [start, end), and how many found an answer."""
    qc = QUESTION.c
    stmt = select(func.count(), func.count(qc.answered_at)).where(qc.community_id == community_id,
                                                                   _in(qc.asked_at, start, end))
    asked, found = (await _run(session, stmt)).one()
    return int(asked), int(found or 0)


async def meetups(session: AsyncSession, community_id: int, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Meetups held in [start, end): (title, members who confirmed attending); skipped ones are not listed."""
    mt, r, rv = MEETUP.c, RITUAL.c, RSVP.c
    came = func.count(rv.id).filter(rv.attended.is_(True))
    stmt = (select(r.title, came).select_from(MEETUP.join(RITUAL, r.id == mt.ritual_id)
                                              .outerjoin(RSVP, rv.meetup_id == mt.id))
            .where(r.community_id == community_id, _in(mt.starts_at, start, end), mt.status == "planned")
            .group_by(mt.id, r.title, mt.starts_at).order_by(mt.starts_at))
    return [(str(t), int(n)) for t, n in (await _run(session, stmt)).all()]


async def stories(session: AsyncSession, community_id: int, start: datetime, end: datetime,
                  limit: int = 3) -> list[Story]:
    """The month's most-thanked messages: thanks reactions plus accepted/thanked contributions on them."""
    m, rc, c, ch = MESSAGE.c, REACTION.c, CONTRIBUTION.c, CHANNEL.c
    reactions = (select(rc.message_id.label("mid"), func.count().label("n"))
                 .select_from(REACTION.join(MESSAGE, m.id == rc.message_id))
                 .where(m.community_id == community_id, _in(m.posted_at, start, end), rc.emoji.in_(THANKS))
                 .group_by(rc.message_id))
    credits = (select(c.message_id.label("mid"), func.count().label("n"))
               .where(c.community_id == community_id, _in(c.at, start, end), c.kind.in_(("accepted", "thanked")),
                      c.message_id.is_not(None)).group_by(c.message_id))
    both = reactions.union_all(credits).subquery()
    score = func.sum(both.c.n)
    top = select(both.c.mid, score.label("score")).group_by(both.c.mid).order_by(score.desc(), both.c.mid)
    top_q = top.limit(limit).subquery()
    stmt = (select(m.id, m.author_id, ch.platform_id, m.platform_id, m.text, top_q.c.score)
            .select_from(MESSAGE.join(top_q, top_q.c.mid == m.id).join(CHANNEL, ch.id == m.channel_id))
            .order_by(top_q.c.score.desc(), m.id))
    return [Story(int(i), int(a), str(cid), str(p), str(t), int(s)) for i, a, cid, p, t, s in
            (await _run(session, stmt)).all()]
