"""The sponsor digest (monthly ritual and the `digest` command) and the `quotes on|off` preference."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from zoneinfo import ZoneInfo

from bot.commands import Argument, CommandSpec, fold
from bot.context import Context
from bot.digest.chart import render_chart
from bot.digest.render import to_markdown
from bot.digest.report import build_digest, shift
from bot.errors import InputError
from bot.features.ritual_common import RitualKind, RitualRun, declare
from bot.i18n import N_, translator
from bot.replies import DirectMessage
from bot.router import Router
from storage.preferences import set_quotes

router = Router()
_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")

DIGEST = CommandSpec(
    key="digest", role="sponsor", summary=N_("get this community's digest for a month, privately"),
    forms={"en": ("digest {month}", "digest"), "fr": ("bilan {month}", "bilan", "synthèse {month}", "synthèse")},
    argument=Argument("month", N_("a month"), N_("2026-10"), required=False, max_length=20))
QUOTES = CommandSpec(
    key="quotes", summary=N_("allow or refuse that sponsors see your words quoted (`quotes on` or `quotes off`)"),
    forms={"en": ("quotes {choice}", "quote me {choice}"), "fr": ("citations {choice}", "me citer {choice}")},
    argument=Argument("choice", N_("on or off"), N_("on"), max_length=10))


def parse_month(text: str) -> date:
    """`2026-10` → 2026-10-01; `InputError` with the right form otherwise."""
    m = _MONTH.match(text)
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise InputError(N_("Give the month as year-month, e.g. `{usage}`."), usage_key="digest")
    return date(int(m.group(1)), int(m.group(2)), 1)


async def digest_message(ctx: Context, month: date, user: str) -> DirectMessage:
    """The digest of `month` as a direct message to `user`, with its chart."""
    assert ctx.community is not None
    plain_ = translator(ctx.locale)  # the chart and the stage's signals are plain text
    d = await build_digest(ctx.session, ctx.community, ctx.community_config, month, plain_)
    chart = await asyncio.to_thread(render_chart, d.history, plain_)  # ~0.6 s of drawing: off the event loop
    return DirectMessage(user=user, text=to_markdown(d, ctx._, ctx.locale), image=chart,
                         image_name=f"{ctx.community.slug}-{month:%Y-%m}.png")


@router.command(DIGEST)
async def digest(ctx: Context) -> None:
    """On demand: the digest of the given month (default: last month), sent privately."""
    assert ctx.command is not None
    if ctx.community is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    if ctx.command.argument:
        month = parse_month(ctx.command.argument)
    else:
        month = shift(ctx.event.at.astimezone(ZoneInfo(ctx.community.timezone)).date().replace(day=1), -1)
    ctx.send(await digest_message(ctx, month, ctx.event.sender.id))
    if not ctx.event.is_direct:
        ctx.reply_privately(ctx._("I sent you the digest in a direct message."))


async def monthly_digest(ctx: Context, run: RitualRun) -> None:
    """Ritual step (1st of the month): last month's digest to each sponsor on this platform."""
    community, cc = ctx.community, ctx.community_config
    if community is None or cc is None:
        return
    month = shift(run.occurrence.astimezone(ZoneInfo(community.timezone)).date().replace(day=1), -1)
    sponsors = [ref.partition(":")[2] for ref in cc.sponsors if ref.startswith(ctx.event.platform + ":")]
    if not sponsors:
        return
    first = await digest_message(ctx, month, sponsors[0])
    for user in sponsors:
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
