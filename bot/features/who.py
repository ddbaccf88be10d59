"""`who knows about X?`: suggest colleagues and past threads, offer to ask them, follow the question."""

from __future__ import annotations

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.events import ChoicePicked, MessagePosted
from bot.expertise import ThreadHit
from bot.expertise.text import overlap
from bot.i18n import N_
from bot.replies import AskChoice, DirectMessage, Option, message_link
from bot.router import Router
from bot.routing.care import SUGGESTED, UNANSWERED_AFTER, choose
from bot.routing.explain import reason, title
from storage.models import Member, Question, RoutingRequest
from storage.routing import requests_for, thread_roots
from storage.types import utcnow

router = Router()

PAST_THREADS = 3
CLOSE_MATCH = 0.6  # share of words in common (Dice) from which a past thread is the same question

WHO = CommandSpec(
    key="who",
    forms={
        "en": ("who knows about {topic}", "who knows {topic}", "who can help with {topic}"),
        "fr": ("qui connaît {topic}", "qui s'y connaît en {topic}", "qui peut m'aider sur {topic}"),
    },
    summary=N_("find colleagues who know a topic, or a past thread that answers it"),
    argument=Argument("topic", N_("a topic or a question"), N_("kubernetes"), max_length=2000),
)


@router.command(WHO)
async def who_knows(ctx: Context) -> None:
    """Rank members from the community's history, explain each suggestion, offer to ask them."""
    assert ctx.command is not None
    topic = ctx.command.argument
    if ctx.community is None or ctx.community.id is None:
        ctx.reply(ctx._("I don't know which community this is. A coordinator can add this channel "
                        "to Steward's config."))
        return
    now = utcnow()
    asker = await ctx.ensure_member()
    index = await ctx.svc.expertise.index(ctx.community.id)
    chosen = await choose(ctx.session, index, ctx.community.id, topic, asker=ctx.event.sender.id, now=now)
    hits = index.threads_like(topic, top=PAST_THREADS)
    roots = await thread_roots(ctx.session, ctx.community.id, [h.thread_id for h in hits]
                               + [t for c in chosen for t in c.suggestion.evidence.thread_ids[:1]])
    if not chosen and not hits:
        ctx.reply(ctx._("I don't know yet who knows about “{topic}”. Ask in the channel: when someone "
                        "answers, I'll remember. If it's you, say `I know about {topic}`.", topic=topic))
        return
    found = [h for h in hits if h.thread_id in roots]
    close = [h for h in found if overlap(topic, roots[h.thread_id][1]) >= CLOSE_MATCH]
    lines = []
    if close:  # the same question was asked and answered: that thread first, people second
        lines.append(ctx._("This past thread asks much the same:"))
        lines += [_thread_line(h, roots) for h in close]
    if chosen:
        lines.append(_heading(ctx, topic, len(chosen)))
        for c in chosen:
            why = reason(c.suggestion.evidence, ctx._, ctx.locale)
            example = next((t for t in c.suggestion.evidence.thread_ids if t in roots), None)
            link = f" ([{ctx._('example')}]({message_link(roots[example][0], example)}))" if example else ""
            lines.append(f"- **{_name(c.member)}**: {why}{link}")
    rest = [h for h in found if h not in close]
    if rest:
        lines.append(ctx._("Past threads that may already answer it:"))
        lines += [_thread_line(h, roots) for h in rest]
    ctx.reply("\n".join(lines))
    if not chosen:
        return
    question = await _record(ctx, asker, topic, [(c.member, reason(c.suggestion.evidence, ctx._, ctx.locale))
                                                 for c in chosen])
    here = _thread(ctx)
    ctx.send(AskChoice(channel=ctx.event.channel, thread=None if ctx.event.is_direct else here,
                       user=ctx.event.sender.id, key=f"route:{question.id}",
                       text=ctx._("Shall I ask them for you? They'll get a direct message with your question."),
                       options=(Option(id="ask", label=ctx._("Ask them")),
                                Option(id="no", label=ctx._("No thanks")))))


def _heading(ctx: Context, topic: str, n: int) -> str:
    # Fewer than three with evidence are said as such: nobody is added to make up the number.
    if n >= SUGGESTED:
        return ctx._("Here is who may know about “{topic}”:", topic=topic)
    if n == 1:
        return ctx._("I found only one person who may know about “{topic}”:", topic=topic)
    return ctx._("I found only {n} people who may know about “{topic}”:", n=n, topic=topic)


def _thread_line(hit: ThreadHit, roots: dict[str, tuple[str, str]]) -> str:
    channel, text = roots[hit.thread_id]
    mark = " ✅" if hit.accepted else ""
    return f"- [{title(text)}]({message_link(channel, hit.thread_id)}){mark}"


def _name(member: Member) -> str:
    return member.display_name or member.platform_user_id


def _thread(ctx: Context) -> str:
    event = ctx.event
    if isinstance(event, MessagePosted):
        return event.thread or event.message_id
    return event.thread or event.event_id


async def _record(ctx: Context, asker: Member, text: str, chosen: list[tuple[Member, str]]) -> Question:
    assert ctx.community is not None and ctx.community.id is not None and asker.id is not None
    now = utcnow()
    question = Question(community_id=ctx.community.id, asker_id=asker.id, platform=ctx.event.platform,
                        channel=ctx.event.channel, thread=_thread(ctx), is_direct=ctx.event.is_direct, text=text,
                        asked_at=now, next_step_at=now + UNANSWERED_AFTER)
    ctx.session.add(question)
    await ctx.session.flush()
    assert question.id is not None
    for member, why in chosen:
        ctx.session.add(RoutingRequest(question_id=question.id, member_id=member.id or 0, reason=why[:500], at=now))
    await ctx.session.flush()
    return question


@router.choice("route")
async def ask_them(ctx: Context) -> None:
    """The asker chose: send each suggested expert a direct message with the question and a link."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    question = await ctx.session.get(Question, int(event.key.partition(":")[2] or 0))
    if question is None:
        return
    asker = await ctx.session.get(Member, question.asker_id)
    if asker is None or asker.platform_user_id != event.sender.id:
        ctx.reply_privately(ctx._("Only the person who asked can choose this."))
        return
    if event.option != "ask":
        ctx.reply_privately(ctx._("OK, I won't ask anyone. Good luck!"))
        return
    asked = await ask_experts(ctx, question, asker, [r for r in await requests_for(ctx.session, question.id or 0)
                                                    if r.status == "suggested"])
    if asked:
        ctx.reply(ctx._("Done: I asked {names}. I'll keep an eye on this thread.", names=", ".join(asked)))


async def ask_experts(ctx: Context, question: Question, asker: Member, requests: list[RoutingRequest]) -> list[str]:
    """DM each requested expert (in their language) and mark the requests as asked; returns their names."""
    from bot.i18n import translator

    names = []
    link = message_link(question.channel, question.thread)
    for request in requests:
        expert = await ctx.session.get(Member, request.member_id)
        if expert is None:
            continue
        _ = translator(expert.locale or ctx.locale)
        where = "" if question.is_direct else _(" ([the thread]({link}))", link=link)
        ctx.send(DirectMessage(user=expert.platform_user_id, text=_(
            "Hi {name}! {asker} asked: “{question}”{where}. Why you: {why}. "
            "If you can help, reply in the thread or reach out to them. Busy? Say `away until 2026-12-31`; "
            "`why me?` explains.", name=_name(expert), asker=_name(asker), question=question.text,
            where=where, why=request.reason or _("know this community well"))))
        request.status, request.at = "asked", utcnow()
        names.append(_name(expert))
    return names
