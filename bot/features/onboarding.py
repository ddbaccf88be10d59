"""Onboarding and thanks: a welcome DM on joining, an optional intro to the core group, yearly thanks.

Intros never pair the same two people twice (`intro_pair`), prefer someone within three hours of the
newcomer's UTC offset, and spread the load (at most three intros per person per week).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func
from sqlmodel import col, select

from bot.context import Context
from bot.events import MemberJoined
from bot.features.meetups import next_meetups
from bot.features.ritual_common import RitualKind, RitualRun, declare, when
from bot.i18n import N_, markup_plural_translator
from bot.markup import Markup
from bot.replies import DirectMessage
from bot.router import Router
from storage.inbound import claim
from storage.members import find_member, list_members
from storage.models import Member, Message
from storage.rituals import introduced_to, intros_since, record_intro

router = Router()
MAX_INTROS_PER_WEEK = 3
ACTIVE_WINDOW = timedelta(days=90)


@router.on(MemberJoined)
async def welcome(ctx: Context) -> None:
    """Welcome a newcomer once (ever), in a DM: purpose, rhythm, how to ask; then maybe an intro."""
    if ctx.community is None or ctx.community.id is None or ctx.member is None or ctx.member.id is None:
        return
    member, community, cc = ctx.member, ctx.community, ctx.community_config
    if member.is_bot or not await claim(ctx.session, f"welcome:{member.id}", ctx.event.platform):
        return
    lines = [ctx._("Welcome to **{name}**, {who}! 👋", name=community.name, who=member.display_name or "")]
    if cc is not None and cc.purpose:
        lines.append(Markup(cc.purpose))  # the operator's config file: markup, like Steward's own
    upcoming = await next_meetups(ctx, ctx.event.at.astimezone(UTC))
    if upcoming:
        ritual, starts = upcoming[0]
        lines.append(ctx._("Our next meetup: **{title}**, {when}.", title=ritual.title,
                           when=when(starts, member.timezone or ritual.timezone, ctx.locale)))
    lines.append(ctx._("Questions are welcome: ask in the channel, or ask me `who knows about kubernetes` and I'll "
                       "point you to a colleague. Say `help` to see what I can do."))
    ctx.send(DirectMessage(user=ctx.event.sender.id, text=Markup("\n").join(lines)))
    if cc is not None and cc.intros:
        await introduce(ctx, member)


def _offset_hours(tz: str | None, at: datetime) -> float | None:
    if not tz:
        return None
    try:
        offset = at.astimezone(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return offset.total_seconds() / 3600 if offset is not None else None


async def core_group(ctx: Context, at: datetime) -> list[Member]:
    """Coordinators first, then the five most active members of the last 90 days."""
    assert ctx.community is not None and ctx.community.id is not None
    group: list[Member] = []
    cc = ctx.community_config
    for ref in cc.coordinators if cc else ():
        platform, _, user = ref.partition(":")
        found = await find_member(ctx.session, ctx.community.id, platform, user)
        if found is not None:
            group.append(found)
    stmt = (select(Message.author_id, func.count()).where(Message.community_id == ctx.community.id,
                                                          col(Message.posted_at) >= at - ACTIVE_WINDOW)
            .group_by(col(Message.author_id)).order_by(func.count().desc()).limit(5))
    active = {author for author, _ in (await ctx.session.exec(stmt)).all()}
    group += [m for m in await list_members(ctx.session, ctx.community.id) if m.id in active and m not in group]
    return group


async def introduce(ctx: Context, newcomer: Member) -> Member | None:
    """Introduce the newcomer to someone of the core group they never met through Steward."""
    assert newcomer.id is not None
    at = ctx.event.at.astimezone(UTC)
    met = await introduced_to(ctx.session, newcomer.id)
    mine = _offset_hours(newcomer.timezone or ctx.event.sender.timezone, at)
    ranked: list[tuple[int, int, int, Member]] = []
    for order, candidate in enumerate(await core_group(ctx, at)):
        if (candidate.id is None or candidate.id == newcomer.id or candidate.id in met or candidate.is_bot
                or candidate.opted_out or candidate.deleted or candidate.left_at is not None
                or candidate.platform != newcomer.platform):
            continue
        load = await intros_since(ctx.session, candidate.id, at - timedelta(days=7))
        if load >= MAX_INTROS_PER_WEEK:
            continue
        theirs = _offset_hours(candidate.timezone, at)
        near = 1 if mine is None or theirs is None else (0 if abs(mine - theirs) <= 3 else 2)
        ranked.append((near, load, order, candidate))
    if not ranked:
        return None
    partner = min(ranked, key=lambda r: r[:3])[3]
    assert partner.id is not None
    if not await record_intro(ctx.session, newcomer.id, partner.id):
        return None
    ctx.send(DirectMessage(user=newcomer.platform_user_id, text=ctx._(
        "Let me introduce you to {partner}, one of the people who keep this community going: say hello, "
        "they're happy to help you find your way.", partner=partner.display_name or partner.platform_user_id)))
    ctx.send(DirectMessage(user=partner.platform_user_id, text=ctx._(
        "{newcomer} just joined: would you say hello and help them find their way?",
        newcomer=newcomer.display_name or newcomer.platform_user_id)))
    return partner


async def member_anniversaries(ctx: Context, run: RitualRun) -> None:
    """Daily: thank each member on the anniversary of their joining (once per member and year)."""
    community = ctx.community
    assert community is not None and community.id is not None
    zone = ZoneInfo(run.ritual.timezone)
    today = run.occurrence.astimezone(zone).date()
    for member in await list_members(ctx.session, community.id):
        joined = member.joined_at.astimezone(zone).date() if member.joined_at else None
        if (joined is None or member.is_bot or member.opted_out or member.left_at is not None or member.deleted
                or member.platform != ctx.event.platform
                or (joined.month, joined.day) != (today.month, today.day) or today.year <= joined.year):
            continue
        years = today.year - joined.year
        if await claim(ctx.session, f"thanks:{member.id}:{today.year}", member.platform):
            n_ = markup_plural_translator(member.locale or ctx.locale)  # the DM is in the member's language
            ctx.send(DirectMessage(user=member.platform_user_id, text=n_(
                "🎉 {n} year ago today you joined **{name}**. Thank you for being part of it!",
                "🎉 {n} years ago today you joined **{name}**. Thank you for being part of it!",
                years, name=community.name)))


ANNIVERSARIES = declare(RitualKind("anniversaries", N_("member anniversaries"),
                                   {"anniversaries": member_anniversaries}))
