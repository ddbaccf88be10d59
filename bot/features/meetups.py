"""Meetups: announcement (with the agenda and an RSVP), reminders, the follow-up (hosts credited), agenda, notes.

The step functions (`announce`, `remind`, `follow_up`, `post_reminder`) are run by the ritual
scheduler with a `Context` bound to the ritual's channel; the commands and choices by members in chat.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.events import ChoicePicked
from bot.features.ritual_common import RitualKind, RitualRun, declare, schedule_of, settings_of, when
from bot.i18n import N_, markup_translator
from bot.markup import Markup, quote
from bot.replies import AskChoice, Option, Post
from bot.reputation.topics import topics_of
from bot.router import Router
from storage.ledger import record
from storage.models import Meetup, Member, Ritual
from storage.rituals import (
    add_agenda_item,
    agenda,
    ensure_meetup,
    get_ritual,
    hosts_of,
    latest_meetup,
    list_rituals,
    rsvp_counts,
    set_rsvp,
)

router = Router()
_NOTES = re.compile(r"^\s*#?(\d{1,9})\s*[:,]?\s*(https?://\S+)\s*$")
ANSWERS = {"going": N_("Going"), "maybe": N_("Maybe"), "no": N_("Not this time")}

ADD_AGENDA = CommandSpec(
    key="add-agenda", summary=N_("propose a topic for the next meetup"),
    forms={"en": ("add to agenda: {item}", "add to agenda {item}", "agenda: {item}"),
           "fr": ("ajouter à l'ordre du jour : {item}", "ajouter à l'ordre du jour: {item}",
                  "ajouter à l'ordre du jour {item}", "ordre du jour : {item}", "ordre du jour: {item}")},
    argument=Argument("item", N_("the topic"), N_("our Helm 4 upgrade story"), max_length=300))
NOTES = CommandSpec(
    key="meetup-notes", summary=N_("share the notes or recording of a meetup"),
    forms={"en": ("notes for meetup {ref}",), "fr": ("notes de la rencontre {ref}", "notes pour la rencontre {ref}")},
    argument=Argument("ref", N_("the meetup's number and a link"), N_("3: https://example.org/notes"), max_length=500))


def _rsvp_options(ctx: Context) -> tuple[Option, ...]:
    return tuple(Option(id=k, label=ctx._(v)) for k, v in ANSWERS.items())


async def announcement(ctx: Context, ritual: Ritual, meetup: Meetup, channel: str, locale: str,
                       moved_from: datetime | None = None) -> AskChoice:
    """The announcement of one occurrence, in `locale`: its date (new date and old one when it moved), its
    text, its agenda, and who comes. Closes the agenda: what is proposed later goes to the next one."""
    _ = markup_translator(locale)
    meetup.agenda_closed = True
    items = await agenda(ctx.session, meetup.id or 0)
    at = when(meetup.starts_at, ritual.timezone, locale)
    if moved_from is None:
        lines = [_("📅 **{title}**: {when}", title=ritual.title, when=at)]
    else:
        lines = [_("📅 New date for **{title}**: {when} (instead of {before}).", title=ritual.title, when=at,
                   before=when(moved_from, ritual.timezone, locale))]
    if message := settings_of(ritual).get("message"):
        lines.append(quote(str(message)))  # the coordinator's words: shown as typed
    hosts = await hosts_of(ctx.session, meetup.id or 0)
    if hosts:
        lines.append(_("Hosted by {names}.", names=", ".join(h.display_name or "?" for h in hosts)))
    if items:
        lines.append(_("Agenda:"))
        lines += [Markup("- {item} ({name})").format(item=item.text, name=member.display_name or "?")
                  for item, member in items]
    else:
        lines.append(_("No agenda items were proposed; bring your questions!"))
    lines.append(_("Will you come?"))
    return AskChoice(channel=channel, key=f"rsvp:{meetup.id}", text=Markup("\n").join(lines),
                     options=tuple(Option(id=k, label=_(v)) for k, v in ANSWERS.items()))


async def announce(ctx: Context, run: RitualRun) -> None:
    """N days before: close the agenda, announce with it, and ask who comes."""
    ritual = run.ritual
    assert ritual.id is not None
    meetup = await ensure_meetup(ctx.session, ritual.id, run.occurrence)
    ctx.send(await announcement(ctx, ritual, meetup, ctx.event.channel, ctx.locale))


async def remind(ctx: Context, run: RitualRun) -> None:
    """Before the meetup: a short reminder with who is coming."""
    ritual = run.ritual
    assert ritual.id is not None
    meetup = await ensure_meetup(ctx.session, ritual.id, run.occurrence)
    counts = await rsvp_counts(ctx.session, meetup.id or 0)
    ctx.send(AskChoice(channel=ctx.event.channel, key=f"rsvp:{meetup.id}", options=_rsvp_options(ctx),
                       text=ctx._("⏰ Reminder: **{title}** at {when}. {going}, {maybe} maybe.",
                                  title=ritual.title, when=when(run.occurrence, ritual.timezone, ctx.locale),
                                  going=ctx.n_("{n} going", "{n} going", counts["going"]), maybe=counts["maybe"])))


async def follow_up(ctx: Context, run: RitualRun) -> None:
    """After the meetup: it has happened, so its hosts are credited; thank, ask who was there, and invite
    notes or a recording link."""
    ritual = run.ritual
    assert ritual.id is not None
    meetup = await ensure_meetup(ctx.session, ritual.id, run.occurrence)
    meetup.held_at = meetup.held_at or run.now
    await credit_hosts(ctx.session, ritual, meetup)
    ctx.send(AskChoice(
        channel=ctx.event.channel, key=f"attended:{meetup.id}",
        options=(Option(id="yes", label=ctx._("I was there")),),
        text=ctx._("Thanks for joining **{title}**! Were you there? Tap below. Share notes or a recording with "
                   "`notes for meetup {id}: https://…`", title=ritual.title, id=ritual.id)))


async def post_reminder(ctx: Context, run: RitualRun) -> None:
    """A plain recurring reminder: its title, then its text when it has one."""
    message = settings_of(run.ritual).get("message")
    text = (Markup("🔔 {title}").format(title=run.ritual.title) if not message else
            Markup("🔔 **{title}**\n{message}").format(title=run.ritual.title, message=str(message)))
    ctx.send(Post(channel=ctx.event.channel, text=text))


def has_happened(ritual: Ritual, meetup: Meetup, now: datetime) -> bool:
    """A meetup has happened once its follow-up ran (or its follow-up time is past: a step missed while
    Steward was down). A skipped or dropped one never happens."""
    if meetup.status != "planned":
        return False
    after = timedelta(hours=float(settings_of(ritual)["followup_hours"]))
    return meetup.held_at is not None or meetup.starts_at + after <= now


async def credit_hosts(session: AsyncSession, ritual: Ritual, meetup: Meetup) -> list[Member]:
    """A `hosted` ledger entry for each host of a meetup that happened (once per person per meetup)."""
    credited = []
    for member in await hosts_of(session, meetup.id or 0):
        if member.opted_out or member.is_bot or member.id is None:
            continue
        await record(session, community_id=ritual.community_id, member_id=member.id, kind="hosted",
                     key=f"hosted:{member.id}:{meetup.id}", at=meetup.starts_at, topic=topics_of(ritual.title),
                     evidence_url=meetup.notes_url, note=ritual.title)
        credited.append(member)
    return credited


def meetup_steps(ritual: Ritual) -> list[tuple[str, timedelta]]:
    """Announce N days before, remind N hours before (each), follow up N hours after."""
    s = settings_of(ritual)
    steps = [("announce", timedelta(days=-int(s["announce_days"])))] if int(s["announce_days"]) > 0 else []
    steps += [(f"remind-{float(h):g}h", timedelta(hours=-float(h))) for h in s["reminders"]]
    return [*steps, ("followup", timedelta(hours=float(s["followup_hours"])))]


MEETUP = declare(RitualKind("meetup", N_("meetup"), {"announce": announce, "remind-": remind, "followup": follow_up},
                            steps=meetup_steps, on_calendar=True))
REMINDER = declare(RitualKind("reminder", N_("reminder"), {"reminder": post_reminder}, on_calendar=True))


@router.choice("rsvp")
async def rsvp(ctx: Context) -> None:
    """Keep the member's answer (they may change it any time before the meetup)."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    meetup = await _meetup(ctx, event.key)
    if meetup is None or event.option not in ANSWERS:
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    member = await ctx.ensure_member()
    assert member.id is not None and meetup.id is not None
    await set_rsvp(ctx.session, meetup.id, member.id, event.option)
    ctx.reply_privately(ctx._("Noted: {answer}. You can change your answer any time.",
                              answer=ctx._(ANSWERS[event.option])))


