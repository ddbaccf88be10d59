"""`dashboard`: a one-time link to Steward's web pages (community health, digests, portfolio, your own page),
sent in a direct message. The link opens one session, once, within 15 minutes (storage/web.py); the pages
show what the reader's role shows in chat, for the community the link was asked in."""

from __future__ import annotations

from bot.commands import CommandSpec
from bot.context import Context
from bot.i18n import N_
from bot.replies import DirectMessage
from bot.router import Router
from storage.web import issue_link

router = Router()

SIGNIN_PATH = "/web/signin/{token}"

DASHBOARD = CommandSpec(
    key="dashboard", summary=N_("get a one-time link to this community's web pages, in a direct message"),
    forms={"en": ("dashboard", "web page", "web"), "fr": ("tableau de bord", "page web", "web")})


@router.command(DASHBOARD)
async def dashboard(ctx: Context) -> None:
    """Issue the link for the sender's membership of this community (only its hash is kept) and send it privately."""
    assert ctx.community is not None and ctx.community.id is not None  # the core asks for a community first
    member = await ctx.ensure_member()
    assert member.id is not None
    token = await issue_link(ctx.session, ctx.community.id, member.id)
    link = ctx.config.public_url + SIGNIN_PATH.format(token=token)
    where = "" if ctx.config.public_url else ctx._(
        " (on the address of Steward's web server: ask whoever runs Steward for it)")
    ctx.send(DirectMessage(user=ctx.event.sender.id, text=ctx._(
        "🔑 Your link to {community}'s pages{where}, valid 15 minutes and only once: {link}\n"
        "Do not share it: it signs in as you. Sign out on the page when you are done.",
        community=ctx.community.name or ctx.community.slug, where=where, link=link)))
    if not ctx.event.is_direct:
        ctx.reply_privately(ctx._("I sent you a link to the web pages in a direct message."))
