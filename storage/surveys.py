"""Queries on pulse surveys. Answers are anonymous: nothing here returns one answer with its token.

Writes go through `record_answer` (one answer per token and question; a new one replaces the old);
reads are aggregates only: counts per value, the number of respondents, and free texts without any
token, in alphabetical order so their order says nothing about who answered when.

Nothing written while a survey is open says who took part: the "surveyed" contributions are written
by `seal` at closing, in one batch, from the tokens the members' salted HMACs match; the same
transaction re-keys the answers to random tokens, rewrites them in that random order, and erases the
salt. So after closing no id, time, transaction or row position of an answer depends on who gave it
or when, and participation rows hold only the closing time, in member order.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import delete, func, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Contribution, Member, Survey, SurveyAnswer
from storage.types import utcnow


def new_salt() -> str:
    """A fresh per-survey secret (32 random bytes, hex)."""
    return secrets.token_hex(32)


def answer_token(salt: str, platform: str, platform_user_id: str) -> str:
    """HMAC-SHA256(salt, "platform:user id"): the same member gets the same token within one survey only."""
    if not salt:
        raise ValueError("this survey is closed: its salt is gone")
    return hmac.new(bytes.fromhex(salt), f"{platform}:{platform_user_id}".encode(), hashlib.sha256).hexdigest()


async def has_answered(session: AsyncSession, survey_id: int, token: str) -> bool:
    """True when `token` already answered some question of the survey."""
    stmt = select(SurveyAnswer.question).where(SurveyAnswer.survey_id == survey_id, SurveyAnswer.token == token)
    return (await session.exec(stmt.limit(1))).first() is not None


async def record_answer(session: AsyncSession, survey_id: int, question: int, token: str, value: str) -> None:
    """Store an answer, replacing this token's previous answer to the same question (no double vote)."""
    values = {"survey_id": survey_id, "question": question, "token": token, "value": value[:500]}
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SurveyAnswer).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["survey_id", "question", "token"],
                                      set_={"value": stmt.excluded.value})
    await session.exec(stmt)


async def value_counts(session: AsyncSession, survey_id: int, question: int) -> dict[str, int]:
    """How many answered each value of one question."""
    stmt = select(SurveyAnswer.value, func.count()).where(SurveyAnswer.survey_id == survey_id,
                                                          SurveyAnswer.question == question)
    rows = (await session.exec(stmt.group_by(col(SurveyAnswer.value)))).all()
    return {value: int(n) for value, n in rows}


async def respondents(session: AsyncSession, survey_id: int) -> int:
    """How many people answered at least one question."""
    stmt = select(func.count(func.distinct(SurveyAnswer.token))).where(SurveyAnswer.survey_id == survey_id)
    return int((await session.exec(stmt)).one())


async def free_texts(session: AsyncSession, survey_id: int, question: int) -> list[str]:
    """The free-text answers of one question, sorted (never with their token)."""
    stmt = select(SurveyAnswer.value).where(SurveyAnswer.survey_id == survey_id, SurveyAnswer.question == question,
                                            SurveyAnswer.value != "")
    return sorted(v for v in (await session.exec(stmt)).all())


async def create_survey(session: AsyncSession, *, community_id: int, title: str, questions: str, platform: str,
                        channel: str, closes_at: datetime, remind_at: datetime | None, ritual_id: int | None = None,
                        created_by: str = "", opened_at: datetime | None = None, min_answers: int = 0) -> Survey:
    """A new open survey with a fresh salt, keeping the anonymity threshold promised to those who answer."""
    survey = Survey(community_id=community_id, ritual_id=ritual_id, title=title[:300], questions=questions,
                    platform=platform, channel=channel, salt=new_salt(), opened_at=opened_at or utcnow(),
                    remind_at=remind_at, closes_at=closes_at, created_by=created_by, min_answers=min_answers)
    session.add(survey)
    await session.flush()
    return survey


async def due_reminders(session: AsyncSession, now: datetime) -> list[Survey]:
    """Open surveys whose single reminder is due; the reminder time is cleared as it is claimed."""
    stmt = select(Survey).where(Survey.status == "open", col(Survey.remind_at).is_not(None),
                                col(Survey.remind_at) <= now, col(Survey.closes_at) > now)
    stmt = stmt.order_by(col(Survey.id)).with_for_update(skip_locked=True)
    found = list((await session.exec(stmt)).all())
    for survey in found:
        survey.remind_at = None
    return found


async def due_to_close(session: AsyncSession, now: datetime) -> list[Survey]:
    """Open surveys past their closing time (locked for this transaction on PostgreSQL)."""
    stmt = select(Survey).where(Survey.status == "open", col(Survey.closes_at) <= now).order_by(col(Survey.id))
    return list((await session.exec(stmt.with_for_update(skip_locked=True))).all())


def close(survey: Survey, now: datetime) -> None:
    """Close a survey and erase its salt: answers can no longer be linked to anyone."""
    survey.status, survey.closed_at, survey.salt, survey.remind_at = "closed", now, "", None


