"""Consultations: a sponsor asks the community a question; members answer in the thread, with a tap or
privately; at the deadline the sponsor gets a summary of the voices (see bot/pulse/due.py), then answers the
community — what was decided and how the voices weighed — in the channel where it was asked.

`consult k8s: should we standardise on Helm? until friday, as a choice: yes / no / it depends`
`decision on consultation 3: Helm for new services; kustomize stays where it works` (or a tap on the prompt
after the summary); `consultations` lists open and past ones with their outcome. A sponsor who has not
answered a week after the summary is reminded once, and the coordinators are told (bot/pulse/due.py).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta

from babel.dates import format_date
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import Argument, CommandSpec, fold
from bot.config import CommunityConfig
from bot.context import Context
from bot.errors import InputError
from bot.events import ChoicePicked, MessagePosted
from bot.features.ritual_common import when
from bot.i18n import N_, markup_plural_translator, markup_translator, translator
from bot.markup import Markup
from bot.pulse.deadline import DEFAULT_DAYS, parse_deadline
from bot.replies import AskChoice, Option, Post, React, message_link
from bot.router import Router
from storage import outbox
from storage.communities import channels_of
from storage.consultations import add_voice, decide, of_community, open_for_thread, stance_counts
from storage.members import find_member
from storage.models import Community, Consultation

router = Router()
_CHOICE = re.compile(r"[,;]?\s*\b(?:as a choice|en choix|au choix|choix)\s*:\s*(.+)$", re.IGNORECASE | re.DOTALL)
_UNTIL = re.compile(r"[,;]?\s*\b(?:until|by|before|jusqu'?\s*(?:a|à|au)|d'ici)\s+(.+)$", re.IGNORECASE | re.DOTALL)
_SLUG = re.compile(r"^\s*([\w-]{1,64})\s*:\s*(.+)$", re.DOTALL)
_REF = re.compile(r"^\s*#?(\d{1,9})\s*[:,]?\s*(.+)$", re.DOTALL)
_ID = re.compile(r"^\s*#?(\d{1,9})\s*$")
LATER = "later"  # the prompt's "not decided yet" option
NOT_DECIDED = N_("Not decided yet")
REMIND_AFTER = timedelta(days=7)  # a summary without an answer this long: the sponsor is reminded, once

CONSULT = CommandSpec(
    key="consult", role="sponsor", summary=N_("ask the community a question; you get a summary of the voices"),
    forms={"en": ("consult {question}",), "fr": ("consulter {question}",)},
    argument=Argument("question", N_("a question and a deadline"),
                      N_("k8s: should we standardise on Helm? until friday, as a choice: yes / no / it depends"),
                      max_length=1000))
ANSWER = CommandSpec(
    key="answer-consultation", summary=N_("answer a consultation privately"),
    forms={"en": ("answer consultation {answer}",),
           "fr": ("répondre consultation {answer}", "répondre à la consultation {answer}")},
    argument=Argument("answer", N_("the consultation's number and your answer"), N_("3: yes, Helm is simpler"),
                      max_length=1000))
DECISION = CommandSpec(
    key="decision", role="sponsor",
    summary=N_("tell the community what you decided after a consultation (posted where you asked)"),
    forms={"en": ("decision on consultation {decision}", "decision consultation {decision}"),
           "fr": ("décision sur la consultation {decision}", "décision consultation {decision}")},
    argument=Argument("decision", N_("the consultation's number and what you decided"),
                      N_("3: Helm for new services; kustomize stays where it works"), max_length=1000))
LIST = CommandSpec(
    key="consultations", summary=N_("open and past consultations, with what was decided"),
    forms={"en": ("consultations", "past consultations"), "fr": ("consultations", "consultations passées")})


def _options(consultation: Consultation) -> list[str]:
    return [str(o) for o in json.loads(consultation.options or "[]")]


async def locale_of(session: AsyncSession, community: Community, ref: str) -> str:
    """The language of the person `platform:user id` in this community: their choice, else the community's."""
    platform, _sep, user = ref.partition(":")
    member = await find_member(session, community.id, platform, user) if user and community.id else None
    return (member.locale if member else None) or community.locale


