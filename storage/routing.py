"""Queries on routed questions and the requests made to experts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Channel, Message, Question, RoutingRequest


async def open_question_in_thread(session: AsyncSession, platform: str, channel: str,
                                  thread: str) -> Question | None:
    """The unanswered routed question living in this thread, if any."""
    stmt = select(Question).where(Question.platform == platform, Question.channel == channel,
                                  Question.thread == thread, col(Question.status).in_(("open", "escalated")))
    return (await session.exec(stmt)).first()


async def question_in_thread(session: AsyncSession, platform: str, channel: str, thread: str) -> Question | None:
    """The latest routed question of this thread, whatever its status."""
    stmt = (select(Question).where(Question.platform == platform, Question.channel == channel,
                                   Question.thread == thread).order_by(col(Question.id).desc()))
    return (await session.exec(stmt)).first()


async def due_questions(session: AsyncSession, now: datetime, limit: int = 200) -> list[Question]:
    """Open questions whose next escalation step is due."""
    stmt = (select(Question).where(col(Question.status) == "open", col(Question.next_step_at) <= now)
            .order_by(col(Question.next_step_at)).limit(limit))
    return list((await session.exec(stmt)).all())


async def requests_for(session: AsyncSession, question_id: int) -> list[RoutingRequest]:
    """Everyone suggested or asked for a question, in order."""
    stmt = select(RoutingRequest).where(RoutingRequest.question_id == question_id).order_by(col(RoutingRequest.id))
    return list((await session.exec(stmt)).all())


async def latest_request_to(session: AsyncSession, member_id: int) -> RoutingRequest | None:
    """The most recent request made to a member."""
    stmt = (select(RoutingRequest).where(RoutingRequest.member_id == member_id)
            .order_by(col(RoutingRequest.at).desc(), col(RoutingRequest.id).desc()))
    return (await session.exec(stmt)).first()


async def thread_roots(session: AsyncSession, community_id: int,
                       ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Platform message id → (platform channel id, text) for these messages."""
    if not ids:
        return {}
    stmt = (select(Message.platform_id, Channel.platform_id, Message.text)
            .join(Channel, col(Channel.id) == col(Message.channel_id))
            .where(Message.community_id == community_id, col(Message.platform_id).in_(ids)))
    return {mid: (channel, text) for mid, channel, text in (await session.exec(stmt)).all()}
