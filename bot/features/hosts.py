"""Meetup hosts and presenters: `host of meetup 3: @ana @bruno` (coordinators).

Hosts belong to one occurrence (its `meetup` row) and move with it when the schedule changes or the
meetup moves. They are credited in the ledger (`hosted`) once the meetup has happened: by its follow-up
step, or at once when it is named for a meetup already past. Naming the hosts of an upcoming meetup
again replaces them; for a past one, it adds to them.
A name nobody has here credits nobody at all (bot/mentioned.py): the coordinator fixes it and says it again.
"""

from __future__ import annotations

import re
from datetime import UTC

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.features.meetups import credit_hosts, has_happened
from bot.features.ritual_common import schedule_of, when
from bot.i18n import N_
from bot.markup import Markup
from bot.mentioned import Unknown, member_named
from bot.reputation.mentions import mentions
from bot.router import Router
from storage.models import Meetup, Ritual
from storage.rituals import add_hosts, ensure_meetup, get_ritual, latest_meetup, set_hosts

router = Router()
_REF = re.compile(r"^\s*#?(\d{1,9})\s*[:,]?\s*(.*)$", re.DOTALL)

HOST = CommandSpec(
    key="meetup-host", role="coordinator", summary=N_("name who hosts or presents at a meetup (credited once it "
                                                      "has happened)"),
    forms={"en": ("host of meetup {ref}", "hosts of meetup {ref}", "speaker of meetup {ref}",
                  "presenter of meetup {ref}"),
           "fr": ("hôte de la rencontre {ref}", "hôtes de la rencontre {ref}", "intervenant de la rencontre {ref}",
                  "animateur de la rencontre {ref}")},
    argument=Argument("ref", N_("the meetup's number and who"), N_("3: @ana @bruno"), max_length=1000))
NEXT_HOST = CommandSpec(
    key="next-meetup-host", role="coordinator", summary=N_("name who will host the next meetup"),
    forms={"en": ("host of next meetup {ref}", "hosts of next meetup {ref}", "speaker of next meetup {ref}"),
           "fr": ("hôte de la prochaine rencontre {ref}", "hôtes de la prochaine rencontre {ref}",
                  "intervenant de la prochaine rencontre {ref}")},
    argument=Argument("ref", N_("the meetup's number and who"), N_("3: @ana @bruno"), max_length=1000))


async def _meetup_ritual(ctx: Context, raw_id: str) -> Ritual:
    assert ctx.community is not None and ctx.community.id is not None
    ritual = await get_ritual(ctx.session, ctx.community.id, int(raw_id))
    if ritual is None or ritual.kind != "meetup" or ritual.id is None or ritual.status in ("draft", "cancelled"):
        raise InputError(N_("There is no meetup {id} here. Say `rituals` to see them."), id=raw_id)
    return ritual


async def next_occurrence(ctx: Context, ritual: Ritual) -> Meetup:
    """The row of the ritual's next occurrence (created on first need)."""
    assert ritual.id is not None
    upcoming = schedule_of(ritual).next(ctx.event.at.astimezone(UTC), 1)
    if not upcoming:
        raise InputError(N_("“{title}” has no date left. Change its schedule with `{usage}`."), title=ritual.title,
                         usage_key="edit-ritual")
    return await ensure_meetup(ctx.session, ritual.id, upcoming[0])


async def name_hosts(ctx: Context, ritual: Ritual, meetup: Meetup, people: list[str]) -> None:
    """Make `people` the hosts of `meetup` and say so; credit them now when it has already happened."""
    assert ctx.community is not None and ctx.community.id is not None and meetup.id is not None
    named = [await member_named(ctx, uid) for uid in people]
    unknown = [n for n in named if isinstance(n, Unknown)]
    if unknown:  # credit nobody until every name is right: no ghost member, no half-done credit
        ctx.reply(Markup("\n").join(u.told(ctx) for u in unknown))
        return
    members = [m for m in named if not (isinstance(m, Unknown) or m.opted_out or m.is_bot or m.id is None)]
    if not members:
        ctx.reply(ctx._("Nobody to credit: the people mentioned opted out."))
        return
    names = ", ".join(m.display_name or "?" for m in members)
    at = when(meetup.starts_at, ritual.timezone, ctx.locale)
    if has_happened(ritual, meetup, ctx.event.at.astimezone(UTC)):
        await add_hosts(ctx.session, meetup.id, [m.id for m in members if m.id is not None])
        meetup.held_at = meetup.held_at or meetup.starts_at
        await credit_hosts(ctx.session, ritual, meetup)
        ctx.reply(ctx._("Thanks noted: {names} hosted **{title}** of {when}.", names=names, title=ritual.title,
                        when=at))
        return
    await set_hosts(ctx.session, meetup.id, [m.id for m in members if m.id is not None])
    ctx.reply(ctx._("Noted: {names} will host **{title}** on {when}. They are credited once it has happened.",
                    names=names, title=ritual.title, when=at))


def _parse(ctx: Context) -> tuple[str, list[str]]:
    assert ctx.command is not None
    m = _REF.match(ctx.command.argument)
    people = mentions(m.group(2)) if m else []
    if m is None or not people or ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Give the meetup's number and mention who hosts, e.g. `{usage}`."),
                         usage_key=ctx.command.spec.key)
    return m.group(1), people


@router.command(HOST)
async def meetup_host(ctx: Context) -> None:
    """The hosts of the meetup's latest occurrence (or of the next one when it has not met yet)."""
    raw_id, people = _parse(ctx)
    ritual = await _meetup_ritual(ctx, raw_id)
    assert ritual.id is not None
    now = ctx.event.at.astimezone(UTC)
    meetup = await latest_meetup(ctx.session, ritual.id, now)
    if meetup is None:
        last = schedule_of(ritual).before(now)
        meetup = await ensure_meetup(ctx.session, ritual.id, last) if last else await next_occurrence(ctx, ritual)
    await name_hosts(ctx, ritual, meetup, people)


@router.command(NEXT_HOST)
async def next_meetup_host(ctx: Context) -> None:
    """The hosts of the meetup's next occurrence."""
    raw_id, people = _parse(ctx)
    ritual = await _meetup_ritual(ctx, raw_id)
    await name_hosts(ctx, ritual, await next_occurrence(ctx, ritual), people)