async def weighing(session: AsyncSession, consultation: Consultation, cc: CommunityConfig | None,
                   locale: str) -> Markup:
    """How the voices weighed, in one sentence: how many, and counts by stance from k voices on."""
    assert consultation.id is not None
    _, n_ = markup_translator(locale), markup_plural_translator(locale)
    k = cc.survey_min_answers if cc else 5
    voices, by_stance = await stance_counts(session, consultation.id)
    counted = n_("{n} voice", "{n} voices", voices)
    options = _options(consultation)
    if options and voices >= k:
        counts = Markup(", ").join([_("{option}: {n}", option=o, n=by_stance.get(o, 0)) for o in options])
        return _("How the voices weighed: {voices} ({counts}).", voices=counted, counts=counts)
    if options:
        return _("How the voices weighed: {voices} (counts by stance are shown from {k} voices on).",
                 voices=counted, k=k)
    return _("How the voices weighed: {voices}.", voices=counted)


def decision_prompt(consultation: Consultation, user: str, locale: str) -> AskChoice | None:
    """After the summary (and in the reminder): the stances as one-tap answers, when it was a choice."""
    options = _options(consultation)
    if not options:
        return None
    _ = markup_translator(locale)
    return AskChoice(channel="", user=user, key=f"decide:{consultation.id}",
                     text=_("What did you decide? Pick it to tell the community where you asked, or say it in your "
                            "own words: `decision on consultation {id}: …`", id=consultation.id),
                     options=(*(Option(id=str(i), label=o) for i, o in enumerate(options)),
                              Option(id=LATER, label=translator(locale)(NOT_DECIDED))))


async def posted_message(session: AsyncSession, consultation: Consultation) -> str | None:
    """The message id of the consultation's post, once the outbox sent it."""
    if consultation.message_id:
        return consultation.message_id
    sent = await outbox.message_of(session, f"consultation:{consultation.id}")
    return sent[2] if sent else None


@router.command(CONSULT)
async def consult(ctx: Context) -> None:
    """Post the sponsor's question in the community's channel (in the community's language), with a tap per
    stance when it is a choice."""
    assert ctx.command is not None
    community, cc = ctx.community, ctx.community_config
    if community is None or community.id is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    text = ctx.command.argument
    if (m := _SLUG.match(text)) and m.group(1) == community.slug:
        text = m.group(2)
    options: list[str] = []
    if m := _CHOICE.search(text):
        options = [o.strip() for o in m.group(1).split("/") if o.strip()]
        text = text[:m.start()]
        if not 2 <= len(options) <= 6 or any(len(o) > 60 for o in options):
            raise InputError(N_("A choice needs 2 to 6 short options separated by /, e.g. `{usage}`."),
                             usage_key="consult")
    now = ctx.event.at.astimezone(UTC)
    deadline = now + timedelta(days=DEFAULT_DAYS)
    if m := _UNTIL.search(text):
        deadline = parse_deadline(m.group(1), timezone=community.timezone, now=now)
        text = text[:m.start()]
    question = text.strip().rstrip(",;")
    if len(question) < 5:
        raise InputError(N_("Almost: what would you like to ask? For example: `{usage}`"), usage_key="consult")
    platform = ctx.event.platform
    channel = next((ref.partition(":")[2] for ref in (cc.channels if cc else ()) if ref.startswith(platform + ":")),
                   "")
    if not channel and cc is None:  # a community made for the terminal: its own channel there
        channel = next((c.platform_id for c in await channels_of(ctx.session, community.id)
                        if c.platform == platform), "")
    if not channel:
        raise InputError(N_("This community has no channel on this platform for me to ask in."))
    consultation = Consultation(community_id=community.id, asked_by=f"{platform}:{ctx.event.sender.id}",
                                question=question, options=json.dumps(options), platform=platform, channel=channel,
                                deadline=deadline)
    ctx.session.add(consultation)
    await ctx.session.flush()
    _ = markup_translator(community.locale)  # the channel reads the community's language
    body = _("📣 **A sponsor asks the community** (consultation {id}, open until {when}):\n> {question}\n"
             "Answer in this thread, or privately with `answer consultation {id}: …`. Your words reach the "
             "sponsor only if you said `quotes on`; otherwise they are only counted.",
             id=consultation.id, when=when(deadline, community.timezone, community.locale), question=question)
    tag = f"consultation:{consultation.id}"  # its message id is found through the outbox once it is posted
    if options:
        ctx.send(AskChoice(channel=channel, text=body, key=f"consult:{consultation.id}",
                           options=tuple(Option(id=str(i), label=o) for i, o in enumerate(options))), tag=tag)
    else:
        ctx.send(Post(channel=channel, text=body), tag=tag)
    ctx.reply_privately(ctx._("Asked. I'll send you a summary of the voices on {when}.",
                              when=when(deadline, community.timezone, ctx.locale)))


