"""Pulse surveys: coordinators schedule them (a ritual of kind `survey`) or run one now; members answer
with one tap, anonymously, and may change their answer until it closes.

Answers are stored under a salted per-survey token, never with the member (see storage/surveys.py).
Nothing else is written when a member answers: who took part is counted at closing, in one batch
(`storage.surveys.seal`), so no row written with an answer names its author.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.events import ChoicePicked
from bot.features.ritual_common import RitualKind, RitualRun, declare, settings_of, when
from bot.features.rituals import _channel_ref, create_draft, dry_run
from bot.i18n import N_, Translate, as_markup, decimal, translator
from bot.markup import Markup
from bot.pulse.questions import DEFAULT_DURATION, Question, dump, load, parse_questions
from bot.replies import AskChoice, Option, Post, Reply
from bot.router import Router
from bot.schedule import parse_schedule
from storage.models import Survey
from storage.surveys import answer_token, create_survey, has_answered, record_answer

router = Router()
_CHANNEL = re.compile(r"^\s*(?:in|dans)\s+(<#[^>]+>|#[\w.\-:!]+)\s*$", re.IGNORECASE)
_REF = re.compile(r"^\s*#?(\d{1,9})\s*[:,]?\s*(.+)$", re.DOTALL)

SURVEY = CommandSpec(
    key="survey", role="coordinator", summary=N_("schedule a recurring pulse survey (I show the dates first)"),
    forms={"en": ("survey {spec}", "schedule survey {spec}"), "fr": ("sondage {spec}", "planifier sondage {spec}")},
    argument=Argument("spec", N_("1 to 3 quoted questions and a schedule"),
                      N_('"How useful was this month?" scale 1-5 every month on the 1st at 10:00 in #k8s'),
                      max_length=800))
SURVEY_NOW = CommandSpec(
    key="survey-now", role="coordinator", summary=N_("run a pulse survey now"),
    forms={"en": ("survey now {spec}",), "fr": ("sondage maintenant {spec}",)},
    argument=Argument("spec", N_("1 to 3 quoted questions"),
                      N_('"How was the Helm clinic?" emoji; "Anything to add?" text for 2 days'), max_length=800))
ANSWER_SURVEY = CommandSpec(
    key="answer-survey", summary=N_("answer a survey's free-text question, anonymously"),
    forms={"en": ("answer survey {answer}",), "fr": ("répondre sondage {answer}", "répondre au sondage {answer}")},
    argument=Argument("answer", N_("the survey's number and your words"), N_("3: more hands-on sessions please"),
                      max_length=500))


def survey_replies(translate: Translate, survey: Survey, tz: str, locale: str, *, reminder: bool = False
                   ) -> list[Reply]:
    """The survey's questions, one tap each (a reminder repeats them once)."""
    _ = as_markup(translate)
    assert survey.id is not None
    closes = when(survey.closes_at, tz, locale)
    head = (_("⏳ Last call for the pulse survey “{title}”: it closes {when}. Anonymous, one tap.",
              title=survey.title, when=closes) if reminder else
            _("📋 Pulse survey, anonymous, open until {when}. Tap your answer; you can change it until then.",
              when=closes))
    replies: list[Reply] = []
    questions = load(survey.questions)
    for index, q in enumerate(questions):
        if q.kind == "text":
            continue
        text = Markup("**{q}**").format(q=q.text) if replies else Markup("{head}\n**{q}**").format(head=head, q=q.text)
        # Where a tap in the channel would be seen by its members (Matrix polls), each member is asked in a
        # direct message and the channel reads only the note (once per survey).
        note = None if replies else (
            _("⏳ Last call for the pulse survey “{title}”: it closes {when}. I've sent each of you its questions "
              "again in a direct message: one tap there, anonymous.", title=survey.title, when=closes) if reminder else
            _("📋 Pulse survey “{title}”, anonymous, open until {when}. I've sent each of you its questions in a "
              "direct message: one tap there, and no one else sees your answer.", title=survey.title, when=closes))
        replies.append(AskChoice(channel=survey.channel, key=f"survey:{survey.id}:{index}", text=text,
                                 options=tuple(Option(id=i, label=label) for i, label in q.options),
                                 private=True, private_note=note))
    for q in questions:
        if q.kind == "text":
            replies.append(Post(channel=survey.channel, text=_(
                "Optional: {question} Tell me privately (a direct message): `answer survey {id}: your words`.",
                question=q.text, id=survey.id)))
    return replies


