"""The expert's side: declared topics, `my profile`, availability, weekly cap and `why me?`."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.i18n import N_
from bot.markup import Markup
from bot.router import Router
from bot.routing.care import DEFAULT_WEEKLY_CAP, WEEK
from bot.routing.explain import load, render
from storage.expertise import declare_topics, declared_topics, forget_topic, recent_requests
from storage.models import Message
from storage.routing import asked_of
from storage.types import utcnow

router = Router()

MAX_TOPICS = 20
MAX_CAP = 20
_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bet\b|/)\s*", re.IGNORECASE)


def _topics(text: str) -> str:
    topics = [t.strip(" .!?\"'") for t in _SPLIT.split(text)]
    topics = [t for t in topics if t]
    if not topics or any(len(t) > 60 for t in topics) or len(topics) > MAX_TOPICS:
        raise InputError(N_("Give me short topics separated by commas. For example: `{usage}`"),
                         usage_key="declare")
    return "\n".join(topics)


def _date(text: str) -> str:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(N_("I need a date like 2026-12-10. For example: `{usage}`"), usage_key="away") from None
    today = utcnow().date()
    if not today < day <= today + timedelta(days=366):
        raise InputError(N_("Pick a date after today and within a year. For example: `{usage}`"), usage_key="away")
    return day.isoformat()


def _cap(text: str) -> str:
    if not text.strip().isdigit() or int(text) > MAX_CAP:
        raise InputError(N_("Give a number of questions per week between 0 and {max}. For example: `{usage}`"),
                         usage_key="cap", max=str(MAX_CAP))
    return str(int(text))


DECLARE = CommandSpec(key="declare", summary=N_("tell me what you know about, so I can route questions to you"),
                      forms={"en": ("i know about {topics}",),
                             "fr": ("je connais {topics}", "je m'y connais en {topics}")},
                      argument=Argument("topics", N_("one or more topics"), N_("terraform, helm"), validate=_topics))
MY_TOPICS = CommandSpec(key="my-topics", summary=N_("list the topics you declared"),
                        forms={"en": ("my topics",), "fr": ("mes sujets",)})
FORGET_TOPIC = CommandSpec(key="forget-topic", summary=N_("remove a topic you declared"),
                           forms={"en": ("forget topic {topic}",), "fr": ("oublie le sujet {topic}",)},
                           argument=Argument("topic", N_("a topic"), N_("helm"), max_length=60))
PROFILE = CommandSpec(key="profile", summary=N_("see and tune how I route questions to you"),
                      forms={"en": ("my profile",), "fr": ("mon profil",)})
AWAY = CommandSpec(key="away", summary=N_("pause questions to you until a date"),
                   forms={"en": ("away until {date}",), "fr": ("absent jusqu'au {date}", "absente jusqu'au {date}")},
                   argument=Argument("date", N_("a date"), N_("2026-12-10"), max_length=20, validate=_date))
BACK = CommandSpec(key="back", summary=N_("receive questions again"), forms={"en": ("back",), "fr": ("de retour",)})
CAP = CommandSpec(key="cap", summary=N_("set how many questions I may route to you each week"),
                  forms={"en": ("my cap {n}",), "fr": ("mon plafond {n}",)},
                  argument=Argument("n", N_("a number"), N_("2"), max_length=5, validate=_cap))
WHY_ME = CommandSpec(key="why-me", summary=N_("why I asked you about a question"),
                     forms={"en": ("why me",), "fr": ("pourquoi moi",)})


def _reindex_topics(ctx: Context, topics: list[str]) -> None:
    who = ctx.event.sender.id
    ctx.update_index(lambda index: index.declare(who, topics))


@router.command(DECLARE)
async def declare(ctx: Context) -> None:
    """Record declared topics; they weigh in routing from now on."""
    assert ctx.command is not None
    member = await ctx.ensure_member()
    await declare_topics(ctx.session, member.id or 0, ctx.command.argument.split("\n"))
    topics = await declared_topics(ctx.session, member.id or 0)
    _reindex_topics(ctx, topics)
    ctx.reply_privately(ctx._("Noted: you know about {topics}. I may route questions on these to you "
                              "(at most {cap} a week).", topics=", ".join(topics),
                              cap=member.weekly_cap if member.weekly_cap is not None else DEFAULT_WEEKLY_CAP))


@router.command(MY_TOPICS)
async def my_topics(ctx: Context) -> None:
    """List declared topics."""
    topics = await declared_topics(ctx.session, ctx.member.id or 0) if ctx.member else []
    if topics:
        ctx.reply_privately(ctx._("You told me you know about: {topics}.", topics=", ".join(topics)))
    else:
        ctx.reply_privately(ctx._("You haven't declared any topic yet. Try `{usage}`.",
                                  usage=DECLARE.usage(ctx.locale, ctx._)))


@router.command(FORGET_TOPIC)
async def drop_topic(ctx: Context) -> None:
    """Remove one declared topic."""
    assert ctx.command is not None
    topic = ctx.command.argument.strip()
    if ctx.member is None or not await forget_topic(ctx.session, ctx.member.id or 0, topic):
        ctx.reply_privately(ctx._("“{topic}” is not among your topics. Say `my topics` to see them.", topic=topic))
        return
    _reindex_topics(ctx, await declared_topics(ctx.session, ctx.member.id or 0))
    ctx.reply_privately(ctx._("Done: “{topic}” is no longer among your topics.", topic=topic))


@router.command(AWAY)
async def away(ctx: Context) -> None:
    """Pause routed questions until a date."""
    assert ctx.command is not None
    member = await ctx.ensure_member()
    member.away_until = date.fromisoformat(ctx.command.argument)
    ctx.reply_privately(ctx._("Enjoy! I won't route questions to you until {date}. Say `back` to return earlier.",
                              date=ctx.command.argument))


@router.command(BACK)
async def back(ctx: Context) -> None:
    """Resume routed questions."""
    if ctx.member is not None:
        ctx.member.away_until = None
    ctx.reply_privately(ctx._("Welcome back! I may route questions to you again."))


@router.command(CAP)
async def cap(ctx: Context) -> None:
    """Set the member's own weekly cap."""
    assert ctx.command is not None
    member = await ctx.ensure_member()
    member.weekly_cap = int(ctx.command.argument)
    ctx.reply_privately(ctx.n_("Done: at most {n} routed question a week for you.",
                                "Done: at most {n} routed questions a week for you.", member.weekly_cap))