def _stance(consultation: Consultation, text: str) -> str | None:
    folded = fold(text).strip()
    for option in _options(consultation):
        if folded.startswith(fold(option)):
            return option
    return None


async def _voice(ctx: Context, consultation: Consultation, *, stance: str | None, text: str) -> None:
    member = await ctx.ensure_member()
    assert member.id is not None and consultation.id is not None
    await add_voice(ctx.session, consultation.id, member.id, stance=stance, text=text[:1000])


@router.choice("consult")
async def tap(ctx: Context) -> None:
    """A stance picked with one tap (it replaces the member's previous stance)."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    raw = event.key.partition(":")[2]
    consultation = await ctx.session.get(Consultation, int(raw)) if raw.isdigit() else None
    options = _options(consultation) if consultation else []
    if (consultation is None or consultation.status != "open" or ctx.community is None
            or consultation.community_id != ctx.community.id or not event.option.isdigit()
            or int(event.option) >= len(options)):
        ctx.reply_privately(ctx._("That consultation is closed; its summary went to the sponsor."))
        return
    await _voice(ctx, consultation, stance=options[int(event.option)], text="")
    ctx.reply_privately(ctx._("Noted: {answer}. Add a few words in the thread if you like.",
                              answer=options[int(event.option)]))


@router.on(MessagePosted)
async def thread_reply(ctx: Context) -> None:
    """A reply in a consultation's thread is a voice."""
    event = ctx.event
    assert isinstance(event, MessagePosted)
    if not event.is_reply or event.thread is None or event.addressed or ctx.command is not None:
        return
    consultation = await open_for_thread(ctx.session, event.platform, event.thread)
    if consultation is None:
        return
    await _voice(ctx, consultation, stance=_stance(consultation, event.text), text=event.text)
    ctx.send(React(channel=event.channel, message_id=event.message_id, emoji="ballot_box_with_check"))


@router.command(ANSWER)
async def answer_privately(ctx: Context) -> None:
    """`answer consultation 3: …` in a direct message or an ephemeral command."""
    assert ctx.command is not None
    m = _REF.match(ctx.command.argument)
    if m is None:
        raise InputError(N_("Give the consultation's number and your answer, e.g. `{usage}`."),
                         usage_key="answer-consultation")
    consultation = await ctx.session.get(Consultation, int(m.group(1)))
    if consultation is None or ctx.community is None or consultation.community_id != ctx.community.id:
        raise InputError(N_("There is no consultation {id} here."), id=m.group(1))
    if consultation.status != "open":
        raise InputError(N_("That consultation is closed; its summary went to the sponsor."))
    await _voice(ctx, consultation, stance=_stance(consultation, m.group(2)), text=m.group(2).strip())
    ctx.reply_privately(ctx._("Thanks! Your voice is counted for consultation {id}.", id=consultation.id))


async def _decidable(ctx: Context, raw_id: str) -> tuple[Consultation, Community]:
    """The consultation the sender may answer now: the sponsor who asked it (any sponsor of its community once
    the one who asked is forgotten), after its summary, not answered yet. `InputError` says why not."""
    consultation = await ctx.session.get(Consultation, int(raw_id), with_for_update=True)
    community = await ctx.session.get(Community, consultation.community_id) if consultation else None
    if consultation is None or community is None:
        raise InputError(N_("There is no consultation {id} here."), id=raw_id)
    ref = f"{ctx.event.platform}:{ctx.event.sender.id}"
    cc = ctx.config.community(community.slug)
    if consultation.asked_by != ref and (consultation.asked_by or cc is None or ref not in cc.sponsors):
        raise InputError(N_("Only the sponsor who asked consultation {id} can answer it."), id=raw_id)
    if consultation.status == "open":
        raise InputError(N_("Consultation {id} is still open until {when}: you will get the voices then, and can "
                            "answer after."), id=raw_id, when=when(consultation.deadline, community.timezone,
                                                                    ctx.locale))
    if consultation.decision is not None:
        raise InputError(N_("You already answered consultation {id}: “{decision}”."), id=raw_id,
                         decision=consultation.decision)
    return consultation, community