async def open_survey(ctx: Context, *, title: str, questions: tuple[Question, ...], duration: timedelta,
                      platform: str, channel: str, now: datetime, ritual_id: int | None = None) -> Survey:
    """Create a survey run and queue its questions in `channel`."""
    assert ctx.community is not None and ctx.community.id is not None
    survey = await create_survey(ctx.session, community_id=ctx.community.id, title=title, questions=dump(questions),
                                 platform=platform, channel=channel, closes_at=now + duration,
                                 remind_at=now + duration / 2, ritual_id=ritual_id, opened_at=now,
                                 created_by=f"{ctx.event.platform}:{ctx.event.sender.id}", min_answers=_k(ctx))
    locale = ctx.community.locale  # posted in the channel: the community's language, whoever opened it
    for reply in survey_replies(translator(locale), survey, ctx.community.timezone, locale):
        ctx.send(reply)
    return survey


async def open_step(ctx: Context, run: RitualRun) -> None:
    """Ritual step: open this occurrence's survey in the ritual's channel."""
    settings = settings_of(run.ritual)
    questions = load(settings.get("questions", "[]"))
    if not questions:
        return
    await open_survey(ctx, title=run.ritual.title, questions=questions,
                      duration=timedelta(hours=float(settings.get("hours", DEFAULT_DURATION.total_seconds() / 3600))),
                      platform=ctx.event.platform, channel=ctx.event.channel, now=run.now,
                      ritual_id=run.ritual.id)


@router.command(SURVEY)
async def schedule_survey(ctx: Context) -> None:
    """`survey "How useful was this month?" scale 1-5 every month on the 1st at 10:00 in #k8s`."""
    assert ctx.command is not None
    spec = parse_questions(ctx.command.argument, "survey")
    if not spec.rest:
        raise InputError(N_("Almost: tell me when too, e.g. `{usage}` (or say `survey now …`)."), usage_key="survey")
    tz = (ctx.member.timezone if ctx.member else None) or ctx.event.sender.timezone or (
        ctx.community.timezone if ctx.community else "UTC")
    schedule, channel = parse_schedule(spec.rest, default_tz=tz, today=ctx.event.at.astimezone(UTC).date())
    ritual = await create_draft(ctx, "survey", spec.questions[0].text, schedule, channel, spec.rest)
    ritual.settings = json.dumps({"text": spec.rest, "questions": dump(spec.questions),
                                  "hours": spec.duration.total_seconds() / 3600})
    dry_run(ctx, ritual, schedule, f"ritual:confirm:{ritual.id}",
            ctx._("The survey “{title}” would open on these dates, for {hours} hours each time. Save it?",
                  title=ritual.title, hours=decimal(spec.duration.total_seconds() / 3600, ctx.locale, "0.##")))