@router.choice("attended")
async def attended(ctx: Context) -> None:
    """Confirm attendance after the meetup (it counts in the community's health figures)."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    meetup = await _meetup(ctx, event.key)
    if meetup is None:
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    member = await ctx.ensure_member()
    assert member.id is not None and meetup.id is not None
    row = await set_rsvp(ctx.session, meetup.id, member.id, "going")
    row.attended = True
    ctx.reply_privately(ctx._("Thanks for being there!"))


async def _meetup(ctx: Context, key: str) -> Meetup | None:
    raw = key.partition(":")[2]
    meetup = await ctx.session.get(Meetup, int(raw)) if raw.isdigit() else None
    if meetup is None or ctx.community is None:
        return None
    ritual = await ctx.session.get(Ritual, meetup.ritual_id)
    return meetup if ritual is not None and ritual.community_id == ctx.community.id else None


async def next_meetups(ctx: Context, now: datetime) -> list[tuple[Ritual, datetime]]:
    """The community's active meetup rituals with their next occurrence, soonest first."""
    if ctx.community is None or ctx.community.id is None:
        return []
    found = []
    for ritual in await list_rituals(ctx.session, ctx.community.id, ("active",)):
        if ritual.kind == MEETUP.name and (nxt := schedule_of(ritual).next(now, 1)):
            found.append((ritual, nxt[0]))
    return sorted(found, key=lambda pair: pair[1])


