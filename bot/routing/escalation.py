"""Unanswered questions are not left alone: after a delay, the next candidates; then the coordinators.

`escalate_due` is a job target: the scheduler calls it every few minutes with the current time (tests
call it with a chosen one). It reuses routing's ranking and care rules and returns neutral replies.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.i18n import translator
from bot.replies import DirectMessage, Reply, ReplyInThread, message_link
from bot.routing.care import DEFAULT_WEEKLY_CAP, UNANSWERED_AFTER, Candidate, candidates, spread
from bot.routing.explain import reason
from bot.services import Services
from storage.db import Database
from storage.members import find_member
from storage.models import Community, Member, Question, RoutingRequest
from storage.routing import due_questions, requests_for

log = logging.getLogger(__name__)

NEXT_CANDIDATES = 3
Outgoing = list[tuple[str, Reply]]


def _name(member: Member) -> str:
    return member.display_name or member.platform_user_id


async def escalate_due(db: Database, services: Services, config: Config, now: datetime) -> Outgoing:
    """Move every due question one step; returns the (platform, reply) pairs to deliver."""
    out: Outgoing = []
    async with db.session() as session:
        for question in await due_questions(session, now):
            community = await session.get(Community, question.community_id)
            asker = await session.get(Member, question.asker_id)
            if community is None or asker is None:
                continue
            fresh = await _next_candidates(session, services, community, question, asker, now) \
                if question.round == 0 else []
            if fresh:
                out += _ask_next(session, community, question, asker, fresh, now)
                question.round, question.next_step_at = 1, now + UNANSWERED_AFTER
            else:
                out += await _tell_coordinators(session, config, community, question, asker)
                question.round, question.status, question.next_step_at = 2, "escalated", None
                log.info("question %s escalated to the coordinators of %s", question.id, community.slug)
    return out


async def _next_candidates(session: AsyncSession, services: Services, community: Community, question: Question,
                           asker: Member, now: datetime) -> list[Candidate]:
    already = [await session.get(Member, r.member_id) for r in await requests_for(session, question.id or 0)]
    excluded = frozenset(m.platform_user_id for m in already if m is not None)
    index = await services.expertise.index(community.id or 0)
    ranked = await candidates(session, index, community.id or 0, question.text, asker=asker.platform_user_id,
                              now=now, top=NEXT_CANDIDATES * 3, exclude=excluded, weekly_cap=DEFAULT_WEEKLY_CAP)
    return await spread(session, ranked, NEXT_CANDIDATES, now)


def _ask_next(session: AsyncSession, community: Community, question: Question, asker: Member,
              fresh: list[Candidate], now: datetime) -> Outgoing:
    out: Outgoing = []
    link = message_link(question.channel, question.thread)
    for c in fresh:
        locale = c.member.locale or community.locale
        _ = translator(locale)
        why = reason(c.suggestion.evidence, _, locale)
        session.add(RoutingRequest(question_id=question.id or 0, member_id=c.member.id or 0, round=1,
                                   status="asked", reason=why[:500], at=now))
        out.append((question.platform, DirectMessage(user=c.member.platform_user_id, text=_(
            "Hi! A question from {asker} is still waiting for an answer: “{question}” ([the thread]({link})). "
            "Why you: {why}. Can you help?", asker=_name(asker), question=question.text, link=link, why=why))))
    if not question.is_direct:
        _ = translator(asker.locale or community.locale)
        names = ", ".join(_name(c.member) for c in fresh)
        out.append((question.platform, ReplyInThread(channel=question.channel, thread=question.thread,
                                                     text=_("Still open: I've asked {names} too.", names=names))))
    return out


async def _tell_coordinators(session: AsyncSession, config: Config, community: Community, question: Question,
                             asker: Member) -> Outgoing:
    cc = config.community(community.slug)
    link = message_link(question.channel, question.thread)
    out: Outgoing = []
    for ref in cc.coordinators if cc else ():
        platform, _sep, user = ref.partition(":")
        if platform != question.platform:
            continue
        coordinator = await find_member(session, community.id or 0, platform, user)
        _ = translator((coordinator.locale if coordinator else None) or community.locale)
        out.append((platform, DirectMessage(user=user, text=_(
            "Nobody has answered {asker}'s question in {community} yet: “{question}” ([the thread]({link})). "
            "Could you answer it or point them to someone?", asker=_name(asker),
            community=community.name or community.slug, question=question.text, link=link))))
    return out
