"""The periodic leader job: survey reminders and closings, consultation deadlines.

Everything it needs is in the database (closing times, deadlines), so it works the same after a
restart: `RitualScheduler` calls `run_due` every minute on the leader; tests call it with a chosen
`now`. Each kind runs in its own transaction, rows are locked (PostgreSQL `SKIP LOCKED`) and closed
in it, and replies are sent only after commit: a survey or a consultation is closed once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.features.surveys import survey_replies
from bot.i18n import translator
from bot.pulse.results import describe, survey_result
from bot.replies import DirectMessage, Post, Reply, ReplyInThread
from storage import consultations, surveys
from storage.db import Database
from storage.models import Community, Consultation

log = logging.getLogger(__name__)
Outgoing = list[tuple[str, Reply]]


async def run_due(db: Database, config: Config, now: datetime) -> Outgoing:
    """Send due survey reminders, close due surveys and consultations; returns the replies to deliver."""
    out: Outgoing = []
    async with db.session() as session:
        for survey in await surveys.due_reminders(session, now):
            community = await session.get(Community, survey.community_id)
            assert community is not None
            _ = translator(community.locale)
            out += [(survey.platform, r) for r in survey_replies(_, survey, community.timezone, community.locale,
                                                                  reminder=True)]
    async with db.session() as session:
        for survey in await surveys.due_to_close(session, now):
            community = await session.get(Community, survey.community_id)
            assert community is not None
            cc = config.community(community.slug)
            k = cc.survey_min_answers if cc else 5
            _ = translator(community.locale)
            result = await survey_result(session, survey, k)
            previous = await surveys.previous_run(session, survey)
            before = await survey_result(session, previous, k) if previous else None
            out.append((survey.platform, Post(channel=survey.channel, text=describe(result, before, _))))
            texts = [t for q in result.questions if q.shown for t in q.texts]
            if texts and cc is not None:
                note = "\n".join([_("Comments from the pulse survey “{title}” (anonymous):", title=survey.title),
                                  *(f"- {t}" for t in texts)])
                out += [(survey.platform, DirectMessage(user=ref.partition(":")[2], text=note))
                        for ref in cc.coordinators if ref.startswith(survey.platform + ":")]
            surveys.close(survey, now)
    async with db.session() as session:
        for consultation in await consultations.due(session, now):
            out += await _close_consultation(session, config, consultation, now)
    return out


async def _close_consultation(session: AsyncSession, config: Config, consultation: Consultation,
                              now: datetime) -> Outgoing:
    assert consultation.id is not None
    community = await session.get(Community, consultation.community_id)
    assert community is not None
    cc = config.community(community.slug)
    k = cc.survey_min_answers if cc else 5
    _ = translator(community.locale)
    voices, by_stance = await consultations.stance_counts(session, consultation.id)
    quotes = await consultations.quotable_words(session, consultation.id, cc.quotes if cc else False)
    lines = [_("📣 Your consultation to {name} has closed: “{question}”", name=community.name or community.slug,
               question=consultation.question), _("{n} voice(s).", n=voices)]
    options = json.loads(consultation.options or "[]")
    if options and voices >= k:
        lines += [f"- {o}: {by_stance.get(o, 0)}" for o in options]
        undecided = voices - sum(by_stance.get(o, 0) for o in options)
        if undecided:
            lines.append(_("- no clear stance: {n}", n=undecided))
    elif options:
        lines.append(_("Counts by stance appear from {k} voices on, to keep answers anonymous.", k=k))
    if quotes:
        lines.append(_("In their words (members who allow quoting, unnamed):"))
        lines += [f"> {q.replace(chr(10), ' ')[:280]}" for q in quotes]
    consultation.status, consultation.closed_at = "closed", now
    platform, _sep, user = consultation.asked_by.partition(":")
    out: Outgoing = [(platform, DirectMessage(user=user, text="\n".join(lines)))]
    if consultation.message_id:
        out.append((consultation.platform, ReplyInThread(
            channel=consultation.channel, thread=consultation.message_id,
            text=_("✅ This consultation has closed: {n} voice(s) were delivered to the sponsor. Thank you!",
                   n=voices))))
    return out