@router.command(ADD_AGENDA)
async def add_to_agenda(ctx: Context) -> None:
    """Add a topic to the next meetup whose agenda is still open (the announcement closes it)."""
    assert ctx.command is not None
    now = ctx.event.at.astimezone(UTC)
    upcoming = await next_meetups(ctx, now)
    if not upcoming:
        raise InputError(N_("There is no meetup planned here yet; a coordinator can schedule one."))
    ritual, starts = upcoming[0]
    assert ritual.id is not None
    meetup = await ensure_meetup(ctx.session, ritual.id, starts)
    closed_note = ""
    if meetup.agenda_closed:
        later = schedule_of(ritual).next(starts, 1)
        if not later:
            raise InputError(N_("The agenda of the last meetup is closed, and no other is planned."))
        closed_note = ctx._("The agenda of {when} is closed (it was announced), so ",
                            when=when(starts, ritual.timezone, ctx.locale))
        starts, meetup = later[0], await ensure_meetup(ctx.session, ritual.id, later[0])
    member = await ctx.ensure_member()
    assert member.id is not None and meetup.id is not None
    await add_agenda_item(ctx.session, meetup.id, member.id, ctx.command.argument)
    ctx.reply(closed_note + ctx._("I added “{item}” to the agenda of **{title}** on {when}.",
                                  item=ctx.command.argument, title=ritual.title,
                                  when=when(starts, ritual.timezone, ctx.locale)))


@router.command(NOTES)
async def meetup_notes(ctx: Context) -> None:
    """Keep a notes or recording link with the meetup's latest occurrence."""
    assert ctx.command is not None
    m = _NOTES.match(ctx.command.argument)
    if m is None or ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Give the meetup's number and a link, e.g. `{usage}`."), usage_key="meetup-notes")
    ritual = await get_ritual(ctx.session, ctx.community.id, int(m.group(1)))
    if ritual is None or ritual.kind != "meetup":
        raise InputError(N_("There is no meetup {id} here. Say `rituals` to see them."), id=m.group(1))
    assert ritual.id is not None
    now = ctx.event.at.astimezone(UTC)
    meetup = await latest_meetup(ctx.session, ritual.id, now)
    if meetup is None:
        last = schedule_of(ritual).before(now)
        if last is None:
            raise InputError(N_("“{title}” has not met yet: share notes after it does."), title=ritual.title)
        meetup = await ensure_meetup(ctx.session, ritual.id, last)
    member = await ctx.ensure_member()
    meetup.notes_url, meetup.notes_by = m.group(2), member.id
    ctx.reply(ctx._("Thanks! I keep the notes with **{title}** of {when}.", title=ritual.title,
                    when=when(meetup.starts_at, ritual.timezone, ctx.locale)))
