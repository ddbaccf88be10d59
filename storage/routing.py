"""Queries on routed questions and the requests made to experts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Channel, Member, Message, Question, RoutingRequest
from storage.outbox import message_of

# The tag of the post a DM question became in a channel: its thread is known once the post is sent.
POSTED = "question:"
FOLLOWED = ("ask", "post")  # the asker's choices after which a question is followed up
UNSOLVED = ("open", "answered", "escalated")


async def _resolve_posted(session: AsyncSession, questions: Sequence[Question]) -> None:
    """Give posted questions whose post has been sent their thread (once; then plain lookups find them)."""
    for question in questions:
        if question.thread == "" and question.id is not None:
            sent = await message_of(session, f"{POSTED}{question.id}")
            if sent is not None:
                question.thread = sent[2]


async def resolve_thread(session: AsyncSession, question: Question) -> Question:
    """The question, with its thread if it was posted for its asker and the post is out."""
    await _resolve_posted(session, [question])
    return question


async def open_question_in_thread(session: AsyncSession, platform: str, channel: str,
                                  thread: str) -> Question | None:
    """The routed question living in this thread and not solved yet, if any."""
    stmt = select(Question).where(Question.platform == platform, Question.channel == channel,
                                  or_(col(Question.thread) == thread, col(Question.thread) == ""),
                                  col(Question.status).in_(UNSOLVED))
    found = list((await session.exec(stmt)).all())
    await _resolve_posted(session, found)
    return next((q for q in found if q.thread == thread), None)


async def question_in_thread(session: AsyncSession, platform: str, channel: str, thread: str) -> Question | None:
    """The latest routed question of this thread, whatever its status."""
    stmt = (select(Question).where(Question.platform == platform, Question.channel == channel,
                                   or_(col(Question.thread) == thread, col(Question.thread) == ""))
            .order_by(col(Question.id).desc()))
    found = list((await session.exec(stmt)).all())
    await _resolve_posted(session, found)
    return next((q for q in found if q.thread == thread), None)


async def due_questions(session: AsyncSession, now: datetime, limit: int = 200) -> list[Question]:
    """Open questions whose asker chose to ask and whose next escalation step is due."""
    stmt = (select(Question).where(col(Question.status) == "open", col(Question.next_step_at) <= now,
                                   col(Question.choice).in_(FOLLOWED))
            .order_by(col(Question.next_step_at)).limit(limit))
    return list((await session.exec(stmt)).all())


async def questions_of(session: AsyncSession, asker_id: int, *, unsolved: bool = False,
                       limit: int = 10) -> list[Question]:
    """A member's questions, newest first (only those not solved yet with `unsolved`)."""
    stmt = select(Question).where(Question.asker_id == asker_id)
    if unsolved:
        stmt = stmt.where(col(Question.status).in_(UNSOLVED))
    stmt = stmt.order_by(col(Question.asked_at).desc(), col(Question.id).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


async def unanswered(session: AsyncSession, community_id: int, limit: int = 20) -> list[Question]:
    """The community's followed questions nobody answered yet, oldest first."""
    stmt = (select(Question).where(Question.community_id == community_id,
                                   col(Question.status).in_(("open", "escalated")),
                                   col(Question.choice).in_(FOLLOWED))
            .order_by(col(Question.asked_at), col(Question.id)).limit(limit))
    return list((await session.exec(stmt)).all())


async def answered_questions(session: AsyncSession, community_id: int, words: Sequence[str],
                             limit: int = 200) -> list[Question]:
    """Answered or solved questions asked in a channel (not kept in DMs) holding any of `words`."""
    if not words:
        return []
    stmt = (select(Question).join(Member, col(Member.id) == col(Question.asker_id))
            .where(Question.community_id == community_id, col(Question.status).in_(("answered", "solved")),
                   col(Question.is_direct).is_(False), col(Question.thread) != "", col(Member.opted_out).is_(False),
                   or_(*(col(Question.text).ilike(f"%{_like(w)}%", escape="\\") for w in words)))
            .order_by(col(Question.asked_at).desc()).limit(limit))
    return list((await session.exec(stmt)).all())


def _like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def asked_names(session: AsyncSession, question_ids: Sequence[int]) -> dict[int, list[str]]:
    """Question id → the names of the members asked about it, in order."""
    if not question_ids:
        return {}
    stmt = (select(RoutingRequest.question_id, Member.display_name, Member.platform_user_id)
            .join(Member, col(Member.id) == col(RoutingRequest.member_id))
            .where(col(RoutingRequest.question_id).in_(question_ids), col(RoutingRequest.status) == "asked")
            .order_by(col(RoutingRequest.id)))
    names: dict[int, list[str]] = {}
    for qid, display, uid in (await session.exec(stmt)).all():
        names.setdefault(qid, []).append(display or uid)
    return names


async def asked_of(session: AsyncSession, member_id: int, limit: int = 5) -> list[tuple[RoutingRequest, Question]]:
    """The questions a member was actually asked about (not merely suggested), latest first."""
    stmt = (select(RoutingRequest, Question).join(Question, col(Question.id) == col(RoutingRequest.question_id))
            .where(RoutingRequest.member_id == member_id, col(RoutingRequest.status) == "asked")
            .order_by(col(RoutingRequest.at).desc(), col(RoutingRequest.id).desc()).limit(limit))
    return [(r, q) for r, q in (await session.exec(stmt)).all()]


async def requests_for(session: AsyncSession, question_id: int) -> list[RoutingRequest]:
    """Everyone suggested or asked for a question, in order."""
    stmt = select(RoutingRequest).where(RoutingRequest.question_id == question_id).order_by(col(RoutingRequest.id))
    return list((await session.exec(stmt)).all())


async def thread_roots(session: AsyncSession, community_id: int,
                       ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Platform message id → (platform channel id, text) for these messages."""
    if not ids:
        return {}
    stmt = (select(Message.platform_id, Channel.platform_id, Message.text)
            .join(Channel, col(Channel.id) == col(Message.channel_id))
            .where(Message.community_id == community_id, col(Message.platform_id).in_(ids)))
    return {mid: (channel, text) for mid, channel, text in (await session.exec(stmt)).all()}
