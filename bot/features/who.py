"""`who knows about X?`: suggest colleagues and past threads, offer to ask them, follow the question."""

from __future__ import annotations

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.events import ChoicePicked, MessagePosted
from bot.expertise import ThreadHit
from bot.expertise.text import overlap
from bot.i18n import N_, markup_translator, translator
from bot.markup import Markup
from bot.replies import AskChoice, DirectMessage, Option, Post, message_link
from bot.router import Router
from bot.routing.care import SUGGESTED, UNANSWERED_AFTER, choose
from bot.routing.explain import Fact, dump, facts, load, reason, render, title
from storage.communities import channels_of
from storage.models import Member, Question, RoutingRequest
from storage.routing import FOLLOWED, POSTED, requests_for, thread_roots
from storage.types import utcnow

router = Router()

PAST_THREADS = 3
CLOSE_MATCH = 0.6  # share of words in common (Dice) from which a past thread is the same question

WHO = CommandSpec(
    key="who",
    forms={
        "en": ("who knows about {topic}", "who knows {topic}", "who can help with {topic}",
               "anyone know about {topic}", "anyone know {topic}", "anybody know about {topic}",
               "anybody know {topic}", "does anyone know about {topic}", "does anyone know {topic}",
               "does anybody know about {topic}", "does anybody know {topic}", "anyone familiar with {topic}"),
        "fr": ("qui connaît {topic}", "qui s'y connaît en {topic}", "qui peut m'aider sur {topic}",
               "qui s'y connaît {topic}", "qui connaît bien {topic}", "quelqu'un connaît {topic}",
               "quelqu'un connaît-il {topic}", "quelqu'un s'y connaît en {topic}", "quelqu'un s'y connaît {topic}",
               "est-ce que quelqu'un connaît {topic}", "y a-t-il quelqu'un qui connaît {topic}"),
    },
    summary=N_("find colleagues who know a topic, or a past thread that answers it"),
    argument=Argument("topic", N_("a topic or a question"), N_("kubernetes"), max_length=2000),
)


@router.command(WHO)
async def who_knows(ctx: Context) -> None:
    """Rank members from the community's history, explain each suggestion, offer to ask them."""
    assert ctx.command is not None
    topic = ctx.command.argument
    assert ctx.community is not None and ctx.community.id is not None  # the core asks for a community first
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
            why = reason(c.suggestion.evidence, translator(ctx.locale), ctx.locale)
            example = next((t for t in c.suggestion.evidence.thread_ids if t in roots), None)
            link = Markup(" ([{label}]({url}))").format(label=ctx._("example"), url=message_link(
                roots[example][0], example)) if example else Markup()
            lines.append(ctx._("- **{name}**: {why}{link}", name=_name(c.member), why=why, link=link))
    rest = [h for h in found if h not in close]
    if rest:
        lines.append(ctx._("Past threads that may already answer it:"))
        lines += [_thread_line(h, roots) for h in rest]
    ctx.reply(Markup("\n").join(lines))
    if not chosen:
        return
    question = await _record(ctx, asker, topic, [(c.member, facts(c.suggestion.evidence)) for c in chosen])
    ctx.send(await _offer(ctx, question))


async def _offer(ctx: Context, question: Question) -> AskChoice:
    """Ask the asker whether to ask the experts; a question asked in a DM may also go to the community
    channel, so it has a thread anyone can answer in."""
    key, no = f"route:{question.id}", Option(id="no", label=ctx._("No thanks"))
    if ctx.event.is_direct and await community_channel(ctx) is not None:
        return AskChoice(channel=ctx.event.channel, user=ctx.event.sender.id, key=key, text=ctx._(
            "Shall I ask them for you? I can post your question in the community channel, where anyone can answer "
            "in its thread, or keep it to direct messages with them."),
            options=(Option(id="post", label=ctx._("Post it in the channel and ask them")),
                     Option(id="ask", label=ctx._("Ask them privately")), no))
    return AskChoice(channel=ctx.event.channel, thread=None if ctx.event.is_direct else _thread(ctx),
                     user=ctx.event.sender.id, key=key,
                     text=ctx._("Shall I ask them for you? They'll get a direct message with your question."),
                     options=(Option(id="ask", label=ctx._("Ask them")), no))


async def community_channel(ctx: Context) -> str | None:
    """Where a DM question can be posted: the community's first configured channel on this platform, else
    the first one Steward knows there."""
    if ctx.community is None or ctx.community.id is None:
        return None
    platform = ctx.event.platform
    for ref in ctx.community_config.channels if ctx.community_config else ():
        where, _sep, channel = ref.partition(":")
        if where == platform and channel:
            return channel
    known = [c for c in await channels_of(ctx.session, ctx.community.id) if c.platform == platform]
    return known[0].platform_id if known else None


def _heading(ctx: Context, topic: str, n: int) -> Markup:
    # Fewer than three with evidence are said as such: nobody is added to make up the number.
    if n >= SUGGESTED:
        return ctx._("Here is who may know about “{topic}”:", topic=topic)
    return ctx.n_("I found only one person who may know about “{topic}”:",
                  "I found only {n} people who may know about “{topic}”:", n, topic=topic)


