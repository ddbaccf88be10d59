"""Closing the loop of routed questions: `solved`, `my questions`, `unanswered`, `search …`, `not me`.

The asker says `solved` in the question's thread or in a DM (or ✅s an answer, bot/features/follow_up.py),
which stops every follow-up. `my questions` lists theirs; coordinators see `unanswered`, oldest first, with
who was asked; `search` finds past answered threads (the expertise index, then answered routed
questions). An expert asked about a question can say `not me`: nobody asks them about it again.
"""

from __future__ import annotations

import re

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.events import MessagePosted
from bot.expertise.text import tokens
from bot.i18n import N_
from bot.markup import Markup
from bot.replies import message_link
from bot.router import Router
from bot.routing.explain import title
from storage.models import Member, Question
from storage.routing import (
    FOLLOWED,
    UNSOLVED,
    answered_questions,
    asked_names,
    asked_of,
    question_in_thread,
    questions_of,
    resolve_thread,
    thread_roots,
    unanswered,
)

router = Router()

FOUND = 5  # search results
_REF = re.compile(r"^\s*(?:#|n°|no\.?\s*)?(\d{1,9})\s*$", re.IGNORECASE)


def _ref(text: str) -> str:
    if not _REF.match(text):
        raise InputError(N_("Give the question's number, as `my questions` shows it. For example: `{usage}`"),
                         usage_key="solved")
    return _REF.sub(r"\1", text)


SOLVED = CommandSpec(
    key="solved", summary=N_("say your question is answered (Steward stops following it up)"),
    forms={"en": ("solved {ref}", "it's solved {ref}", "mark solved {ref}"),
           "fr": ("résolu {ref}", "c'est résolu {ref}", "question résolue {ref}")},
    argument=Argument("ref", N_("the question's number"), N_("12"), required=False, max_length=20, validate=_ref))
MY_QUESTIONS = CommandSpec(key="my-questions", summary=N_("the questions you asked, open and solved"),
                           forms={"en": ("my questions",), "fr": ("mes questions",)})
UNANSWERED = CommandSpec(
    key="unanswered", role="coordinator", summary=N_("open questions nobody answered yet, oldest first"),
    forms={"en": ("unanswered", "unanswered questions", "open questions"),
           "fr": ("sans réponse", "questions sans réponse", "questions ouvertes")})
SEARCH = CommandSpec(
    key="search", summary=N_("find past answered threads"),
    forms={"en": ("search for {query}", "search {query}"),
           "fr": ("cherche {query}", "chercher {query}", "recherche {query}", "rechercher {query}")},
    argument=Argument("query", N_("a few words"), N_("helm upgrade"), max_length=500))
NOT_ME = CommandSpec(key="not-me", summary=N_("decline a question I asked you (I won't ask you about it again)"),
                     forms={"en": ("not me", "i can't help", "i cannot help"),
                            "fr": ("pas moi", "je ne peux pas aider")})


def _name(member: Member | None) -> str:
    return "-" if member is None else member.display_name or member.platform_user_id


def _link(question: Question) -> str:
    return "" if question.is_direct or not question.thread else message_link(question.channel, question.thread)


@router.command(SOLVED)
async def solved(ctx: Context) -> None:
    """Mark the asker's question solved: the one named, the one of this thread, or their only open one."""
    assert ctx.command is not None
    member = ctx.member
    if ctx.community is None or ctx.community.id is None or member is None or member.id is None:
        ctx.reply_privately(ctx._("You have no open question. `my questions` lists yours."))
        return
    question = await _which(ctx, member)
    if question is None:
        return
    if question.asker_id != member.id:
        ctx.reply_privately(ctx._("Only the person who asked can mark it solved."))
        return
    if question.status == "solved":
        ctx.reply_privately(ctx._("“{question}” is already marked solved.", question=question.text))
        return
    question.status, question.solved_at, question.next_step_at = "solved", ctx.event.at, None
    ctx.reply_privately(ctx._("Great: “{question}” is marked solved, and nobody will be chased about it. "
                              "Thanks for closing the loop!", question=question.text))


async def _which(ctx: Context, member: Member) -> Question | None:
    """The question `solved` means, or None after telling the member how to name it."""
    assert ctx.command is not None and ctx.community is not None
    ref, event = ctx.command.argument, ctx.event
    if ref:
        question = await ctx.session.get(Question, int(ref))
        if question is None or question.community_id != ctx.community.id:
            ctx.reply_privately(ctx._("I know no question {n} here. `my questions` lists yours.", n=ref))
            return None
        return question
    if not event.is_direct and isinstance(event, MessagePosted) and event.is_reply and event.thread:
        found = await question_in_thread(ctx.session, event.platform, event.channel, event.thread)
        if found is not None:
            return found
    mine = await questions_of(ctx.session, member.id or 0, unsolved=True)
    followed = [q for q in mine if q.choice in FOLLOWED]  # a question sent to nobody is rarely the one meant
    if len(mine) == 1 or len(followed) == 1:
        return mine[0] if len(mine) == 1 else followed[0]
    if not mine:
        ctx.reply_privately(ctx._("You have no open question. `my questions` lists yours."))
        return None
    lines = [ctx._("Which one? Say `solved` with its number:")]
    lines += [ctx._("- #{n} “{text}”", n=q.id, text=title(q.text)) for q in mine]
    ctx.reply_privately(Markup("\n").join(lines))
    return None


