"""Survey reminders and closings, consultation deadlines: scheduled jobs through the core.

Everything they need is stored (closing times, deadlines), so they work the same after a restart.
The scheduler's leader looks every minute (`Router.periodic`); tests and `/advance` with a chosen
time. Each reminder or closing is a `Scheduled` event (`survey.remind:<id>`, `survey.close:<id>`,
`consultation.close:<id>`): claimed once, run in one transaction with its replies kept in the outbox.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.community_settings import effective
from bot.config import Config
from bot.context import Context
from bot.events import Scheduled, scheduled
from bot.features.surveys import survey_replies
from bot.i18n import markup_translator, translator
from bot.markup import Markup
from bot.pulse.closing import close_and_report
from bot.replies import DirectMessage, Reply, ReplyInThread
from bot.router import Router
from storage import consultations, outbox
from storage.models import Community, Consultation, Survey

log = logging.getLogger(__name__)
Outgoing = list[tuple[str, Reply]]
router = Router()
EVERY = 60.0  # seconds between two looks
REMIND, CLOSE, CONSULTATION = "survey.remind", "survey.close", "consultation.close"


async def _slug(session: AsyncSession, community_id: int) -> str | None:
    community = await session.get(Community, community_id)
    return community.slug if community else None


@router.periodic(REMIND, EVERY)
async def reminders_due(session: AsyncSession, config: Config, now: datetime) -> list[Scheduled]:
    """Open surveys whose single reminder is due."""
    stmt = select(Survey).where(Survey.status == "open", col(Survey.remind_at).is_not(None),
                                col(Survey.remind_at) <= now, col(Survey.closes_at) > now).order_by(col(Survey.id))
    return [scheduled(REMIND, str(s.id), platform=s.platform, channel=s.channel,
                      community=await _slug(session, s.community_id), due_at=s.remind_at or now, now=now)
            for s in (await session.exec(stmt)).all()]


@router.periodic(CLOSE, EVERY)
async def closings_due(session: AsyncSession, config: Config, now: datetime) -> list[Scheduled]:
    """Open surveys past their closing time."""
    stmt = select(Survey).where(Survey.status == "open", col(Survey.closes_at) <= now).order_by(col(Survey.id))
    return [scheduled(CLOSE, str(s.id), platform=s.platform, channel=s.channel,
                      community=await _slug(session, s.community_id), due_at=s.closes_at, now=now)
            for s in (await session.exec(stmt)).all()]


@router.periodic(CONSULTATION, EVERY)
async def deadlines_due(session: AsyncSession, config: Config, now: datetime) -> list[Scheduled]:
    """Open consultations past their deadline."""
    stmt = select(Consultation).where(Consultation.status == "open", col(Consultation.deadline) <= now)
    return [scheduled(CONSULTATION, str(c.id), platform=c.platform, channel=c.channel,
                      community=await _slug(session, c.community_id), due_at=c.deadline, now=now)
            for c in (await session.exec(stmt.order_by(col(Consultation.id)))).all()]


async def _subject(ctx: Context, model: type[Survey] | type[Consultation], *,
                   lock: bool = False) -> Survey | Consultation | None:
    event = ctx.event
    assert isinstance(event, Scheduled)
    row: Survey | Consultation | None = await ctx.session.get(model, int(event.subject), with_for_update=lock) \
        if event.subject.isdigit() else None
    return row if row is not None and row.status == "open" else None


@router.scheduled(REMIND)
async def remind(ctx: Context) -> None:
    """Repeat an open survey's questions once, at half-time."""
    survey = await _subject(ctx, Survey)
    if not isinstance(survey, Survey) or survey.remind_at is None or ctx.community is None:
        return
    survey.remind_at = None
    community = ctx.community
    _ = translator(community.locale)
    for reply in survey_replies(_, survey, community.timezone, community.locale, reminder=True):
        ctx.send(reply)


@router.scheduled(CLOSE)
async def close_survey(ctx: Context) -> None:
    """Close a survey at its closing time (`bot.pulse.closing`: the same road as `close survey 3`). The row
    is locked first, so a tap still in flight either lands before (and is counted) or finds it closed."""
    survey = await _subject(ctx, Survey, lock=True)
    if not isinstance(survey, Survey) or ctx.community is None:
        return
    assert isinstance(ctx.event, Scheduled)
    await close_and_report(ctx, survey, ctx.event.at)


@router.scheduled(CONSULTATION)
async def close_consultation(ctx: Context) -> None:
    """Close a consultation: the voices to the sponsor by DM, a thank-you in its thread."""
    consultation = await _subject(ctx, Consultation)
    if not isinstance(consultation, Consultation):
        return
    assert isinstance(ctx.event, Scheduled)
    for platform, reply in await _close_consultation(ctx.session, ctx.config, consultation, ctx.event.at):
        ctx.send_on(platform, reply)


async def _close_consultation(session: AsyncSession, config: Config, consultation: Consultation,
                              now: datetime) -> Outgoing:
    assert consultation.id is not None
    community = await session.get(Community, consultation.community_id)
    assert community is not None
    cc = effective(config, community)
    k = cc.survey_min_answers if cc else 5
    _ = markup_translator(community.locale)
    voices, by_stance = await consultations.stance_counts(session, consultation.id)
    quotes = await consultations.quotable_words(session, consultation.id, cc.quotes if cc else False)
    lines = [_("📣 Your consultation to {name} has closed: “{question}”", name=community.name or community.slug,
               question=consultation.question), _("{n} voice(s).", n=voices)]
    options = json.loads(consultation.options or "[]")
    if options and voices >= k:
        lines += [Markup("- {option}: {n}").format(option=o, n=by_stance.get(o, 0)) for o in options]
        undecided = voices - sum(by_stance.get(o, 0) for o in options)
        if undecided:
            lines.append(_("- no clear stance: {n}", n=undecided))
    elif options:
        lines.append(_("Counts by stance appear from {k} voices on, to keep answers anonymous.", k=k))
    if quotes:
        lines.append(_("In their words (members who allow quoting, unnamed):"))
        lines += [Markup("> {quote}").format(quote=q.replace(chr(10), " ")[:280]) for q in quotes]
    consultation.status, consultation.closed_at = "closed", now
    platform, _sep, user = consultation.asked_by.partition(":")
    # A sponsor who asked to be forgotten left no address (storage/privacy.py): nobody to send the voices to.
    out: Outgoing = [(platform, DirectMessage(user=user, text=Markup("\n").join(lines)))] if user else []
    posted = consultation.message_id or await _posted(session, consultation)
    if posted:
        out.append((consultation.platform, ReplyInThread(
            channel=consultation.channel, thread=posted,
            text=_("✅ This consultation has closed: {n} voice(s) were delivered to the sponsor. Thank you!",
                   n=voices))))
    return out


async def _posted(session: AsyncSession, consultation: Consultation) -> str | None:
    """The message id of the consultation's post, once the outbox sent it."""
    sent = await outbox.message_of(session, f"consultation:{consultation.id}")
    return sent[2] if sent else None