def _thread_line(hit: ThreadHit, roots: dict[str, tuple[str, str]]) -> Markup:
    channel, text = roots[hit.thread_id]
    mark = " ✅" if hit.accepted else ""
    return Markup("- [{title}]({url}){mark}").format(title=title(text), url=message_link(channel, hit.thread_id),
                                                     mark=mark)


def _name(member: Member) -> str:
    return member.display_name or member.platform_user_id


def _thread(ctx: Context) -> str:
    event = ctx.event
    if isinstance(event, MessagePosted):
        return event.thread or event.message_id
    return event.thread or event.event_id


async def _record(ctx: Context, asker: Member, text: str, chosen: list[tuple[Member, list[Fact]]]) -> Question:
    """The question and its suggestions; nothing is followed up until the asker chooses to ask."""
    assert ctx.community is not None and ctx.community.id is not None and asker.id is not None
    now = ctx.event.at  # the event's time: the terminal's clock moves with `/advance`
    question = Question(community_id=ctx.community.id, asker_id=asker.id, platform=ctx.event.platform,
                        channel=ctx.event.channel, thread=_thread(ctx), is_direct=ctx.event.is_direct, text=text,
                        asked_at=now)
    ctx.session.add(question)
    await ctx.session.flush()
    assert question.id is not None
    for member, found in chosen:
        ctx.session.add(RoutingRequest(question_id=question.id, member_id=member.id or 0, facts=dump(found), at=now))
    await ctx.session.flush()
    return question


@router.choice("route")
async def ask_them(ctx: Context) -> None:
    """The asker chose: DM each suggested expert (after posting a DM question in the channel), or nobody."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    question = await ctx.session.get(Question, int(event.key.partition(":")[2] or 0))
    if question is None:
        return
    asker = await ctx.session.get(Member, question.asker_id)
    if asker is None or asker.platform_user_id != event.sender.id:
        ctx.reply_privately(ctx._("Only the person who asked can choose this."))
        return
    if question.choice in FOLLOWED or question.status == "solved":
        return  # chosen already (a second tap, or a poll answered twice)
    if event.option not in ("ask", "post"):
        question.choice, question.next_step_at = "no", None
        ctx.reply_privately(ctx._("OK, I won't ask anyone. Good luck!"))
        return
    channel = await community_channel(ctx) if event.option == "post" and question.is_direct else None
    if channel is not None:
        _post(ctx, question, asker, channel)
    question.choice = "post" if channel is not None else "ask"
    question.next_step_at = event.at + UNANSWERED_AFTER
    asked = await ask_experts(ctx, question, asker, [r for r in await requests_for(ctx.session, question.id or 0)
                                                    if r.status == "suggested"])
    names = ", ".join(asked) or "-"
    if channel is not None:
        ctx.reply(ctx._("Done: I posted your question in the community channel and asked {names}. Say `solved` "
                        "here once you have your answer.", names=names))
    elif asked:
        ctx.reply(ctx._("Done: I asked {names}. I'll keep an eye on this thread.", names=names))


def _post(ctx: Context, question: Question, asker: Member, channel: str) -> None:
    """Post a DM question in the community channel (in the community's language); its thread becomes the
    question's once the post is sent (storage.routing finds it by its tag)."""
    assert ctx.community is not None
    _ = markup_translator(ctx.community.locale)
    ctx.send(Post(channel=channel, text=_(
        "❓ **{asker}** asks: “{question}” Can you help? Answer in this thread.", asker=_name(asker),
        question=question.text)), tag=f"{POSTED}{question.id}")
    question.channel, question.thread, question.is_direct = channel, "", False


async def ask_experts(ctx: Context, question: Question, asker: Member, requests: list[RoutingRequest]) -> list[str]:
    """DM each requested expert (in their language) and mark the requests as asked; returns their names."""
    names = []
    link = message_link(question.channel, question.thread)
    for request in requests:
        expert = await ctx.session.get(Member, request.member_id)
        if expert is None:
            continue
        locale = expert.locale or (ctx.community.locale if ctx.community else ctx.locale)  # theirs, not the asker's
        _ = markup_translator(locale)
        if question.is_direct:
            where = Markup()
        elif question.thread:
            where = _(" ([the thread]({link}))", link=link)
        else:
            where = _(" (posted in the community channel: answer in its thread)")
        ctx.send(DirectMessage(user=expert.platform_user_id, text=_(
            "Hi {name}! {asker} asked: “{question}”{where}. Why you: {why}. If you can help, reply in the thread "
            "or reach out to them. Can't this time? Say `not me`. Busy? Say `away until 2026-12-31`; `why me?` "
            "explains.", name=_name(expert), asker=_name(asker), question=question.text, where=where,
            why=render(load(request.facts), _, locale))))
        request.status, request.at = "asked", ctx.event.at
        names.append(_name(expert))
    return names