async def seal(session: AsyncSession, survey: Survey, now: datetime) -> int:
    """Close a survey for good: count who took part, unlink the answers, erase the salt.

    Participation is read from the answers themselves (each member's token, while the salt still
    exists) and written as "surveyed" contributions in one batch, in member id order, all at `now`.
    Then every respondent's token becomes a fresh random one and the answers are deleted and written
    again in the order of those random tokens: their PostgreSQL row position and transaction id no
    longer follow arrival, and a salt kept from while the survey was open recomputes none of them.
    Returns how many contributions were written. Opted-out, forgotten and bot members are not counted.
    """
    assert survey.id is not None
    rows = (await session.exec(select(SurveyAnswer.token, SurveyAnswer.question, SurveyAnswer.value)
                               .where(SurveyAnswer.survey_id == survey.id))).all()
    tokens = {token for token, _q, _v in rows}
    took_part: list[int] = []
    if tokens and survey.salt:
        people = select(Member.id, Member.platform, Member.platform_user_id).where(
            Member.community_id == survey.community_id, col(Member.forgotten_at).is_(None),
            col(Member.opted_out).is_(False), col(Member.is_bot).is_(False))
        took_part = sorted(mid for mid, platform, uid in (await session.exec(people)).all()
                           if mid is not None and answer_token(survey.salt, platform, uid) in tokens)
    if took_part:
        await session.exec(insert(Contribution), params=[
            {"community_id": survey.community_id, "member_id": mid, "kind": "surveyed", "at": now, "note": "",
             "evidence_url": ""} for mid in took_part])
    fresh = {token: new_salt() for token in tokens}  # 64 random hex characters, the shape of a token
    await session.exec(delete(SurveyAnswer).where(col(SurveyAnswer.survey_id) == survey.id))
    if rows:
        await session.exec(insert(SurveyAnswer), params=[
            {"survey_id": survey.id, "token": fresh[token], "question": question, "value": value}
            for token, question, value in sorted(rows, key=lambda r: (fresh[r[0]], r[1]))])
    close(survey, now)
    return len(took_part)


async def forget_open_answers(session: AsyncSession, community_id: int, platform: str, platform_user_id: str) -> int:
    """Delete a person's answers to the community's open surveys (forget me); returns how many.

    While a survey is open its salt is stored, so whoever holds the database and the person's platform
    id could still find their answers: they go. Answers to closed surveys are no one's any more and stay.
    """
    stmt = select(Survey.id, Survey.salt).where(Survey.community_id == community_id, Survey.status == "open",
                                                Survey.salt != "")
    gone = 0
    for survey_id, salt in (await session.exec(stmt)).all():
        result = await session.exec(delete(SurveyAnswer).where(
            col(SurveyAnswer.survey_id) == survey_id,
            col(SurveyAnswer.token) == answer_token(salt, platform, platform_user_id)))
        gone += int(result.rowcount or 0)
    return gone


async def previous_run(session: AsyncSession, survey: Survey) -> Survey | None:
    """The last closed run of the same survey (same ritual, else same title) before this one."""
    same = [col(Survey.ritual_id) == survey.ritual_id] if survey.ritual_id is not None else [
        col(Survey.title) == survey.title, col(Survey.ritual_id).is_(None)]
    stmt = select(Survey).where(Survey.community_id == survey.community_id, Survey.status == "closed", *same,
                                col(Survey.id) != survey.id, col(Survey.opened_at) < survey.opened_at)
    return (await session.exec(stmt.order_by(col(Survey.opened_at).desc()).limit(1))).first()


async def closed_between(session: AsyncSession, community_id: int, start: datetime, end: datetime) -> list[Survey]:
    """Surveys of a community closed in [start, end), oldest first."""
    stmt = select(Survey).where(Survey.community_id == community_id, Survey.status == "closed",
                                col(Survey.closed_at) >= start, col(Survey.closed_at) < end)
    return list((await session.exec(stmt.order_by(col(Survey.closed_at)))).all())


async def open_surveys(session: AsyncSession, community_id: int) -> list[Survey]:
    """The community's open surveys, newest first."""
    stmt = select(Survey).where(Survey.community_id == community_id, Survey.status == "open")
    return list((await session.exec(stmt.order_by(col(Survey.id).desc()))).all())


async def mark_posted(session: AsyncSession, survey_id: int, message_id: str | None) -> None:
    """Remember the platform message that opened the survey (its thread hosts the reminder)."""
    await session.exec(update(Survey).where(col(Survey.id) == survey_id).values(message_id=message_id))


async def closed_surveys(session: AsyncSession, community_id: int, limit: int = 10) -> list[Survey]:
    """The community's latest closed surveys, newest first."""
    stmt = select(Survey).where(Survey.community_id == community_id, Survey.status == "closed")
    return list((await session.exec(stmt.order_by(col(Survey.closed_at).desc(), col(Survey.id).desc())
                                    .limit(limit))).all())
