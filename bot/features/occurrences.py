"""One occurrence of a ritual: skip it, move it, see its agenda and who is coming; the past ones.

An occurrence comes from the schedule, whose one-off skips and moves are kept with the rule
(`Schedule.moves`). A meetup's occurrence also has a row (`Meetup`) holding its agenda, RSVPs and hosts:
the row is the occurrence's identity. When the schedule changes (`realign`: the upcoming rows take the
new upcoming dates, in order) or one occurrence moves, the row is re-dated and everything attached
follows; past rows are never touched. A re-dated meetup already announced, or now too close for its
announcement step, is announced again at once in its channel, with its new date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.features.meetups import ADD_AGENDA, ANSWERS, announcement, next_meetups
from bot.features.ritual_common import moves_text, ritual_target, schedule_of, settings_of, title_of, when
from bot.i18n import N_, markup_translator
from bot.markup import Markup
from bot.replies import Post
from bot.router import Router
from bot.schedule import Schedule, parse_moment
from storage.models import Meetup, Ritual
from storage.rituals import (
    agenda,
    bump,
    ensure_meetup,
    get_ritual,
    hosts_of,
    list_rituals,
    meetup_at,
    move_agenda,
    past_meetups,
    redate,
    rsvps,
    upcoming_meetups,
)

router = Router()
_REF = re.compile(r"^\s*#?(\d{1,9})?\s*(?:(?:(?:on|of|du|le|de)\s+)?(\d{4}-\d{2}-\d{2}))?\s*(.*)$",
                  re.IGNORECASE | re.DOTALL)
_TO = re.compile(r"^(?:to|au|aux|à|a|pour|->|:)\s*(.+)$", re.IGNORECASE | re.DOTALL)
_OPTIONAL_REF = Argument("ref", N_("the ritual's number (and a date, when not the next one)"), N_("3"),
                         required=False, max_length=100)

SKIP = CommandSpec(
    key="skip-occurrence", role="coordinator", summary=N_("skip the next meetup (or a ritual's next date) once"),
    forms={"en": ("skip next meetup {ref}", "skip meetup {ref}", "skip next ritual {ref}", "skip ritual {ref}"),
           "fr": ("sauter la prochaine rencontre {ref}", "sauter la rencontre {ref}", "sauter rencontre {ref}",
                  "sauter le rituel {ref}", "sauter rituel {ref}", "annuler la prochaine rencontre {ref}")},
    argument=_OPTIONAL_REF)
MOVE = CommandSpec(
    key="move-meetup", role="coordinator",
    summary=N_("move one meetup (or one date of a ritual) to another day or time"),
    forms={"en": ("move meetup {change}", "move next meetup {change}", "move ritual {change}"),
           "fr": ("déplacer la rencontre {change}", "déplacer rencontre {change}",
                  "déplacer la prochaine rencontre {change}", "déplacer le rituel {change}",
                  "déplacer rituel {change}")},
    argument=Argument("change", N_("the meetup's number and its new day or time"), N_("3 to friday 16:00"),
                      max_length=200))
AGENDA = CommandSpec(
    key="agenda", summary=N_("see the agenda of the next meetup"),
    forms={"en": ("agenda {ref}", "show agenda {ref}", "agenda of meetup {ref}"),
           "fr": ("ordre du jour {ref}", "voir l'ordre du jour {ref}", "ordre du jour de la rencontre {ref}")},
    argument=_OPTIONAL_REF)
WHO_COMES = CommandSpec(
    key="who-is-coming", summary=N_("see who is coming to the next meetup"),
    forms={"en": ("who is coming {ref}", "who's coming {ref}", "who comes {ref}", "rsvps {ref}"),
           "fr": ("qui vient {ref}", "qui participe {ref}", "qui sera là {ref}")},
    argument=_OPTIONAL_REF)
HISTORY = CommandSpec(
    key="ritual-history", role="coordinator", summary=N_("past meetups with their attendance"),
    forms={"en": ("history of ritual {ref}", "history of meetup {ref}", "meetup history {ref}", "past meetups {ref}"),
           "fr": ("historique du rituel {ref}", "historique de la rencontre {ref}", "rencontres passées {ref}")},
    argument=_OPTIONAL_REF)


def _now(ctx: Context) -> datetime:
    return ctx.event.at.astimezone(UTC)


def _tz(ctx: Context, ritual: Ritual) -> str:
    return (ctx.member.timezone if ctx.member else None) or ctx.event.sender.timezone or ritual.timezone


async def realign(ctx: Context, ritual: Ritual, before: Schedule, now: datetime) -> None:
    """After a schedule change: each upcoming meetup row takes the new schedule's date of the same rank
    (the next one stays the next one), with its agenda, RSVPs and hosts; a row beyond the new schedule's
    end is dropped. Past rows stay where they happened."""
    if ritual.kind != "meetup" or ritual.id is None:
        return
    rows = await upcoming_meetups(ctx.session, ritual.id, now)
    if not rows:
        return
    targets = schedule_of(ritual).next(now, len(rows))
    was = {row.id: (row.starts_at, row.agenda_closed) for row in rows}
    await redate(ctx.session, [(row, targets[i] if i < len(targets) else None) for i, row in enumerate(rows)])
    for row in rows:
        old_at, announced = was[row.id]
        if row.status == "planned" and row.starts_at != old_at:
            await _tell_new_date(ctx, ritual, row, old_at, announced, now)


async def _tell_new_date(ctx: Context, ritual: Ritual, meetup: Meetup, old_at: datetime, announced: bool,
                         now: datetime) -> None:
    """Post the new date in the ritual's channel when people were told the old one, or when its own
    announcement step is already past (else that step announces it, with the agenda, as usual)."""
    announce_at = meetup.starts_at - timedelta(days=int(settings_of(ritual)["announce_days"]))
    due = announce_at <= now
    if (not announced and not due) or ritual.status != "active":
        return
    target = ritual_target(ritual, ctx.community_config)
    if target is None:
        return
    platform, channel = target
    locale = ctx.community.locale if ctx.community else ctx.locale
    reply = await announcement(ctx, ritual, meetup, channel, locale, moved_from=old_at)
    meetup.agenda_closed = due  # announced early (still far off): topics may still be added
    ctx.send_on(platform, reply)


async def _ritual(ctx: Context, raw_id: str | None, usage_key: str, meetups_only: bool = False) -> Ritual | None:
    """The ritual numbered `raw_id`, or None when no number was given."""
    if raw_id is None:
        return None
    assert ctx.community is not None and ctx.community.id is not None
    ritual = await get_ritual(ctx.session, ctx.community.id, int(raw_id))
    if ritual is None or ritual.status not in ("active", "paused") or (meetups_only and ritual.kind != "meetup"):
        if meetups_only:
            raise InputError(N_("There is no meetup {id} here. Say `rituals` to see them."), id=raw_id)
        raise InputError(N_("There is no ritual {id} here. Say `rituals` to see them."), id=raw_id)
    return ritual


async def _occurrence(ctx: Context, text: str, usage_key: str) -> tuple[Ritual, datetime, str]:
    """(ritual, occurrence, the rest of the text) from `4`, `4 on 2026-12-08`, or nothing (the next meetup)."""
    m = _REF.match(text)
    if m is None or ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Which ritual? Give its number, e.g. `{usage}` (say `rituals` to see them)."),
                         usage_key=usage_key)
    now = _now(ctx)
    ritual = await _ritual(ctx, m.group(1), usage_key)
    if ritual is None:
        upcoming = await next_meetups(ctx, now)
        if not upcoming:
            raise InputError(N_("There is no meetup planned here. Say `rituals` to see the rituals, or give one's "
                                "number, e.g. `{usage}`."), usage_key=usage_key)
        ritual = upcoming[0][0]
    schedule = schedule_of(ritual)
    day = m.group(2)
    for at in schedule.after(now):
        if day is None or schedule.local(at).date().isoformat() == day:
            return ritual, at, m.group(3).strip()
        if schedule.local(at).date().isoformat() > day:
            break
    if day is None:
        raise InputError(N_("“{title}” has no date left. Change its schedule with `{usage}`."),
                         title=ritual.title, usage_key="edit-ritual")
    raise InputError(N_("“{title}” does not take place on {date}. Say `ritual {id}` to see its next dates."),
                     title=ritual.title, date=day, id=ritual.id)


def _channel_notice(ctx: Context, ritual: Ritual, text: Markup) -> None:
    target = ritual_target(ritual, ctx.community_config)
    if target is not None and ritual.status == "active":
        ctx.send_on(target[0], Post(channel=target[1], text=text))


@router.command(SKIP)
async def skip_occurrence(ctx: Context) -> None:
    """The occurrence does not take place; a meetup's agenda goes to the next one, its RSVPs and hosts stay
    with the skipped one (shown as skipped in its history)."""
    assert ctx.command is not None
    ritual, at, rest = await _occurrence(ctx, ctx.command.argument, "skip-occurrence")
    assert ritual.id is not None
    if rest:
        raise InputError(N_("Which ritual? Give its number, e.g. `{usage}` (say `rituals` to see them)."),
                         usage_key="skip-occurrence")
    schedule = schedule_of(ritual)
    bump(ritual, moves=moves_text(schedule.with_move(schedule.local(at), None)))
    following = schedule_of(ritual).next(at, 1)
    tz = _tz(ctx, ritual)
    nxt = when(following[0], tz, ctx.locale) if following else "-"
    lines = [ctx._("Skipped “{title}” on {when}. Next: {next}.", title=title_of(ritual, ctx._),
                   when=when(at, tz, ctx.locale), next=nxt)]
    if ritual.kind == "meetup":
        row = await ensure_meetup(ctx.session, ritual.id, at)
        row.status = "skipped"
        if following and (await agenda(ctx.session, row.id or 0)):
            later = await ensure_meetup(ctx.session, ritual.id, following[0])
            await move_agenda(ctx.session, row.id or 0, later.id or 0)
            lines.append(ctx._("Its agenda moves to the next one."))
        if row.agenda_closed:  # people were told it happens: tell them it does not
            _ = markup_translator(ctx.community.locale if ctx.community else ctx.locale)
            _channel_notice(ctx, ritual, _("🚫 **{title}** of {when} does not take place. Next: {next}.",
                                           title=ritual.title, when=when(at, ritual.timezone, _locale(ctx)),
                                           next=when(following[0], ritual.timezone, _locale(ctx))
                                           if following else "-"))
    lines.append(ctx._("Say `move ritual {id} to friday 16:00` to move a date instead.", id=ritual.id))
    ctx.reply(Markup("\n").join(lines))


def _locale(ctx: Context) -> str:
    return ctx.community.locale if ctx.community else ctx.locale


@router.command(MOVE)
async def move_occurrence(ctx: Context) -> None:
    """`move meetup 4 to friday 16:00`: the next occurrence (or the one `on 2026-12-08`) moves; a meetup's
    agenda, RSVPs and hosts move with it, and its reminders follow the new time."""
    assert ctx.command is not None
    ritual, at, rest = await _occurrence(ctx, ctx.command.argument, "move-meetup")
    assert ritual.id is not None
    to = _TO.match(rest)
    if to is None:
        raise InputError(N_("Almost: tell me the new day or time too. For example: `{usage}`"), usage_key="move-meetup")
    schedule = schedule_of(ritual)
    new_at = schedule.localise(parse_moment(to.group(1), around=schedule.local(at)))
    tz = _tz(ctx, ritual)
    if new_at <= _now(ctx):
        raise InputError(N_("{when} is already past: pick a later date."), when=when(new_at, tz, ctx.locale))
    moved = schedule.with_move(schedule.local(at), schedule.local(new_at))
    if new_at != at and schedule.before(new_at) == new_at:
        raise InputError(N_("“{title}” already takes place on {when}. Say `skip ritual {id}` to skip a date."),
                         title=ritual.title, when=when(new_at, tz, ctx.locale), id=ritual.id)
    if moved.before(new_at) != new_at:
        raise InputError(N_("That time was freed by an earlier move: pick another time (e.g. five minutes later)."))
    bump(ritual, moves=moves_text(moved))
    lines = [ctx._("Moved “{title}” from {before} to {when}.", title=title_of(ritual, ctx._),
                   before=when(at, tz, ctx.locale), when=when(new_at, tz, ctx.locale))]
    if ritual.kind == "meetup":
        row = await meetup_at(ctx.session, ritual.id, at)
        if row is not None:
            announced = row.agenda_closed
            await redate(ctx.session, [(row, new_at)])
            await _tell_new_date(ctx, ritual, row, at, announced, _now(ctx))
        lines.append(ctx._("Its agenda, answers and hosts move with it; reminders follow the new time."))
    ctx.reply(Markup("\n").join(lines))


async def _meetups_asked(ctx: Context) -> list[tuple[Ritual, datetime]]:
    """The meetup named by number (its next date), or every active meetup's next date."""
    assert ctx.command is not None
    m = _REF.match(ctx.command.argument)
    raw = m.group(1) if m else None
    if m is None or (not raw and (m.group(2) or m.group(3))):
        raise InputError(N_("Which meetup? Give its number, e.g. `{usage}`; to propose a topic, say `{add}`."),
                         usage_key=ctx.command.spec.key, add=ADD_AGENDA.usage(ctx.locale, ctx._))
    ritual = await _ritual(ctx, raw, ctx.command.spec.key, meetups_only=True)
    now = _now(ctx)
    if ritual is None:
        found = await next_meetups(ctx, now)
        if not found:
            raise InputError(N_("There is no meetup planned here yet; a coordinator can schedule one."))
        return found
    upcoming = schedule_of(ritual).next(now, 1)
    if not upcoming:
        raise InputError(N_("“{title}” has no date left. Change its schedule with `{usage}`."), title=ritual.title,
                         usage_key="edit-ritual")
    return [(ritual, upcoming[0])]


