"""Privacy from day one: `opt out`, `opt in`, `forget me` (with confirmation) and `my data`."""

from __future__ import annotations

from functools import partial

from bot.commands import CommandSpec
from bot.context import Context
from bot.events import ChoicePicked
from bot.expertise import ExpertiseIndex
from bot.features.teams import NO_TEAM
from bot.i18n import N_
from bot.markup import Markup
from bot.replies import AskChoice, Option
from bot.router import Router
from bot.routing.registry import ExpertiseRegistry, IndexUpdate
from storage.index_changes import community_changed, member_changed
from storage.members import members_of_person
from storage.models import Community, Member
from storage.privacy import forget_member, kept_data
from storage.tombstones import bury, is_tombstoned, unbury

router = Router()
NOTHING_BUT_TOMBSTONE = N_("I keep nothing about you, only a note that you opted out (a keyed fingerprint of your "
                           "account, not its id), so that I never index you. Say `opt in` to remove it.")

OPT_OUT = CommandSpec(key="opt-out", summary=N_("stop me from indexing your messages or suggesting you"),
                      forms={"en": ("opt out", "optout"), "fr": ("me désinscrire", "désinscription")},
                      needs_community=False)  # a tombstone: it holds before any community knows them

OPT_IN = CommandSpec(key="opt-in", summary=N_("let me index your messages and suggest you again"),
                     forms={"en": ("opt in", "optin"), "fr": ("me réinscrire", "réinscription")},
                     needs_community=False)
FORGET = CommandSpec(key="forget-me", summary=N_("delete everything I keep about you"),
                     forms={"en": ("forget me",), "fr": ("oublie-moi", "oublie moi", "oubliez-moi")},
                     needs_community=False)  # across every community the person is known in
MY_DATA = CommandSpec(key="my-data", summary=N_("see what I keep about you"),
                      forms={"en": ("my data",), "fr": ("mes données",)}, needs_community=False)


async def _memberships(ctx: Context) -> list[Member]:
    return await members_of_person(ctx.session, ctx.event.platform, ctx.event.sender.id)


def _drop_from_indexes(ctx: Context, members: list[Member], *, rebuild: bool = False) -> None:
    """After commit, take the person out of (or, with `rebuild`, back into) routing's in-memory indexes."""
    registry, who = ctx.svc.expertise, ctx.event.sender.id
    for member in members:
        community_id = member.community_id
        op: IndexUpdate = partial(_restore, registry, community_id, who) if rebuild else partial(_forget, who)
        ctx.after_commit(partial(registry.update, community_id, op))


async def _log_choices(ctx: Context, members: list[Member]) -> None:
    """Tell the other Steward processes' indexes to re-read these members' privacy choice."""
    await ctx.session.flush()
    for member in members:
        if member.id is not None:
            await member_changed(ctx.session, member.id, "member")


def _forget(who: str, index: ExpertiseIndex) -> None:
    index.forget_member(who)


def _restore(registry: ExpertiseRegistry, community_id: int, who: str, _index: ExpertiseIndex) -> None:
    registry.restore_later(community_id, who)


@router.command(OPT_OUT)
async def opt_out(ctx: Context) -> None:
    """Stop indexing and suggesting the person, in every community, those Steward does not know them in yet
    included: their tombstone says so to every later event and import (no member row is needed for it)."""
    mine = await _memberships(ctx)
    for member in mine:
        member.opted_out = True
    await bury(ctx.session, ctx.event.platform, ctx.event.sender.id)
    await _log_choices(ctx, mine)
    _drop_from_indexes(ctx, mine)
    ctx.reply_privately(ctx._("Done: I won't index your messages or suggest you anymore. "
                              "Say `opt in` to come back, or `forget me` to delete what I kept."))