async def _announce(ctx: Context, consultation: Consultation, community: Community, decision: str) -> None:
    """Keep the answer and post it in the channel where it was asked, in the community's language."""
    decide(consultation, decision, ctx.event.at)
    cc = ctx.config.community(community.slug)
    _ = markup_translator(community.locale)
    lines = [_("📣 **The sponsor's answer to consultation {id}**: “{question}”", id=consultation.id,
               question=consultation.question),
             Markup("> {decision}").format(decision=decision.replace("\n", " ")),
             await weighing(ctx.session, consultation, cc, community.locale)]
    posted = await posted_message(ctx.session, consultation)
    if posted:
        lines.append(_("[The consultation's thread]({link})", link=message_link(consultation.channel, posted)))
    ctx.send_on(consultation.platform, Post(channel=consultation.channel, text=Markup("\n").join(lines)))
    ctx.reply_privately(ctx._("Posted in the community's channel, where you asked. Thank you for closing the loop!"))


@router.command(DECISION)
async def decision(ctx: Context) -> None:
    """`decision on consultation 3: …`: the sponsor's answer, posted where the consultation was asked."""
    assert ctx.command is not None
    m = _REF.match(ctx.command.argument)
    if m is None or len(m.group(2).strip()) < 2:
        raise InputError(N_("Give the consultation's number and what you decided, e.g. `{usage}`."),
                         usage_key="decision")
    consultation, community = await _decidable(ctx, m.group(1))
    await _announce(ctx, consultation, community, m.group(2).strip())


@router.choice("decide")
async def decided_by_tap(ctx: Context) -> None:
    """A tap on the prompt after the summary: one of the stances is the decision (or "not decided yet")."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    raw = event.key.partition(":")[2]
    if not raw.isdigit():
        return
    consultation, community = await _decidable(ctx, raw)
    options = _options(consultation)
    if event.option == LATER or not event.option.isdigit() or int(event.option) >= len(options):
        ctx.reply_privately(ctx._("No hurry. When you have decided: `decision on consultation {id}: …`",
                                  id=consultation.id))
        return
    await _announce(ctx, consultation, community, options[int(event.option)])


def _day(moment: object, locale: str) -> str:
    return format_date(moment, "medium", locale=locale)  # type: ignore[arg-type]


@router.command(LIST)
async def consultations(ctx: Context) -> None:
    """Open consultations with how to answer, past ones with their outcome (or that it is still awaited)."""
    community = ctx.community
    if community is None or community.id is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    found = await of_community(ctx.session, community.id)
    if not found:
        ctx.reply_privately(ctx._("No consultation yet in {name}. Sponsors ask the community with `{usage}`.",
                                  name=community.name or community.slug, usage=CONSULT.usage(ctx.locale, ctx._)))
        return
    lines = [ctx._("**Consultations in {name}**", name=community.name or community.slug)]
    waiting = [c for c in found if c.status != "open" and c.decision is None]
    if waiting and ({"coordinator", "sponsor"} & ctx.roles):
        lines.append(ctx.n_("{n} consultation still waits for its sponsor's answer: {ids}.",
                            "{n} consultations still wait for their sponsor's answer: {ids}.", len(waiting),
                            ids=", ".join(str(c.id) for c in waiting)))
    for c in found:
        assert c.id is not None
        voices, _stances = await stance_counts(ctx.session, c.id)
        if c.status == "open":
            lines.append(ctx._("- {id}, open until {when}: “{question}” ({voices}). Answer with `answer "
                               "consultation {id}: …`", id=c.id, question=c.question,
                               when=when(c.deadline, community.timezone, ctx.locale),
                               voices=ctx.n_("{n} voice so far", "{n} voices so far", voices)))
        elif c.decision is not None:
            lines.append(ctx._("- {id}, closed on {day}: “{question}” ({voices}). Decided: “{decision}”", id=c.id,
                               day=_day(c.closed_at or c.deadline, ctx.locale),
                               question=c.question, decision=c.decision,
                               voices=ctx.n_("{n} voice", "{n} voices", voices)))
        else:
            lines.append(ctx._("- {id}, closed on {day}: “{question}” ({voices}). Waiting for the sponsor's answer.",
                               id=c.id, day=_day(c.closed_at or c.deadline, ctx.locale), question=c.question,
                               voices=ctx.n_("{n} voice", "{n} voices", voices)))
    ctx.reply_privately(Markup("\n").join(lines))