@router.command(AGENDA)
async def show_agenda(ctx: Context) -> None:
    """The agenda of each meetup's next occurrence, and how to add to it."""
    lines = []
    for ritual, at in await _meetups_asked(ctx):
        assert ritual.id is not None
        row = await meetup_at(ctx.session, ritual.id, at)
        items = await agenda(ctx.session, row.id or 0) if row is not None else []
        on = when(at, _tz(ctx, ritual), ctx.locale)
        if items:
            lines.append(ctx._("Agenda of **{title}** on {when}:", title=ritual.title, when=on))
            lines += [Markup("- {item} ({name})").format(item=item.text, name=member.display_name or "?")
                  for item, member in items]
        else:
            lines.append(ctx._("Nothing on the agenda of **{title}** on {when} yet.", title=ritual.title, when=on))
        if row is not None and row.agenda_closed:
            lines.append(ctx._("It was announced: new topics go to the meetup after it."))
    lines.append(ctx._("Propose a topic with `{usage}`.", usage=ADD_AGENDA.usage(ctx.locale, ctx._)))
    ctx.reply(Markup("\n").join(lines))


@router.command(WHO_COMES)
async def who_is_coming(ctx: Context) -> None:
    """The answers to each meetup's next occurrence: counts for everyone, names for coordinators."""
    names_shown = "coordinator" in ctx.roles
    lines = []
    for ritual, at in await _meetups_asked(ctx):
        assert ritual.id is not None
        row = await meetup_at(ctx.session, ritual.id, at)
        answers = await rsvps(ctx.session, row.id or 0) if row is not None else []
        lines.append(ctx._("**{title}** on {when}:", title=ritual.title, when=when(at, _tz(ctx, ritual), ctx.locale)))
        if not answers:
            lines.append(ctx._("- Nobody has answered yet: the announcement asks, {days} before.",
                               days=ctx._("{n}d", n=int(settings_of(ritual)["announce_days"]))))
            continue
        for answer, label in ANSWERS.items():
            people = [member.display_name or "?" for rsvp, member in answers if rsvp.answer == answer]
            if names_shown and people:
                lines.append(ctx._("- {answer}: {n} ({names})", answer=ctx._(label), n=len(people),
                                   names=", ".join(people)))
            else:
                lines.append(ctx._("- {answer}: {n}", answer=ctx._(label), n=len(people)))
    ctx.reply(Markup("\n").join(lines))


