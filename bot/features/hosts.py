"""Meetup hosts and presenters: `host of meetup 3: @ana @bruno` (coordinators) credits them in the ledger.

The credit goes to the meetup's latest occurrence (or the next one when it has not met yet), once per
person per occurrence; the topics come from the meetup's title, the evidence is its notes link if any.
A name nobody has here credits nobody at all (bot/mentioned.py): the coordinator fixes it and says it again.
"""

from __future__ import annotations

import re
from datetime import UTC

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.features.ritual_common import schedule_of, when
from bot.i18n import N_
from bot.markup import Markup
from bot.mentioned import Unknown, member_named
from bot.reputation.mentions import mentions
from bot.reputation.topics import topics_of
from bot.router import Router
from storage.ledger import record
from storage.rituals import ensure_meetup, get_ritual, latest_meetup

router = Router()
_REF = re.compile(r"^\s*#?(\d{1,9})\s*[:,]?\s*(.*)$", re.DOTALL)

HOST = CommandSpec(
    key="meetup-host", role="coordinator", summary=N_("credit who hosted or presented at a meetup"),
    forms={"en": ("host of meetup {ref}", "hosts of meetup {ref}", "speaker of meetup {ref}",
                  "presenter of meetup {ref}"),
           "fr": ("hôte de la rencontre {ref}", "intervenant de la rencontre {ref}",
                  "animateur de la rencontre {ref}")},
    argument=Argument("ref", N_("the meetup's number and who"), N_("3: @ana @bruno"), max_length=1000))


@router.command(HOST)
async def meetup_host(ctx: Context) -> None:
    """Record a `hosted` entry for each person mentioned."""
    assert ctx.command is not None
    m = _REF.match(ctx.command.argument)
    people = mentions(m.group(2)) if m else []
    if m is None or not people or ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Give the meetup's number and mention who hosted, e.g. `{usage}`."),
                         usage_key="meetup-host")
    named = [await member_named(ctx, uid) for uid in people]
    unknown = [n for n in named if isinstance(n, Unknown)]
    if unknown:  # credit nobody until every name is right: no ghost member, no half-done credit
        ctx.reply(Markup("\n").join(u.told(ctx) for u in unknown))
        return
    ritual = await get_ritual(ctx.session, ctx.community.id, int(m.group(1)))
    if ritual is None or ritual.kind != "meetup" or ritual.id is None:
        raise InputError(N_("There is no meetup {id} here. Say `rituals` to see them."), id=m.group(1))
    now = ctx.event.at.astimezone(UTC)
    meetup = await latest_meetup(ctx.session, ritual.id, now)
    if meetup is None:
        last = schedule_of(ritual).before(now) or next(iter(schedule_of(ritual).next(now, 1)), None)
        if last is None:
            raise InputError(N_("“{title}” has no date to credit."), title=ritual.title)
        meetup = await ensure_meetup(ctx.session, ritual.id, last)
    names = []
    for member in named:
        if isinstance(member, Unknown) or member.opted_out or member.is_bot or member.id is None:
            continue
        await record(ctx.session, community_id=ctx.community.id, member_id=member.id, kind="hosted",
                     key=f"hosted:{member.id}:{meetup.id}", at=meetup.starts_at, topic=topics_of(ritual.title),
                     evidence_url=meetup.notes_url, note=ritual.title)
        names.append(member.display_name or member.platform_user_id)
    if not names:
        ctx.reply(ctx._("Nobody to credit: the people mentioned opted out."))
        return
    ctx.reply(ctx._("Thanks noted: {names} hosted **{title}** of {when}.", names=", ".join(names),
                    title=ritual.title, when=when(meetup.starts_at, ritual.timezone, ctx.locale)))
