"""Set-based figures for the sponsor digest: a handful of indexed range queries per month.

Every query is bounded by (community, month) and runs on `ix_message_posted` (community_id, posted_at,
author_id) or `ix_message_author_posted` (author_id, posted_at) — the thanks by reaction on `ix_reaction_at` —
so a month of a 1,000,000-message
community costs tens of milliseconds, not a scan of its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Result,
    Select,
    Subquery,
    Table,
    and_,
    case,
    exists,
    func,
    null,
    select,
    union,
)
from sqlalchemy import cast as sql_cast
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Channel, Contribution, Meetup, MeetupRsvp, Member, Message, Question, Reaction, Ritual

THANKS = ("pray", "+1", "white_check_mark", "heavy_check_mark", "raised_hands", "heart", "tada", "clap", "100")


@dataclass(frozen=True)
class Story:
    """A much-thanked message of the month, with the question it answered when it sits in a thread."""

    message_id: int
    author_id: int
    platform: str
    channel: str  # platform channel id
    channel_name: str
    platform_message_id: str
    thread_id: str | None  # the thread root's platform id, for a reply
    text: str
    thanks: int  # people who thanked it, each once
    root_author_id: int | None = None  # the thread root's author and words, when the root is stored
    root_text: str | None = None


@dataclass(frozen=True)
class MeetupHeld:
    """One meetup of the month: when, and how many came (confirmed) or said they would."""

    meetup_id: int
    title: str
    starts_at: datetime
    timezone: str
    exdates: str  # the ritual's skipped local dates, comma-separated
    attended: int
    going: int


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
    stmt = question_threads_statement(community_id, start, end)
    return [(asked, _aware(answered)) for asked, answered in (await _run(session, stmt)).all()]


def question_threads_statement(community_id: int, start: datetime, end: datetime) -> Select[Any]:
    """The statement behind `question_threads` (tests read its plan)."""
    m, reply = MESSAGE.c, MESSAGE.alias("reply").c
    # min() over an expression, not the bare column: without planner statistics SQLite would answer a bare
    # min(posted_at) by walking ix_message_posted from the community's first message for every question
    # (minutes at a million messages) instead of looking the thread up in ix_message_thread.
    first_answer = (select(func.min(func.coalesce(reply.posted_at, reply.posted_at))).where(
        reply.community_id == m.community_id, reply.thread_id == m.platform_id, reply.channel_id == m.channel_id,
        reply.author_id != m.author_id).scalar_subquery())
    return select(m.posted_at, first_answer).where(
        m.community_id == community_id, _in(m.posted_at, start, end), m.thread_id.is_(None),
        func.rtrim(m.text).like("%?"))


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


async def meetups(session: AsyncSession, community_id: int, start: datetime, end: datetime) -> list[MeetupHeld]:
    """Meetups starting in [start, end), oldest first, with who confirmed attending and who said they would come;
    skipped ones are not listed."""
    mt, r, rv = MEETUP.c, RITUAL.c, RSVP.c
    came = func.count(rv.id).filter(rv.attended.is_(True))
    going = func.count(rv.id).filter(rv.answer == "going")
    stmt = (select(mt.id, r.title, mt.starts_at, r.timezone, r.exdates, came, going)
            .select_from(MEETUP.join(RITUAL, r.id == mt.ritual_id).outerjoin(RSVP, rv.meetup_id == mt.id))
            .where(r.community_id == community_id, _in(mt.starts_at, start, end), mt.status == "planned")
            .group_by(mt.id, r.title, mt.starts_at, r.timezone, r.exdates).order_by(mt.starts_at, mt.id))
    return [MeetupHeld(int(i), str(t), _aware(at) or start, str(tz), str(ex or ""), int(n), int(g))
            for i, t, at, tz, ex, n, g in (await _run(session, stmt)).all()]


def thanks(community_id: int, start: datetime, end: datetime, reactions: tuple[str, ...] = THANKS) -> Subquery:
    """Who thanked whom in [start, end), one row each (`mid`, `kid`, `who`, `whom`): the one definition of a thanks.

    A message's thanks are the people who thanked it, each once however they did: a thanks reaction, a kudos on
    it (a 🙏 is both a reaction and a kudos: one thanks), or its thread's asker accepting it; nobody thanks their
    own message by reaction. A kudos on no message (`thanks @ana for …` said in words) is one thanks of its own
    (`kid`, its ledger entry; `mid` is None). A thanks counts in the month it was *given*, whichever way: a 🙏
    put on a message of last month is one thanks of this month (an import gives a reaction its message's time,
    as Slack exports carry none, and its kudos the same)."""
    m, rc, c = MESSAGE.c, REACTION.c, CONTRIBUTION.c
    answer_t, root = MESSAGE.alias("answer"), MESSAGE.alias("root")
    answer = answer_t.c
    nothing = cast_null()
    by_reaction = (select(rc.message_id.label("mid"), nothing.label("kid"), rc.member_id.label("who"),
                          m.author_id.label("whom"))
                   .select_from(REACTION.join(MESSAGE, m.id == rc.message_id))
                   .where(m.community_id == community_id, _in(rc.at, start, end), rc.emoji.in_(reactions),
                          rc.member_id != m.author_id))
    by_kudos = (select(c.message_id, nothing, c.giver_id, c.member_id)
                .where(c.community_id == community_id, _in(c.at, start, end), c.kind == "thanked",
                       c.message_id.is_not(None), c.giver_id.is_not(None)))
    by_accepting = (select(c.message_id, nothing, root.c.author_id, c.member_id)
                    .select_from(CONTRIBUTION.join(answer_t, answer.id == c.message_id)
                                 .join(root, and_(root.c.community_id == answer.community_id,
                                                  root.c.channel_id == answer.channel_id,
                                                  root.c.platform_id == answer.thread_id)))
                    .where(c.community_id == community_id, _in(c.at, start, end), c.kind == "accepted"))
    in_words = (select(nothing, c.id, c.giver_id, c.member_id)
                .where(c.community_id == community_id, _in(c.at, start, end), c.kind == "thanked",
                       c.message_id.is_(None), c.giver_id.is_not(None)))
    return union(by_reaction, by_kudos, by_accepting, in_words).subquery("thanks")  # UNION: each thanks once


def cast_null() -> ColumnElement[Any]:
    """A NULL id, typed (PostgreSQL matches a UNION's column types)."""
    return sql_cast(null(), Integer)


async def thanks_by_team(session: AsyncSession, community_id: int, start: datetime, end: datetime, *,
                         reactions: tuple[str, ...] = THANKS) -> dict[tuple[str | None, str | None], int]:
    """The month's thanks (`thanks`) between people (no bot, nobody thanking themselves), counted by (giver's
    team, receiver's team); None where a person has no team or opted out."""
    t = thanks(community_id, start, end, reactions)
    giver, receiver = MEMBER.alias("giver"), MEMBER.alias("receiver")
    g, r = giver.c, receiver.c
    gt, rt = _team_of(g), _team_of(r)
    stmt = (select(gt, rt, func.count())
            .select_from(t.join(giver, g.id == t.c.who).join(receiver, r.id == t.c.whom))
            .where(t.c.who != t.c.whom, g.is_bot.is_(False), r.is_bot.is_(False))
            .group_by(gt, rt))
    return {(gt, rt): int(n) for gt, rt, n in (await _run(session, stmt)).all()}


def _team_of(member: Any) -> ColumnElement[Any]:
    return case((member.opted_out.is_(False), member.team), else_=None)


async def stories(session: AsyncSession, community_id: int, start: datetime, end: datetime, *,
                  reactions: tuple[str, ...] = THANKS, leave_out: set[int] | None = None,
                  limit: int = 3) -> list[Story]:
    """The month's most-thanked messages: a message's thanks are the people who thanked it, each once however
    they did (`thanks`); `leave_out` (the bots) thank nobody."""
    m, ch = MESSAGE.c, CHANNEL.c
    every = thanks(community_id, start, end, reactions)
    pairs = select(every.c.mid, every.c.who).where(every.c.mid.is_not(None)).distinct().subquery()
    score = func.count()
    top = select(pairs.c.mid, score.label("score"))
    if leave_out:
        top = top.where(pairs.c.who.not_in(sorted(leave_out)))
    top_q = top.group_by(pairs.c.mid).order_by(score.desc(), pairs.c.mid).limit(limit).subquery()
    stmt = (select(m.id, m.author_id, ch.platform, ch.platform_id, ch.name, m.platform_id, m.thread_id, m.channel_id,
                   m.text, top_q.c.score)
            .select_from(MESSAGE.join(top_q, top_q.c.mid == m.id).join(CHANNEL, ch.id == m.channel_id))
            .order_by(top_q.c.score.desc(), m.id))
    rows = (await _run(session, stmt)).all()
    roots: dict[tuple[int, str], tuple[int, str]] = {}
    for channel_id, thread in {(int(r[7]), str(r[6])) for r in rows if r[6]}:
        found = (await _run(session, select(m.author_id, m.text).where(
            m.community_id == community_id, m.channel_id == channel_id, m.platform_id == thread))).first()
        if found is not None:
            roots[(channel_id, thread)] = (int(found[0]), str(found[1]))
    out = []
    for i, a, platform, cid, name, p, thread, channel_id, t, score_ in rows:
        known = roots.get((int(channel_id), str(thread))) if thread else None
        out.append(Story(int(i), int(a), str(platform), str(cid), str(name or ""), str(p),
                         str(thread) if thread else None, str(t), int(score_),
                         known[0] if known else None, known[1] if known else None))
    return out
