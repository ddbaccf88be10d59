"""`calendar link` and `rotate calendar link`: the secret address of the community's iCalendar feed.

Members may see the address (privately): the feed holds the community's meetups and reminders, which
its channels announce anyway. Coordinators rotate it when it leaked or someone left; the old address
then answers like any unknown one.
"""

from __future__ import annotations

from bot.commands import CommandSpec
from bot.config import Config
from bot.context import Context
from bot.i18n import N_
from bot.router import Router
from storage.feeds import ensure_feed_token, rotate_feed_token

router = Router()

FEED_PATH = "/ical/{slug}/{token}.ics"

CALENDAR_LINK = CommandSpec(
    key="calendar-link", summary=N_("get the private address of the community's calendar, for your calendar app"),
    forms={"en": ("calendar link", "calendar"), "fr": ("lien du calendrier", "lien calendrier", "calendrier")})
ROTATE_CALENDAR_LINK = CommandSpec(
    key="rotate-calendar-link", role="coordinator",
    summary=N_("replace the calendar's address (the old one stops working)"),
    forms={"en": ("rotate calendar link", "new calendar link"),
           "fr": ("changer le lien du calendrier", "nouveau lien du calendrier")})


def feed_link(config: Config, slug: str, token: str) -> str:
    """The feed's address: full with `[steward] public_url`, else the path on Steward's HTTP server."""
    return config.public_url + FEED_PATH.format(slug=slug, token=token)


def _where(ctx: Context) -> str:
    if ctx.config.public_url:
        return ""
    return ctx._(" (on the address of Steward's web server: ask whoever runs Steward for it)")


@router.command(CALENDAR_LINK)
async def calendar_link(ctx: Context) -> None:
    """Answer privately with the feed's address, made on first ask."""
    assert ctx.community is not None and ctx.community.id is not None  # the core asks for a community first
    token = await ensure_feed_token(ctx.session, ctx.community.id)
    ctx.reply_privately(ctx._(
        "📅 Your calendar app can subscribe to {community}'s meetups and reminders. Keep this address within the "
        "community (whoever has it can read the calendar){where}: {link}",
        community=ctx.community.name or ctx.community.slug, where=_where(ctx),
        link=feed_link(ctx.config, ctx.community.slug, token)))


@router.command(ROTATE_CALENDAR_LINK)
async def rotate_calendar_link(ctx: Context) -> None:
    """Replace the token; only the coordinator who asked sees the new address."""
    assert ctx.community is not None and ctx.community.id is not None
    token = await rotate_feed_token(ctx.session, ctx.community.id)
    ctx.reply_privately(ctx._(
        "Done: the old calendar address no longer works; members who subscribed need the new one (they can ask "
        "me `calendar link`). The new address{where}: {link}",
        where=_where(ctx), link=feed_link(ctx.config, ctx.community.slug, token)))