@router.command(OPT_IN)
async def opt_in(ctx: Context) -> None:
    """Welcome the person back: their tombstone goes, their memberships are indexed again."""
    mine = await _memberships(ctx)
    for member in mine:
        member.opted_out = False
    await unbury(ctx.session, ctx.event.platform, ctx.event.sender.id)
    await _log_choices(ctx, mine)
    _drop_from_indexes(ctx, mine, rebuild=True)
    ctx.reply_privately(ctx._("Welcome back! I'll index your messages again and may suggest you "
                              "when someone asks about what you know."))


@router.command(FORGET)
async def forget_me(ctx: Context) -> None:
    """Ask for confirmation first: forgetting cannot be undone. Someone Steward keeps nothing about is
    only made sure it stays so (their tombstone)."""
    if not await _memberships(ctx):
        await bury(ctx.session, ctx.event.platform, ctx.event.sender.id)
        ctx.reply_privately(ctx._("I keep nothing about you, and I won't start: I won't index your messages "
                                  "in any community unless you say `opt in`."))
        return
    ctx.send(AskChoice(
        channel=ctx.event.channel, thread=ctx.event.thread, user=ctx.event.sender.id, key="forget:confirm",
        text=ctx._("Forget you? I'll delete your messages, reactions, contributions and everything else I "
                   "keep about you, in every community, and won't index you again unless you say `opt in`. "
                   "This cannot be undone."),
        options=(Option(id="yes", label=ctx._("Yes, forget me")), Option(id="no", label=ctx._("Cancel"))),
    ))


@router.choice("forget")
async def forget_confirmed(ctx: Context) -> None:
    """Forget the person who picked "yes" (only the one asked can answer for themself)."""
    if not isinstance(ctx.event, ChoicePicked) or ctx.event.option != "yes":
        ctx.reply_privately(ctx._("OK, I forget nothing."))
        return
    mine = await _memberships(ctx)
    _drop_from_indexes(ctx, mine)
    for member in mine:
        await forget_member(ctx.session, member)
        await community_changed(ctx.session, member.community_id)
    await bury(ctx.session, ctx.event.platform, ctx.event.sender.id)
    ctx.member, ctx.tombstoned = None, True
    if ctx.services is not None:  # a coordinator or sponsor set in chat is no one now: re-read the settings
        ctx.after_commit(ctx.services.directory.forget_communities)
    ctx.reply_privately(ctx._("Done: I've forgotten you. I won't index your messages again, in any community "
                              "(a re-imported history included), unless you say `opt in`."))


@router.command(MY_DATA)
async def my_data(ctx: Context) -> None:
    """Show, per community, everything kept about the member."""
    mine = await _memberships(ctx)
    if not mine:
        if await is_tombstoned(ctx.session, ctx.event.platform, ctx.event.sender.id):
            ctx.reply_privately(ctx._(NOTHING_BUT_TOMBSTONE))
        else:
            ctx.reply_privately(ctx._("I keep nothing about you."))
        return
    lines = [ctx._("Here is what I keep about you:")]
    for member in mine:
        kept = await kept_data(ctx.session, member)
        community = await ctx.session.get(Community, member.community_id)
        slug = community.slug if community else "?"
        status = ctx._("opted out") if kept.opted_out else ctx._("indexed")
        lines.append(ctx._(
            "- **{community}**: name “{name}”, language {locale}, time zone {tz}, {status}; "
            "{messages}, {reactions}, {contributions}",
            community=slug, name=kept.display_name or "-", locale=kept.locale or "-", tz=kept.timezone or "-",
            status=status, messages=ctx.n_("{n} message", "{n} messages", kept.messages),
            reactions=ctx.n_("{n} reaction", "{n} reactions", kept.reactions),
            contributions=ctx.n_("{n} contribution", "{n} contributions", kept.contributions)))
        if kept.team:
            lines.append(ctx._("- **{community}**: team “{team}” (say `{clear}` to remove it)", community=slug,
                               team=kept.team, clear=NO_TEAM.usage(ctx.locale, ctx._)))
    lines.append(ctx._("Say `forget me` to delete all of it, or `opt out` to stop me from indexing you."))
    ctx.reply_privately(Markup("\n").join(lines))