@router.command(PROFILE)
async def profile(ctx: Context) -> None:
    """Show what routing knows about the member and the knobs they control."""
    member = ctx.member
    if member is None or member.id is None:
        ctx.reply_privately(ctx._("I know nothing about you yet. Say `{usage}` to start.",
                                  usage=DECLARE.usage(ctx.locale, ctx._)))
        return
    now = utcnow()
    topics = await declared_topics(ctx.session, member.id)
    answers = (await ctx.session.exec(select(func.count()).select_from(Message).where(
        col(Message.author_id) == member.id, col(Message.thread_id).is_not(None)))).one()
    asked = (await recent_requests(ctx.session, [member.id], now - WEEK, "asked")).get(member.id, 0)
    lines = [ctx._("Your routing profile:"),
             ctx._("- topics you declared: {topics}", topics=", ".join(topics) or "-"),
             ctx._("- answers I have seen from you: {n}", n=answers),
             ctx._("- questions routed to you this week: {n} of at most {cap}", n=asked,
                   cap=member.weekly_cap if member.weekly_cap is not None else DEFAULT_WEEKLY_CAP)]
    if member.away_until and member.away_until > now.date():
        lines.append(ctx._("- away until {date}", date=member.away_until.isoformat()))
    lines.append(ctx._("Change it with `I know about …`, `forget topic …`, `away until …`, `my cap …`."))
    ctx.reply_privately(Markup("\n").join(lines))


@router.command(WHY_ME)
async def why_me(ctx: Context) -> None:
    """Explain the questions Steward actually asked this member about (never a mere suggestion), in their
    language: the one, or the latest few."""
    asked = await asked_of(ctx.session, ctx.member.id or 0) if ctx.member else []
    if not asked:
        ctx.reply_privately(ctx._("I haven't asked you about any question yet."))
        return
    how = ctx._("Suggestions come from who answered similar threads, accepted answers, what you declared and "
                "recent activity.")
    if len(asked) == 1:
        request, question = asked[0]
        ctx.reply_privately(ctx._("I asked you about “{question}”. Why you: {reason}.", question=question.text,
                                  reason=render(load(request.facts), ctx._, ctx.locale)) + " " + how)
        return
    lines = [ctx._("I asked you about these questions (latest first):")]
    for request, question in asked:
        lines.append(ctx._("- {date} “{question}”: {reason}", date=request.at.date().isoformat(),
                           question=question.text[:200], reason=render(load(request.facts), ctx._, ctx.locale)))
    lines.append(how)
    ctx.reply_privately(Markup("\n").join(lines))