@router.command(HISTORY)
async def history(ctx: Context) -> None:
    """Past occurrences of a meetup (or of every meetup), latest first: attendance, hosts, notes; skipped ones."""
    assert ctx.command is not None and ctx.community is not None and ctx.community.id is not None
    m = _REF.match(ctx.command.argument)
    if m is None or m.group(2) or m.group(3):
        raise InputError(N_("Which ritual? Give its number, e.g. `{usage}` (say `rituals` to see them)."),
                         usage_key="ritual-history")
    ritual = await _ritual(ctx, m.group(1), "ritual-history", meetups_only=True)
    rituals = [ritual] if ritual else [r for r in await list_rituals(ctx.session, ctx.community.id)
                                       if r.kind == "meetup"]
    if not rituals:
        raise InputError(N_("There is no meetup planned here yet; a coordinator can schedule one."))
    lines = []
    for r in rituals:
        assert r.id is not None
        past = await past_meetups(ctx.session, r.id, _now(ctx))
        if not past:
            lines.append(ctx._("“{title}” has no past meetup yet.", title=r.title))
            continue
        lines.append(ctx._("Past meetups of **{title}**:", title=r.title))
        for meetup, going, came in past:
            on = when(meetup.starts_at, _tz(ctx, r), ctx.locale)
            if meetup.status == "skipped":
                lines.append(ctx._("- {when}: skipped", when=on))
                continue
            line = ctx._("- {when}: going {going}, attended {came}", when=on, going=going, came=came)
            hosts = await hosts_of(ctx.session, meetup.id or 0)
            if hosts:
                line += ctx._("; hosted by {names}", names=", ".join(h.display_name or "?" for h in hosts))
            if meetup.notes_url:
                line += ctx._("; notes: {url}", url=meetup.notes_url)
            lines.append(line)
    ctx.reply(Markup("\n").join(lines))
