"""Renewal: the community's anniversary, and the periodic "what should we explore next?" prompt.

Answers come as `next: …` messages or as replies in the prompt's thread; the coordinators get them
in a direct-message digest a week after the prompt.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.events import MessagePosted
from bot.features.consultations import locale_of
from bot.features.ritual_common import RitualKind, RitualRun, declare
from bot.i18n import N_, markup_translator
from bot.markup import Markup
from bot.replies import DirectMessage, Post, React
from bot.router import Router
from storage import outbox
from storage.models import ExploreIdea
from storage.rituals import add_idea, undigested_ideas
from storage.types import utcnow

router = Router()
_NEXT = re.compile(r"^\s*(?:next|prochain|à explorer|a explorer)\s*:\s*(.+)$", re.IGNORECASE | re.DOTALL)

NEXT = CommandSpec(
    key="explore-next", summary=N_("suggest what the community should explore next"),
    forms={"en": ("next: {idea}", "next : {idea}"), "fr": ("prochain : {idea}", "prochain: {idea}",
                                                             "à explorer : {idea}", "à explorer: {idea}")},
    argument=Argument("idea", N_("your idea"), N_("platform engineering with Backstage"), max_length=500))


async def renewal_moment(ctx: Context, run: RitualRun) -> None:
    """On the community's anniversary: a short retrospective and an invitation to a renewal workshop."""
    community = ctx.community
    assert community is not None
    founded = community.founded_on
    years = run.occurrence.year - founded.year if founded else 0
    ctx.send(Post(channel=ctx.event.channel, text=Markup("\n").join([
        ctx.n_("🎂 **{name}** is {n} year old today! Thank you all.",
               "🎂 **{name}** is {n} years old today! Thank you all.", years, name=community.name),
        ctx._("A short retrospective, in this thread: what helped you most this year? What should we stop, "
              "start or keep?"),
        ctx._("And you're invited to a renewal workshop to choose next year's themes and rhythm: a coordinator "
              "will propose a date; tell them if you'd like to help."),
    ])))


async def explore_prompt(ctx: Context, run: RitualRun) -> None:
    """Ask the community what to explore next (answers go to the coordinators)."""
    ctx.send(Post(channel=ctx.event.channel, text=ctx._(
        "🧭 What should we explore next? Reply in this thread, or write `next: your idea`. "
        "I'll pass every idea to the coordinators.")))


async def explore_digest(ctx: Context, run: RitualRun) -> None:
    """A week after the prompt: every idea not yet sent, in a DM to each coordinator of this platform."""
    community, cc = ctx.community, ctx.community_config
    assert community is not None and community.id is not None
    ideas = await undigested_ideas(ctx.session, community.id)
    if not ideas or cc is None:
        return
    listed = [Markup("- {idea} ({name})").format(idea=idea.text, name=member.display_name or "?")
              for idea, member in ideas]
    for ref in cc.coordinators:
        platform, _, user = ref.partition(":")
        if platform == ctx.event.platform:
            mine = markup_translator(await locale_of(ctx.session, community, ref))  # a DM: the reader's language
            lines = [mine("Ideas for what {name} should explore next:", name=community.name), *listed]
            ctx.send(DirectMessage(user=user, text=Markup("\n").join(lines)))
    ids = [idea.id for idea, _ in ideas]
    await ctx.session.exec(update(ExploreIdea).where(col(ExploreIdea.id).in_(ids))
                           .values(digested_at=utcnow()))


async def _keep(ctx: Context, text: str) -> None:
    if ctx.community is None or ctx.community.id is None:
        return
    member = await ctx.ensure_member()
    assert member.id is not None
    await add_idea(ctx.session, ctx.community.id, member.id, text.strip()[:500])


@router.command(NEXT)
async def next_idea(ctx: Context) -> None:
    """`next: …` addressed to Steward."""
    assert ctx.command is not None
    await _keep(ctx, ctx.command.argument)
    ctx.reply(ctx._("Thanks! I'll pass your idea to the coordinators."))


@router.on(MessagePosted)
async def catch_idea(ctx: Context) -> None:
    """`next: …` said in a channel, or any reply in the thread of an explore prompt."""
    event = ctx.event
    assert isinstance(event, MessagePosted)
    if ctx.command is not None or event.is_direct or ctx.community is None or event.addressed:
        return
    m = _NEXT.match(event.text)
    if m is None and event.is_reply and event.thread:
        tag = await outbox.tag_of(ctx.session, event.platform, event.thread)
        if tag is not None and tag.endswith(":explore"):  # a ritual step's key: <ritual>:<occurrence>:<step>
            await _keep(ctx, event.text)
            ctx.send(React(channel=event.channel, message_id=event.message_id, emoji="white_check_mark"))
        return
    if m is not None:
        await _keep(ctx, m.group(1))
        ctx.send(React(channel=event.channel, message_id=event.message_id, emoji="white_check_mark"))


RENEWAL = declare(RitualKind("renewal", N_("renewal moment"), {"renewal": renewal_moment}))
EXPLORE = declare(RitualKind("explore", N_("what-next prompt"), {"explore": explore_prompt, "digest": explore_digest},
                             steps=lambda _ritual: [("explore", timedelta(0)), ("digest", timedelta(days=7))]))
