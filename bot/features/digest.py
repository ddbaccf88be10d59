"""The sponsor digest (monthly ritual, `digest [month]`, `past digests`), the portfolio of several communities
(`portfolio [month]`) and the `quotes on|off` preference."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import Argument, CommandSpec, fold
from bot.config import Config
from bot.context import Context
from bot.digest.chart import render_chart, render_portfolio_chart
from bot.digest.render import month_name, portfolio_markdown, to_markdown
from bot.digest.report import Digest, build_digest, first_month, shift
from bot.errors import InputError
from bot.features.ritual_common import RitualKind, RitualRun, declare
from bot.i18n import N_, translator
from bot.markup import Markup
from bot.replies import DirectMessage
from bot.router import Router
from storage.communities import get_community, list_communities
from storage.members import find_member
from storage.models import Community
from storage.preferences import set_quotes

router = Router()
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
FIRST_YEAR, LAST_YEAR = 2000, 2999

DIGEST = CommandSpec(
    key="digest", role="sponsor", summary=N_("get this community's digest for a month, privately"),
    forms={"en": ("digest {month}", "digest"), "fr": ("bilan {month}", "bilan", "synthèse {month}", "synthèse")},
    argument=Argument("month", N_("a month"), N_("2026-10"), required=False, max_length=20))
PAST = CommandSpec(
    key="past-digests", role="sponsor", summary=N_("which months have a digest, and how to ask for one"),
    forms={"en": ("past digests", "digests"), "fr": ("bilans passés", "bilans", "anciens bilans")})
PORTFOLIO = CommandSpec(
    key="portfolio", role="sponsor",
    summary=N_("the communities you sponsor side by side for a month: stage, trend, health, one chart"),
    forms={"en": ("portfolio {month}", "portfolio"), "fr": ("portefeuille {month}", "portefeuille")},
    argument=Argument("month", N_("a month"), N_("2026-10"), required=False, max_length=20))
QUOTES = CommandSpec(
    key="quotes", summary=N_("allow or refuse that sponsors see your words quoted (`quotes on` or `quotes off`)"),
    forms={"en": ("quotes {choice}", "quote me {choice}"), "fr": ("citations {choice}", "me citer {choice}")},
    argument=Argument("choice", N_("on or off"), N_("on"), max_length=10))


def parse_month(text: str, usage_key: str = "digest") -> date:
    """`2026-10` → 2026-10-01; `InputError` with the right form otherwise."""
    m = _MONTH.match(text)
    if m is None or not 1 <= int(m.group(2)) <= 12 or not FIRST_YEAR <= int(m.group(1)) <= LAST_YEAR:
        raise InputError(N_("Give the month as year-month, e.g. `{usage}`."), usage_key=usage_key)
    return date(int(m.group(1)), int(m.group(2)), 1)


def _this_month(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date().replace(day=1)


def _asked_month(ctx: Context, timezone: str, usage_key: str) -> date:
    """The month named in the command (default: last month); a month not begun yet is refused kindly."""
    assert ctx.command is not None
    now = _this_month(ctx.event.at, timezone)
    if not ctx.command.argument:
        return shift(now, -1)
    month = parse_month(ctx.command.argument, usage_key)
    if month > now:
        raise InputError(N_("{month} has not begun yet: ask for this month or an earlier one, e.g. `{usage}`."),
                         usage_key=usage_key, month=month_name(month, ctx.locale))
    return month


async def digest_message(ctx: Context, month: date, user: str, locale: str | None = None) -> DirectMessage:
    """The digest of `month` as a direct message to `user` (in `locale`, default the reader's), with its chart."""
    assert ctx.community is not None
    lang = locale or ctx.locale
    d = await build_digest(ctx.session, ctx.community, ctx.community_config, month, now=ctx.event.at)
    chart = await asyncio.to_thread(render_chart, d.history, translator(lang))  # ~0.6 s: off the event loop
    links = ctx.services.web_links if ctx.services else {}
    return DirectMessage(user=user, text=to_markdown(d, lang, ctx.event.platform, links), image=chart,
                         image_name=f"{ctx.community.slug}-{month:%Y-%m}.png")


@router.command(DIGEST)
async def digest(ctx: Context) -> None:
    """On demand: the digest of the given month (default: last month), sent privately."""
    if ctx.community is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    month = _asked_month(ctx, ctx.community.timezone, "digest")
    ctx.send(await digest_message(ctx, month, ctx.event.sender.id))
    if not ctx.event.is_direct:
        ctx.reply_privately(ctx._("I sent you the digest in a direct message."))


@router.command(PAST)
async def past_digests(ctx: Context) -> None:
    """Every month since the community's history began has a digest: say which, with the last few to ask."""
    if ctx.community is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    first = await first_month(ctx.session, ctx.community)
    last = shift(_this_month(ctx.event.at, ctx.community.timezone), -1)
    if first is None or first > last:
        ctx.reply_privately(ctx._("{name} has no finished month of history yet: its first digest comes at the end "
                                  "of this month.", name=ctx.community.name or ctx.community.slug))
        return
    recent: list[Markup] = []
    month = last
    while month >= first and len(recent) < 6:
        form = (DIGEST.forms.get(ctx.locale) or DIGEST.forms["en"])[0]
        recent.append(Markup("`{command}`").format(command=form.replace("{month}", f"{month:%Y-%m}")))
        month = shift(month, -1)
    ctx.reply_privately(ctx._("{name} has a digest for each month since {first}. Ask for one privately: {recent}.",
                              name=ctx.community.name or ctx.community.slug, first=month_name(first, ctx.locale),
                              recent=Markup(", ").join(recent)))


async def _portfolio_communities(session: AsyncSession, config: Config, platform: str, user: str,
                                 operator: bool) -> list[Community]:
    """The communities this person sponsors or coordinates (the operator at the terminal: every one)."""
    if operator:
        return await list_communities(session)
    ref = f"{platform}:{user}"
    found = []
    for cc in config.communities:
        if ref in cc.sponsors or ref in cc.coordinators:
            community = await get_community(session, cc.slug)
            if community is not None:
                found.append(community)
    return found


async def build_portfolio(session: AsyncSession, config: Config, communities: Sequence[Community], month: date,
                          now: datetime) -> tuple[Digest, ...]:
    """Each community's digest of `month`: the portfolio shows their figures side by side."""
    return tuple([await build_digest(session, c, config.community(c.slug), month, now=now) for c in communities])


@router.command(PORTFOLIO)
async def portfolio(ctx: Context) -> None:
    """The portfolio of the communities the sender sponsors, privately: one message and one chart."""
    event = ctx.event
    communities = await _portfolio_communities(ctx.session, ctx.config, event.platform, event.sender.id,
                                               event.sender.operator)
    if not communities:
        raise InputError(N_("I know no community you sponsor or coordinate here: the portfolio shows those."))
    month = _asked_month(ctx, ctx.config.timezone, "portfolio")
    digests = await build_portfolio(ctx.session, ctx.config, communities, month, event.at)
    chart = await asyncio.to_thread(render_portfolio_chart, digests, translator(ctx.locale))
    ctx.send(DirectMessage(user=event.sender.id, text=portfolio_markdown(digests, ctx.locale), image=chart,
                           image_name=f"portfolio-{month:%Y-%m}.png"))
    if not event.is_direct:
        ctx.reply_privately(ctx._("I sent you the portfolio in a direct message."))


async def monthly_digest(ctx: Context, run: RitualRun) -> None:
    """Ritual step (1st of the month): last month's digest to each sponsor on this platform, in their language."""
    community, cc = ctx.community, ctx.community_config
    if community is None or community.id is None or cc is None:
        return
    month = shift(_this_month(run.occurrence, community.timezone), -1)
    sponsors = [ref.partition(":")[2] for ref in cc.sponsors if ref.startswith(ctx.event.platform + ":")]
    made: dict[str, DirectMessage] = {}
    for user in sponsors:
        member = await find_member(ctx.session, community.id, ctx.event.platform, user)
        lang = (member.locale if member else None) or community.locale
        if lang not in made:
            made[lang] = await digest_message(ctx, month, user, lang)
        first = made[lang]
        ctx.send(DirectMessage(user=user, text=first.text, image=first.image, image_name=first.image_name))


@router.command(QUOTES)
async def quotes(ctx: Context) -> None:
    """`quotes on|off` (`citations oui|non`): may sponsors see this member's words?"""
    assert ctx.command is not None
    choice = fold(ctx.command.argument).strip()
    if choice not in ("on", "off", "yes", "no", "oui", "non"):
        raise InputError(N_("Say `quotes on` or `quotes off`."))
    if ctx.community is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    member = await ctx.ensure_member()
    assert member.id is not None
    allowed = choice in ("on", "yes", "oui")
    await set_quotes(ctx.session, member.id, allowed)
    if allowed:
        ctx.reply_privately(ctx._("Noted: your words may be quoted (without your name in consultations) in what "
                                  "sponsors receive. Say `quotes off` to stop."))
    else:
        ctx.reply_privately(ctx._("Noted: I will never quote you to sponsors; you are only counted."))


DIGEST_KIND = declare(RitualKind("digest", N_("sponsor digest"), {"digest": monthly_digest}))