@router.command(MY_QUESTIONS)
async def my_questions(ctx: Context) -> None:
    """The member's latest questions, open and solved, with who was asked and where to answer."""
    mine = await questions_of(ctx.session, ctx.member.id or 0) if ctx.member else []
    if not mine:
        ctx.reply_privately(ctx._("You haven't asked anything yet. Try `{usage}`.",
                                  usage=_usage(ctx, "who")))
        return
    asked = await asked_names(ctx.session, [q.id or 0 for q in mine])
    lines = [ctx._("Your questions (latest first):")]
    for q in mine:
        await resolve_thread(ctx.session, q)
        lines.append(_line(ctx, q, asked.get(q.id or 0, [])))
    if any(q.status in UNSOLVED for q in mine):
        lines.append(ctx._("Answered? Say `solved` with its number, e.g. `solved {n}`.",
                           n=next(q.id for q in mine if q.status in UNSOLVED)))
    ctx.reply_privately(Markup("\n").join(lines))


def _line(ctx: Context, q: Question, asked: list[str]) -> Markup:
    if q.status == "solved":
        state = ctx._("✅ solved")
    elif q.status == "answered":
        state = ctx._("answered")
    elif q.choice in FOLLOWED:
        state = ctx._("open")
    else:
        state = ctx._("not sent to anyone")
    who = ctx._(", asked {names}", names=", ".join(asked)) if asked else ""
    link, label = _link(q), ctx._("the thread")
    where = f" ([{label}]({link}))" if link else ""
    return ctx._("- #{n} · {date} · “{question}”: {state}{asked}{where}", n=q.id, date=q.asked_at.date().isoformat(),
                 question=title(q.text), state=state, asked=who, where=where)


def _usage(ctx: Context, key: str) -> str:
    spec = next((s for s in ctx.commands if s.key == key), None)
    return spec.usage(ctx.locale, ctx._) if spec else key


@router.command(UNANSWERED)
async def unanswered_questions(ctx: Context) -> None:
    """For coordinators: the community's followed questions still without an answer, oldest first."""
    if ctx.community is None or ctx.community.id is None:
        ctx.reply_privately(ctx._("No open question: every question routed here has an answer."))
        return
    found = await unanswered(ctx.session, ctx.community.id)
    if not found:
        ctx.reply_privately(ctx._("No open question: every question routed here has an answer."))
        return
    asked = await asked_names(ctx.session, [q.id or 0 for q in found])
    askers = {q.asker_id: await ctx.session.get(Member, q.asker_id) for q in found}
    lines = [ctx._("Open questions, oldest first:")]
    for q in found:
        await resolve_thread(ctx.session, q)
        names = ", ".join(asked.get(q.id or 0, [])) or "-"
        link, label = _link(q), ctx._("the thread")
        where = Markup(" ([{label}]({link}))").format(label=label, link=link) if link else ctx._(
            " (in a direct message)")
        lines.append(ctx._("- #{n} · {date} · {asker}: “{question}”; asked: {names}{where}", n=q.id,
                           date=q.asked_at.date().isoformat(), asker=_name(askers.get(q.asker_id)),
                           question=title(q.text), names=names, where=where))
    ctx.reply_privately(Markup("\n").join(lines))


@router.command(SEARCH)
async def search(ctx: Context) -> None:
    """Past answered threads on the words given: the index's, then answered routed questions."""
    assert ctx.command is not None
    query = ctx.command.argument.strip()
    if ctx.community is None or ctx.community.id is None:
        ctx.reply(ctx._("I don't know which community this is. A coordinator can add this channel "
                        "to Steward's config."))
        return
    index = await ctx.svc.expertise.index(ctx.community.id)
    hits = index.threads_like(query, top=FOUND)
    roots = await thread_roots(ctx.session, ctx.community.id, [h.thread_id for h in hits])
    lines: list[str] = []
    for h in hits:
        if h.thread_id in roots:
            channel, text = roots[h.thread_id]
            mark = " ✅" if h.accepted else ""
            lines.append(f"- [{title(text)}]({message_link(channel, h.thread_id)}){mark} · "
                         + ctx.n_("{n} answer", "{n} answers", h.answers))
    words = list(dict.fromkeys(tokens(query)))[:8]
    if len(lines) < FOUND and words:
        routed = await answered_questions(ctx.session, ctx.community.id, words)
        scored = sorted(routed, key=lambda q: -len(set(words) & set(tokens(q.text))))
        seen = set(roots)
        for q in scored:
            if len(lines) >= FOUND or q.thread in seen:
                continue
            seen.add(q.thread)
            mark = " ✅" if q.status == "solved" else ""
            lines.append(Markup("- [{text}]({link}){mark}").format(text=title(q.text),
                                                                   link=message_link(q.channel, q.thread), mark=mark))
    if not lines:
        ctx.reply(ctx._("I found no answered thread on “{query}”. Try other words, or ask `who knows about {query}`.",
                        query=query))
        return
    ctx.reply(Markup("\n").join([ctx._("Past answered threads on “{query}”:", query=query), *lines]))


@router.command(NOT_ME)
async def not_me(ctx: Context) -> None:
    """The expert declines the latest open question Steward asked them about."""
    asked = await asked_of(ctx.session, ctx.member.id or 0, limit=20) if ctx.member else []
    pending = [(r, q) for r, q in asked if q.status in UNSOLVED]
    if not pending:
        ctx.reply_privately(ctx._("No question is waiting for you. Thanks anyway!"))
        return
    request, question = pending[0]
    request.status = "declined"
    ctx.reply_privately(ctx._("No problem: I won't ask you about “{question}” again. Thanks for saying so!",
                              question=question.text))
