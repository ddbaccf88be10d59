"""Survey reminders and closings, consultation deadlines: scheduled jobs through the core.

Everything they need is stored (closing times, deadlines), so they work the same after a restart.
The scheduler's leader looks every minute (`Router.periodic`); tests and `/advance` with a chosen
time. Each reminder or closing is a `Scheduled` event (`survey.remind:<id>`, `survey.close:<id>`,
`consultation.close:<id>`, `consultation.remind:<id>`): claimed once, run in one transaction with its replies
kept in the outbox. A consultation's sponsor who has not answered the community a week after the summary is
reminded once (`consultation.remind`), and the coordinators learn it still waits.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.context import Context
from bot.events import Scheduled, scheduled
from bot.features.consultations import REMIND_AFTER, decision_prompt, locale_of, posted_message
from bot.features.surveys import survey_replies
from bot.i18n import markup_plural_translator, markup_translator, translator
from bot.markup import Markup
from bot.pulse.results import describe, survey_result
from bot.replies import DirectMessage, Post, Reply, ReplyInThread
from bot.router import Router
from storage import consultations, surveys
from storage.models import Community, Consultation, Survey

log = logging.getLogger(__name__)
Outgoing = list[tuple[str, Reply]]
router = Router()
EVERY = 60.0  # seconds between two looks
REMIND, CLOSE, CONSULTATION = "survey.remind", "survey.close", "consultation.close"
DECISION = "consultation.remind"  # the sponsor's one reminder to answer the community


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


@router.periodic(DECISION, EVERY)
async def decisions_due(session: AsyncSession, config: Config, now: datetime) -> list[Scheduled]:
    """Consultations whose summary went a week ago without an answer to the community, not reminded yet."""
    return [scheduled(DECISION, str(c.id), platform=c.platform, channel=c.channel,
                      community=await _slug(session, c.community_id),
                      due_at=(c.closed_at or c.deadline) + REMIND_AFTER, now=now)
            for c in await consultations.waiting_for_decision(session, now - REMIND_AFTER)]


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
    """Close a survey: results in its channel (with the trend), comments to the coordinators, then the
    participation counted and the answers unlinked (`surveys.seal`). The row is locked first, so a tap
    still in flight either lands before (and is counted) or finds the survey closed."""
    survey = await _subject(ctx, Survey, lock=True)
    if not isinstance(survey, Survey) or ctx.community is None:
        return
    community, cc, session = ctx.community, ctx.community_config, ctx.session
    k = cc.survey_min_answers if cc else 5
    result = await survey_result(session, survey, k)
    previous = await surveys.previous_run(session, survey)
    before = await survey_result(session, previous, k) if previous else None
    ctx.send(Post(channel=survey.channel, text=describe(result, before, community.locale)))
    texts = [t for q in result.questions if q.shown for t in q.texts]
    if texts and cc is not None:
        for ref in cc.coordinators:
            if ref.startswith(survey.platform + ":"):
                mine = markup_translator(await locale_of(session, community, ref))  # a DM: the reader's language
                head = mine("Comments from the pulse survey “{title}” (anonymous):", title=survey.title)
                note = Markup("\n").join([head, *(Markup("- {text}").format(text=t) for t in texts)])
                ctx.send(DirectMessage(user=ref.partition(":")[2], text=note))
    assert isinstance(ctx.event, Scheduled)
    await surveys.seal(session, survey, ctx.event.at)


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
    cc = config.community(community.slug)
    k = cc.survey_min_answers if cc else 5
    lang = await locale_of(session, community, consultation.asked_by)  # the sponsor's language
    _, n_ = markup_translator(lang), markup_plural_translator(lang)
    voices, by_stance = await consultations.stance_counts(session, consultation.id)
    quotes = await consultations.quotable_words(session, consultation.id, cc.quotes if cc else False)
    lines = [_("📣 Your consultation to {name} has closed: “{question}”", name=community.name or community.slug,
               question=consultation.question), n_("{n} voice.", "{n} voices.", voices)]
    options = json.loads(consultation.options or "[]")
    if options and voices >= k:
        lines += [_("- {option}: {n}", option=o, n=by_stance.get(o, 0)) for o in options]
        undecided = voices - sum(by_stance.get(o, 0) for o in options)
        if undecided:
            lines.append(_("- no clear stance: {n}", n=undecided))
    elif options:
        lines.append(_("Counts by stance appear from {k} voices on, to keep answers anonymous.", k=k))
    if quotes:
        lines.append(_("In their words (members who allow quoting, unnamed):"))
        lines += [Markup("> {quote}").format(quote=q.replace(chr(10), " ")[:280]) for q in quotes]
    lines.append(_("Now tell the community what you decided and I will post it where you asked: "
                   "`decision on consultation {id}: …`", id=consultation.id))
    consultation.status, consultation.closed_at = "closed", now
    platform, _sep, user = consultation.asked_by.partition(":")
    # A sponsor who asked to be forgotten left no address (storage/privacy.py): nobody to send the voices to.
    out: Outgoing = [(platform, DirectMessage(user=user, text=Markup("\n").join(lines)))] if user else []
    prompt = decision_prompt(consultation, user, lang) if user else None
    if prompt is not None:
        out.append((platform, prompt))
    posted = await posted_message(session, consultation)
    if posted:
        n_ = markup_plural_translator(community.locale)  # the thread reads the community's language
        out.append((consultation.platform, ReplyInThread(
            channel=consultation.channel, thread=posted,
            text=n_("✅ This consultation has closed: {n} voice was delivered to the sponsor. Thank you!",
                      "✅ This consultation has closed: {n} voices were delivered to the sponsor. Thank you!",
                      voices))))
    return out


@router.scheduled(DECISION)
async def remind_decision(ctx: Context) -> None:
    """Once, a week after the summary: remind the sponsor the community waits for an answer, and tell the
    coordinators which consultation still waits."""
    event = ctx.event
    assert isinstance(event, Scheduled)
    consultation = await ctx.session.get(Consultation, int(event.subject), with_for_update=True) \
        if event.subject.isdigit() else None
    if consultation is None or consultation.status == "open" or consultation.decision is not None \
            or consultation.reminded_at is not None:
        return
    community = await ctx.session.get(Community, consultation.community_id)
    assert community is not None
    consultation.reminded_at = event.at
    summary_day = consultation.closed_at or consultation.deadline
    platform, _sep, user = consultation.asked_by.partition(":")
    if user:
        lang = await locale_of(ctx.session, community, consultation.asked_by)
        _ = markup_translator(lang)
        ctx.send_on(platform, DirectMessage(user=user, text=_(
            "⏳ A week ago I sent you the voices on consultation {id} (“{question}”). The community still waits "
            "for your answer: `decision on consultation {id}: …`, even to say nothing is decided yet.",
            id=consultation.id, question=consultation.question)))
        prompt = decision_prompt(consultation, user, lang)
        if prompt is not None:
            ctx.send_on(platform, prompt)
    cc = ctx.config.community(community.slug)
    for ref in cc.coordinators if cc else ():
        if not ref.startswith(consultation.platform + ":"):
            continue
        _ = markup_translator(await locale_of(ctx.session, community, ref))
        ctx.send_on(consultation.platform, DirectMessage(user=ref.partition(":")[2], text=_(
            "⏳ Consultation {id} (“{question}”) still waits for the sponsor's answer, {days} days after the "
            "summary; I reminded them once. `consultations` lists the ones waiting.", id=consultation.id,
            question=consultation.question, days=(event.at - summary_day).days)))
