"""Consultations: a sponsor asks the community a question; members answer in the thread, with a tap or
privately; at the deadline the sponsor gets a summary of the voices (see bot/pulse/due.py).

`consult k8s: should we standardise on Helm? until friday, as a choice: yes / no / it depends`
"""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta

from bot.commands import Argument, CommandSpec, fold
from bot.context import Context
from bot.errors import InputError
from bot.events import ChoicePicked, MessagePosted
from bot.features.ritual_common import when
from bot.i18n import N_
from bot.pulse.deadline import DEFAULT_DAYS, parse_deadline
from bot.replies import AskChoice, Option, Post, React
from bot.router import Router
from storage.consultations import add_voice, open_for_thread
from storage.models import Consultation

router = Router()
_CHOICE = re.compile(r"[,;]?\s*\b(?:as a choice|en choix|au choix|choix)\s*:\s*(.+)$", re.IGNORECASE | re.DOTALL)
_UNTIL = re.compile(r"[,;]?\s*\b(?:until|by|before|jusqu'?\s*(?:a|à|au)|d'ici)\s+(.+)$", re.IGNORECASE | re.DOTALL)
_SLUG = re.compile(r"^\s*([\w-]{1,64})\s*:\s*(.+)$", re.DOTALL)
_REF = re.compile(r"^\s*#?(\d{1,9})\s*[:,]?\s*(.+)$", re.DOTALL)

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


@router.command(CONSULT)
async def consult(ctx: Context) -> None:
    """Post the sponsor's question in the community's channel, with a tap per stance when it is a choice."""
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
    if not channel:
        raise InputError(N_("This community has no channel on this platform for me to ask in."))
    consultation = Consultation(community_id=community.id, asked_by=f"{platform}:{ctx.event.sender.id}",
                                question=question, options=json.dumps(options), platform=platform, channel=channel,
                                deadline=deadline)
    ctx.session.add(consultation)
    await ctx.session.flush()
    deadline_text = when(deadline, community.timezone, ctx.locale)
    body = ctx._("📣 **A sponsor asks the community** (consultation {id}, open until {when}):\n> {question}\n"
                 "Answer in this thread, or privately with `answer consultation {id}: …`. Your words reach the "
                 "sponsor only if you said `quotes on`; otherwise they are only counted.",
                 id=consultation.id, when=deadline_text, question=question)
    tag = f"consultation:{consultation.id}"  # its message id is found through the outbox once it is posted
    if options:
        ctx.send(AskChoice(channel=channel, text=body, key=f"consult:{consultation.id}",
                           options=tuple(Option(id=str(i), label=o) for i, o in enumerate(options))), tag=tag)
    else:
        ctx.send(Post(channel=channel, text=body), tag=tag)
    ctx.reply_privately(ctx._("Asked. I'll send you a summary of the voices on {when}.", when=deadline_text))


def _stance(consultation: Consultation, text: str) -> str | None:
    folded = fold(text).strip()
    for option in json.loads(consultation.options or "[]"):
        if folded.startswith(fold(option)):
            return str(option)
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
    options = json.loads(consultation.options) if consultation else []
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
