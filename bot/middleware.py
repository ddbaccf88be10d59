"""The middleware every event passes through before its handlers.

Each is a plain `async def mw(ctx, call_next)`: it may stop the event by not calling `call_next`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from bot.community_settings import effective
from bot.context import Context
from bot.directory import Directory
from bot.errors import InputError
from bot.events import ChoicePicked, CommandInvoked, Event, MessagePosted, Scheduled
from bot.i18n import N_, normalise_locale
from bot.markup import Markup
from storage import limits, members
from storage.inbound import claim
from storage.models import Community
from storage.tombstones import digest, read_key

log = logging.getLogger(__name__)

CallNext = Callable[[], Awaitable[None]]
Middleware = Callable[[Context, CallNext], Awaitable[None]]


# A command that needs a community, from someone Steward cannot place in one (several communities, no
# membership yet): a kind pointer, never a list of the communities (that would tell strangers what exists).
UNKNOWN_IN_DM = N_("I don't know which community you're part of yet: I only know people once they've spoken "
                   "in one of its channels. Ask me there first (mention me or start with `!steward`); "
                   "after that, direct messages work too.")
UNKNOWN_CHANNEL = N_("I don't know which community this is. A coordinator can add this channel "
                     "to Steward's config.")


def no_community(ctx: Context) -> Markup:
    """What to tell someone whose command needs a community when the event belongs to none."""
    return ctx._(UNKNOWN_IN_DM if ctx.event.is_direct else UNKNOWN_CHANNEL)


class Duplicate(Exception):
    """Raised to stop an event seen before; the core swallows it silently."""


def unstorable_id(event: Event) -> str | None:
    """Which id of the event cannot be stored unchanged on every database, if one cannot."""
    ids = (("event id", event.event_id), ("channel", event.channel), ("sender", event.sender.id),
           ("thread", event.thread), ("message id", getattr(event, "message_id", None)))
    return next((name for name, value in ids if isinstance(value, str) and not limits.storable_id(value)), None)


async def refuse_unstorable(ctx: Context, call_next: CallNext) -> None:
    """Drop an event with an id over 255 characters or holding a NUL byte, the same on every database.

    No platform sends one (Matrix caps its ids at 255 bytes); cutting it could make it name someone
    else, and PostgreSQL would refuse it where SQLite keeps it. Logged, never answered."""
    wrong = unstorable_id(ctx.event)
    if wrong is not None:
        log.warning("event %r ignored: its %s is over %d characters or holds a NUL byte",
                    ctx.event.event_id[:80], wrong, limits.ID_LENGTH)
        return
    await call_next()


def ignore_own(own_ids: Mapping[str, str | None]) -> Middleware:
    """Stop events caused by Steward itself (its own posts echo back on every platform)."""

    async def mw(ctx: Context, call_next: CallNext) -> None:
        sender = ctx.event.sender
        if isinstance(ctx.event, Scheduled):
            await call_next()  # Steward's own clock, not an echo of its own post
            return
        if sender.id == own_ids.get(ctx.event.platform) or (sender.is_bot and not isinstance(
                ctx.event, CommandInvoked | ChoicePicked)):
            return
        await call_next()

    return mw


async def dedupe(ctx: Context, call_next: CallNext) -> None:
    """Claim the event id in this transaction; a second delivery, even after a restart, stops here."""
    if not await claim(ctx.session, ctx.event.event_id, ctx.event.platform):
        raise Duplicate(ctx.event.event_id)
    ctx.claimed = True
    await call_next()


async def load_context(ctx: Context, call_next: CallNext) -> None:
    """Resolve the community, the member (if Steward keeps one), their language and their roles."""
    event = ctx.event
    community = await _community(ctx, ctx.services.directory if ctx.services else Directory())
    ctx.community = community
    if community is not None and community.id is not None:
        ctx.community_config = effective(ctx.config, community)  # the config file's, with chat's changes
        if not isinstance(event, Scheduled):
            key = await _tombstone_key(ctx)
            buried = digest(key, event.platform, event.sender.id) if key is not None else None
            ctx.member, ctx.tombstoned = await members.find_sender(ctx.session, community.id, event.platform,
                                                                   event.sender.id, buried)
            ctx.member_looked_up = True
    ctx.locale = (
        (ctx.member.locale if ctx.member else None)
        or normalise_locale(event.sender.locale)
        or (community.locale if community else None)
        or ctx.config.locale
    )
    ctx.roles = _roles(ctx)
    await call_next()


async def _tombstone_key(ctx: Context) -> bytes | None:
    """The installation's tombstone key: kept by the process once read (Steward makes it at start)."""
    services = ctx.services
    if services is not None and services.tombstone_key is not None:
        return services.tombstone_key
    key = await read_key(ctx.session)
    if services is not None:
        services.tombstone_key = key
    return key


async def _community(ctx: Context, known: Directory) -> Community | None:
    """The event's community: named by the event, else its channel's, else (a DM) the sender's own."""
    event, session = ctx.event, ctx.session
    if event.community:
        community = await known.community_by_slug(session, event.community)
        if community is not None:
            return community
    if event.channel:
        channel = await known.channel(session, event.platform, event.channel)
        if channel is not None:
            return await known.community(session, channel.community_id)
    if event.is_direct:
        mine = await members.members_of_person(session, event.platform, event.sender.id)
        if mine:
            return await known.community(session, mine[0].community_id)
        if len(ctx.config.communities) == 1:
            return await known.community_by_slug(session, ctx.config.communities[0].slug)
    return None


def _roles(ctx: Context) -> frozenset[str]:
    if isinstance(ctx.event, Scheduled):
        return frozenset({"member", "coordinator", "sponsor"})  # Steward acting on the community's own settings
    ref = f"{ctx.event.platform}:{ctx.event.sender.id}"
    roles = {"member"}
    cc = ctx.community_config
    if cc is not None:
        if ref in cc.coordinators:
            roles.add("coordinator")
        if ref in cc.sponsors:
            roles.add("sponsor")
    if ctx.event.sender.operator and (cc is None or not cc.coordinators):
        roles.add("coordinator")  # the person at the terminal runs their own local Steward, until it has coordinators
    return frozenset(roles)


def authorise(ctx: Context, role: str | None = None) -> None:
    """Refuse a coordinator or sponsor command (or choice answer, given its `role`) to anyone else, kindly."""
    if role is None:
        if ctx.command is None:
            return
        role = ctx.command.spec.role
    if role == "member" or role in ctx.roles or "coordinator" in ctx.roles:
        return
    if role == "coordinator":
        raise InputError(N_("Only this community's coordinators can do that. "
                            "Ask one of them, or say `help` to see what you can do."))
    raise InputError(N_("Only this community's sponsors and coordinators can do that."))


def command_text(ctx: Context) -> str | None:
    """The text to parse as a command, or None when the event is not addressed to Steward."""
    event = ctx.event
    if isinstance(event, MessagePosted) and (event.addressed or event.is_direct):
        return event.command_text or event.text
    if isinstance(event, CommandInvoked):
        return event.text
    return None
