"""Unanswered questions are not left alone: after a delay, the next candidates; then the coordinators.

A scheduled job: `due` finds the questions whose next step is due (the scheduler's leader looks every
few minutes; tests and `/advance` with a chosen time) and each step runs through the core as a
`Scheduled` event `escalate:<question id>:<round>`, so it happens once and its messages are kept in
the outbox with the question's new state. It reuses routing's ranking and care rules.

Only questions whose asker chose to ask the experts are followed (not "No thanks", not an unanswered
offer), until someone answers or the asker says `solved`. Nobody is asked twice about a question, nor
the asker, nor anyone who said `not me`, is away or at their weekly cap: coordinators included.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.community_settings import effective
from bot.config import Config
from bot.context import Context
from bot.events import Scheduled, scheduled
from bot.i18n import markup_translator
from bot.markup import Markup
from bot.replies import DirectMessage, Reply, ReplyInThread, message_link
from bot.router import Router
from bot.routing.care import DEFAULT_WEEKLY_CAP, UNANSWERED_AFTER, WEEK, Candidate, choose
from bot.routing.explain import COORDINATOR, dump, facts, render
from bot.services import Services
from storage.expertise import available, recent_requests, suggestable
from storage.members import ensure_member
from storage.models import Community, Member, Question, RoutingRequest
from storage.routing import FOLLOWED, due_questions, requests_for, resolve_thread

log = logging.getLogger(__name__)

NEXT_CANDIDATES = 3
JOB = "escalate"
EVERY = 300.0  # seconds between two looks for due questions
Outgoing = list[tuple[str, Reply]]
router = Router()


def _name(member: Member) -> str:
    return member.display_name or member.platform_user_id


@router.periodic(JOB, EVERY)
async def due(session: AsyncSession, config: Config, now: datetime) -> list[Scheduled]:
    """One event per question whose next step is due."""
    found = []
    for question in await due_questions(session, now):
        community = await session.get(Community, question.community_id)
        if community is not None:
            found.append(scheduled(JOB, f"{question.id}:{question.round + 1}", platform=question.platform,
                                   channel=question.channel, community=community.slug,
                                   due_at=question.next_step_at or now, now=now))
    return found


@router.scheduled(JOB)
async def escalate(ctx: Context) -> None:
    """Move one question one step: the next candidates, else its community's coordinators."""
    event = ctx.event
    assert isinstance(event, Scheduled)
    question_id, _sep, step = event.subject.partition(":")
    session, now = ctx.session, event.at
    question = await session.get(Question, int(question_id)) if question_id.isdigit() else None
    if question is None or question.status != "open" or str(question.round + 1) != step:
        return  # answered or solved, or moved on since it was found
    if question.choice not in FOLLOWED:
        question.next_step_at = None  # the asker did not ask anyone: nobody is chased about it
        return
    community = ctx.community or await session.get(Community, question.community_id)
    asker = await session.get(Member, question.asker_id)
    if community is None or asker is None:
        return
    await resolve_thread(session, question)
    fresh = await _next_candidates(session, ctx.svc, community, question, asker, now) if question.round == 0 else []
    if fresh:
        out = _ask_next(session, community, question, asker, fresh, now)
        question.round, question.next_step_at = 1, now + UNANSWERED_AFTER
    else:
        out = await _tell_coordinators(session, ctx.config, community, question, asker, now)
        question.round, question.status, question.next_step_at = 2, "escalated", None
        log.info("question %s escalated to the coordinators of %s", question.id, community.slug)
    for platform, reply in out:
        ctx.send_on(platform, reply)


async def _next_candidates(session: AsyncSession, services: Services, community: Community, question: Question,
                           asker: Member, now: datetime) -> list[Candidate]:
    already = [await session.get(Member, r.member_id) for r in await requests_for(session, question.id or 0)]
    excluded = frozenset(m.platform_user_id for m in already if m is not None)
    index = await services.expertise.index(community.id or 0)
    return await choose(session, index, community.id or 0, question.text, asker=asker.platform_user_id, now=now,
                        k=NEXT_CANDIDATES, exclude=excluded)


def _ask_next(session: AsyncSession, community: Community, question: Question, asker: Member,
              fresh: list[Candidate], now: datetime) -> Outgoing:
    out: Outgoing = []
    link = message_link(question.channel, question.thread)
    for c in fresh:
        locale = c.member.locale or community.locale
        _ = markup_translator(locale)
        found = facts(c.suggestion.evidence)
        session.add(RoutingRequest(question_id=question.id or 0, member_id=c.member.id or 0, round=1,
                                   status="asked", facts=dump(found), at=now))
        where = _(" ([the thread]({link}))", link=link) if question.thread and not question.is_direct else Markup()
        out.append((question.platform, DirectMessage(user=c.member.platform_user_id, text=_(
            "Hi! A question from {asker} is still waiting for an answer: “{question}”{where}. Why you: {why}. "
            "Can you help? If not, say `not me`.", asker=_name(asker), question=question.text, where=where,
            why=render(found, _, locale)))))
    if not question.is_direct and question.thread:
        _ = markup_translator(asker.locale or community.locale)
        names = ", ".join(_name(c.member) for c in fresh)
        out.append((question.platform, ReplyInThread(channel=question.channel, thread=question.thread,
                                                     text=_("Still open: I've asked {names} too.", names=names))))
    return out


async def _tell_coordinators(session: AsyncSession, config: Config, community: Community, question: Question,
                             asker: Member, now: datetime) -> Outgoing:
    """DM the community's coordinators on the question's platform, except the asker, anyone already asked or
    who declined it, and those away or at their weekly cap (the question stays in `unanswered` for them)."""
    cc = effective(config, community)
    link = message_link(question.channel, question.thread)
    requested = {r.member_id for r in await requests_for(session, question.id or 0)}
    out: Outgoing = []
    for ref in cc.coordinators if cc else ():
        platform, _sep, user = ref.partition(":")
        if platform != question.platform or user == asker.platform_user_id:
            continue
        coordinator = await ensure_member(session, community.id or 0, platform, user)  # named by the config
        cid = coordinator.id or 0
        if cid in requested or not available(coordinator, now.date()) or not suggestable(coordinator):
            continue
        asked = (await recent_requests(session, [cid], now - WEEK, "asked")).get(cid, 0)
        if asked >= (DEFAULT_WEEKLY_CAP if coordinator.weekly_cap is None else coordinator.weekly_cap):
            continue
        session.add(RoutingRequest(question_id=question.id or 0, member_id=cid, round=2, status="asked",
                                   facts=dump(COORDINATOR), at=now))
        _ = markup_translator(coordinator.locale or community.locale)
        where = _(" ([the thread]({link}))", link=link) if question.thread and not question.is_direct else Markup()
        out.append((platform, DirectMessage(user=user, text=_(
            "Nobody has answered {asker}'s question in {community} yet: “{question}”{where}. "
            "Could you answer it or point them to someone? `unanswered` lists every open question.",
            asker=_name(asker), community=community.name or community.slug, question=question.text,
            where=where))))
    return out