@router.command(SURVEY_NOW)
async def survey_now(ctx: Context) -> None:
    """`survey now "How was the Helm clinic?" emoji in #k8s`: open it right away."""
    assert ctx.command is not None
    spec = parse_questions(ctx.command.argument, "survey-now")
    named = None
    if spec.rest:
        m = _CHANNEL.match(spec.rest)
        if m is None:
            raise InputError(N_("I didn't understand “{rest}”. A survey now takes questions, an optional duration "
                                "and channel, e.g. `{usage}`."), usage_key="survey-now", rest=spec.rest)
        named = m.group(1)
    ref = await _channel_ref(ctx, named)
    platform, _, channel = ref.partition(":")
    if not channel:
        raise InputError(N_("Which channel? Ask me in the community's channel, or add `in #channel`."))
    survey = await open_survey(ctx, title=spec.questions[0].text, questions=spec.questions, duration=spec.duration,
                               platform=platform, channel=channel, now=ctx.event.at.astimezone(UTC))
    ctx.reply_privately(ctx._("Survey {id} is open until {when}. Results are posted when it closes, if at least {k} "
                              "people answered.", id=survey.id, k=_k(ctx),
                              when=when(survey.closes_at, ctx.community.timezone if ctx.community else "UTC",
                                        ctx.locale)))


def _k(ctx: Context) -> int:
    return ctx.community_config.survey_min_answers if ctx.community_config else 5


async def _open(ctx: Context, survey_id: int) -> Survey:
    # FOR SHARE on PostgreSQL: taps run side by side, the closing (FOR UPDATE) waits for them or comes first.
    survey = await ctx.session.get(Survey, survey_id, with_for_update={"read": True})
    if survey is None or ctx.community is None or survey.community_id != ctx.community.id:
        raise InputError(N_("There is no survey {id} here."), id=str(survey_id))
    if survey.status != "open":
        raise InputError(N_("That survey has closed; its results were posted in the channel."))
    return survey


async def _answer(ctx: Context, survey: Survey, question: int, value: str) -> bool:
    """Record the answer under the member's token; True when it replaced an earlier one.

    The member row is made if needed (the closing counts participation from members' tokens), but no
    contribution is written now: a row naming the member next to the answer would link the two."""
    assert survey.id is not None
    token = answer_token(survey.salt, ctx.event.platform, ctx.event.sender.id)
    first_time = not await has_answered(ctx.session, survey.id, token)
    await record_answer(ctx.session, survey.id, question, token, value)
    if first_time:
        await ctx.ensure_member()
    return not first_time


@router.choice("survey")
async def pick(ctx: Context) -> None:
    """One tap: keep (or replace) the member's answer to one question."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    parts = event.key.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    try:
        survey = await _open(ctx, int(parts[1]))
    except InputError as err:
        ctx.reply_privately(ctx._(err.msgid, **err.params))
        return
    questions = load(survey.questions)
    index = int(parts[2])
    if index >= len(questions) or event.option not in dict(questions[index].options):
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    changed = await _answer(ctx, survey, index, event.option)
    tz = ctx.community.timezone if ctx.community else "UTC"
    if changed:
        ctx.reply_privately(ctx._("Changed: your new answer replaces the old one."))
    else:
        ctx.reply_privately(ctx._("Thanks! Your answer is anonymous; you can change it until {when}.",
                                  when=when(survey.closes_at, tz, ctx.locale)))


@router.command(ANSWER_SURVEY)
async def answer_text(ctx: Context) -> None:
    """`answer survey 3: …`: the free-text question, anonymously (best said in a direct message)."""
    assert ctx.command is not None
    m = _REF.match(ctx.command.argument)
    if m is None:
        raise InputError(N_("Give the survey's number and your words, e.g. `{usage}`."), usage_key="answer-survey")
    survey = await _open(ctx, int(m.group(1)))
    index = next((i for i, q in enumerate(load(survey.questions)) if q.kind == "text"), None)
    if index is None:
        raise InputError(N_("Survey {id} has no free-text question: just tap your answers."), id=m.group(1))
    await _answer(ctx, survey, index, m.group(2).strip())
    ctx.reply_privately(ctx._("Thanks! Your words are kept without your name and shared only with at least {k} "
                              "others.", k=_k(ctx)))


SURVEY_KIND = declare(RitualKind("survey", N_("pulse survey"), {"survey": open_step}))
