"""Coordinators shape the community's rhythm: schedule, list, change, pause, resume and cancel rituals.

Every new schedule is shown first as a dry run (the next three occurrences, in the coordinator's time
zone) and saved only once confirmed. Changes raise the ritual's revision; the scheduler's leader picks
them up whichever process made them. A schedule change keeps each upcoming meetup's agenda, RSVPs and
hosts with it (`occurrences.realign`). A draft never confirmed, and an edit or a guided dialogue left
half-way, expire after a day (`ritual.expire`, a periodic job through the core).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import Argument, CommandSpec, fold
from bot.config import Config
from bot.context import Context
from bot.errors import InputError
from bot.events import ChoicePicked, MessagePosted, Scheduled, scheduled
from bot.features.occurrences import realign
from bot.features.ritual_common import (
    kind_of,
    ritual_target,
    schedule_of,
    settings_of,
    title_of,
    when,
)
from bot.i18n import N_
from bot.markup import Markup
from bot.replies import AskChoice, AskForm, FormField, Option, channel_link
from bot.router import Router
from bot.schedule import Schedule, describe, parse_schedule, schedule_from_form
from storage import communities
from storage.models import Community, Ritual
from storage.rituals import bump, get_ritual, list_rituals, stale_drafts

log = logging.getLogger(__name__)
router = Router()
_TITLE = re.compile(r'^\s*["“«\']\s*(.+?)\s*["”»\']\s*(.*)$', re.DOTALL)
_ID = re.compile(r"^\s*#?(\d{1,9})\b\s*(.*)$", re.DOTALL)
_FIELD = re.compile(r"^(title|titre|name|nom|channel|canal|salon|in|dans|text|texte|message|description|"
                    r"reminders?|rappels?|hosts?|h[oô]tes?|schedule|calendrier|horaire)\b\s*:?\s*(.*)$",
                    re.IGNORECASE | re.DOTALL)
_FIELDS = {"title": "title", "titre": "title", "name": "title", "nom": "title", "channel": "channel",
           "canal": "channel", "salon": "channel", "in": "channel", "dans": "channel", "text": "text",
           "texte": "text", "message": "text", "description": "text", "reminder": "reminders",
           "reminders": "reminders", "rappel": "reminders", "rappels": "reminders", "host": "hosts",
           "hosts": "hosts", "hote": "hosts", "hotes": "hosts", "hôte": "hosts", "hôtes": "hosts",
           "schedule": "schedule", "calendrier": "schedule", "horaire": "schedule"}
_HOURS = re.compile(r"(\d{1,4}(?:[.,]\d+)?)\s*(h|hours?|heures?|d|days?|j|jours?)?\b", re.IGNORECASE)
_NONE_WORDS = {"-", "none", "no", "nothing", "aucun", "aucune", "rien", "non"}
STATUS_NAMES = {"active": N_("active"), "paused": N_("paused"), "draft": N_("draft"), "cancelled": N_("cancelled")}
EXPIRE_JOB = "ritual.expire"
DRAFT_TTL = timedelta(hours=24)  # a dry run, an edit or a guided dialogue not answered by then expires
KINDS_MADE_IN_CHAT = ("meetup", "reminder")

SCHEDULE_MEETUP = CommandSpec(
    key="schedule-meetup", role="coordinator", summary=N_("schedule a recurring meetup (I show the dates first)"),
    forms={"en": ("schedule meetup {spec}", "schedule a meetup {spec}"),
           "fr": ("planifier rencontre {spec}", "planifier une rencontre {spec}")},
    argument=Argument("spec", N_("a title and a schedule"),
                      N_('"Helm clinic" every 2nd tuesday at 16:00 America/Montreal in #k8s'), max_length=500))
SCHEDULE_REMINDER = CommandSpec(
    key="schedule-reminder", role="coordinator", summary=N_("schedule a recurring reminder in a channel"),
    forms={"en": ("schedule reminder {spec}", "schedule a reminder {spec}"),
           "fr": ("planifier rappel {spec}", "planifier un rappel {spec}")},
    argument=Argument("spec", N_("a text and a schedule"),
                      N_('"Share your wins of the week" every friday at 15:00 in #k8s'), max_length=500))
SCHEDULE = CommandSpec(key="schedule", role="coordinator", summary=N_("set up a ritual step by step"),
                       forms={"en": ("schedule", "new ritual"), "fr": ("planifier", "nouveau rituel")})
RITUALS = CommandSpec(key="rituals", role="coordinator", summary=N_("list this community's rituals"),
                      forms={"en": ("rituals", "list rituals"), "fr": ("rituels", "liste des rituels")})
_ID_ARG = Argument("id", N_("the ritual's number (see `rituals`)"), N_("3"), max_length=20)
RITUAL = CommandSpec(key="show-ritual", role="coordinator", summary=N_("everything about one ritual, and how to "
                                                                      "change it"), argument=_ID_ARG,
                     forms={"en": ("ritual {id}", "show ritual {id}"), "fr": ("rituel {id}", "voir le rituel {id}")})
PAUSE = CommandSpec(key="pause-ritual", role="coordinator", summary=N_("pause a ritual"), argument=_ID_ARG,
                    forms={"en": ("pause ritual {id}",), "fr": ("suspendre rituel {id}", "suspendre le rituel {id}")})
RESUME = CommandSpec(key="resume-ritual", role="coordinator", summary=N_("resume a paused or cancelled ritual"),
                     argument=_ID_ARG,
                     forms={"en": ("resume ritual {id}",), "fr": ("reprendre rituel {id}", "reprendre le rituel {id}")})
CANCEL = CommandSpec(key="cancel-ritual", role="coordinator", summary=N_("stop a ritual (its history stays)"),
                     argument=_ID_ARG,
                     forms={"en": ("cancel ritual {id}", "delete ritual {id}", "remove ritual {id}"),
                            "fr": ("annuler rituel {id}", "annuler le rituel {id}", "supprimer rituel {id}",
                                   "supprimer le rituel {id}")})
EDIT = CommandSpec(
    key="edit-ritual", role="coordinator",
    summary=N_("change a ritual's schedule (I show the dates first), title, channel, text, reminders or hosts"),
    forms={"en": ("edit ritual {change}", "change ritual {change}"),
           "fr": ("modifier rituel {change}", "modifier le rituel {change}")},
    argument=Argument("change", N_("the ritual's number and what changes"), N_("3 every last friday at 15:00"),
                      max_length=500))
RENAME = CommandSpec(
    key="rename-ritual", role="coordinator", summary=N_("give a ritual a new title"),
    forms={"en": ("rename ritual {change}",), "fr": ("renommer rituel {change}", "renommer le rituel {change}")},
    argument=Argument("change", N_("the ritual's number and its new title"), N_("3 Helm and GitOps clinic"),
                      max_length=300))


def _today(ctx: Context) -> datetime:
    return ctx.event.at.astimezone(UTC)


def _default_tz(ctx: Context) -> str:
    return (ctx.member.timezone if ctx.member else None) or ctx.event.sender.timezone or (
        ctx.community.timezone if ctx.community else "UTC")


async def _channel_ref(ctx: Context, named: str | None) -> str:
    """`#k8s`, `<#C123|k8s>` or nothing (this channel, else the community's first configured one, else the
    first one Steward knows for it on this platform) → "platform:id"."""
    assert ctx.community is not None and ctx.community.id is not None
    platform = ctx.event.platform
    if named:
        ident = named.strip().strip("<>#").split("|")
        for channel in await communities.channels_of(ctx.session, ctx.community.id):
            if channel.platform == platform and (channel.platform_id == ident[0] or channel.name.lstrip("#") in ident):
                return f"{channel.platform}:{channel.platform_id}"
        raise InputError(N_("I don't know the channel {channel} in this community. Name one of its channels, "
                            "e.g. `{usage}`."), usage_key="schedule-meetup", channel=named)
    if not ctx.event.is_direct and ctx.event.channel:
        return f"{platform}:{ctx.event.channel}"
    cc = ctx.community_config
    if cc and cc.channels:
        return cc.channels[0]
    known = [c for c in await communities.channels_of(ctx.session, ctx.community.id) if c.platform == platform]
    return f"{known[0].platform}:{known[0].platform_id}" if known else ""


async def channel_name(ctx: Context, ritual: Ritual) -> Markup | str:
    """Where the ritual posts, as people read it: `#k8s` (or the channel's id when its name is unknown), as a
    channel link its platform can show better (Slack: the channel itself, named for each reader)."""
    target = ritual_target(ritual, ctx.community_config)
    if target is None or ctx.community is None or ctx.community.id is None:
        return "-"
    platform, ident = target
    for channel in await communities.channels_of(ctx.session, ctx.community.id):
        if channel.platform == platform and channel.platform_id == ident and channel.name:
            return channel_link("#" + channel.name.lstrip("#"), ident)
    return channel_link(ident, ident)


async def create_draft(ctx: Context, kind: str, title: str, schedule: Schedule, channel: str | None,
                       text: str, message: str = "") -> Ritual:
    """A draft ritual, saved once a coordinator confirms the dry run."""
    if ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    settings = {"text": text} | ({"message": message[:1000]} if message else {})
    ritual = Ritual(community_id=ctx.community.id, kind=kind, title=title[:200], rrule=schedule.rrule,
                    dtstart=schedule.dtstart.isoformat(timespec="seconds"), timezone=schedule.timezone,
                    exdates=",".join(d.isoformat() for d in schedule.exdates),
                    channel=await _channel_ref(ctx, channel), settings=json.dumps(settings),
                    created_by=f"{ctx.event.platform}:{ctx.event.sender.id}", created_at=_today(ctx))
    ctx.session.add(ritual)
    await ctx.session.flush()
    return ritual


def dry_run(ctx: Context, ritual: Ritual, schedule: Schedule, key: str, question: Markup) -> None:
    """Show the next three occurrences in the coordinator's time zone (if known) and ask to confirm."""
    tz = (ctx.member.timezone if ctx.member else None) or ctx.event.sender.timezone or schedule.timezone
    upcoming = schedule.next(_today(ctx), 3)
    if not upcoming:
        raise InputError(N_("That schedule has no date left in the future. Write it like `{usage}`."),
                         usage_key="schedule-meetup")
    lines = [question, *(Markup("- {when}").format(when=when(at, tz, ctx.locale)) for at in upcoming)]
    if schedule.timezone != tz:
        lines.append(ctx._("(It runs in {tz}: the local time there stays the same across clock changes.)",
                           tz=schedule.timezone))
    ctx.send(AskChoice(channel=ctx.event.channel, thread=ctx.event.thread, user=ctx.event.sender.id, key=key,
                       text=Markup("\n").join(lines),
                       options=(Option(id="yes", label=ctx._("Yes, save it")), Option(id="no", label=ctx._("Cancel")))))


def split_title(spec: str, default: str) -> tuple[str, str]:
    """`"Helm clinic" every …` → ("Helm clinic", "every …")."""
    if m := _TITLE.match(spec):
        return m.group(1), m.group(2)
    return default, spec


def _unquote(text: str) -> str:
    return text.strip().strip("\"“”«»'").strip()


async def _schedule(ctx: Context, kind: str) -> None:
    assert ctx.command is not None
    title, rest = split_title(ctx.command.argument, ctx._("Meetup") if kind == "meetup" else ctx._("Reminder"))
    schedule, channel = parse_schedule(rest, default_tz=_default_tz(ctx), today=_today(ctx).date())
    ritual = await create_draft(ctx, kind, title, schedule, channel, rest)
    dry_run(ctx, ritual, schedule, f"ritual:confirm:{ritual.id}",
            ctx._("Here are the next dates of “{title}”. Save it?", title=ritual.title))


@router.command(SCHEDULE_MEETUP)
async def schedule_meetup(ctx: Context) -> None:
    """`schedule meetup "Helm clinic" every 2nd tuesday at 16:00 America/Montreal in #k8s`."""
    await _schedule(ctx, "meetup")


@router.command(SCHEDULE_REMINDER)
async def schedule_reminder(ctx: Context) -> None:
    """`schedule reminder "Share your wins" every friday at 15:00`."""
    await _schedule(ctx, "reminder")


async def _find(ctx: Context, text: str, usage_key: str,
                statuses: tuple[str, ...] = ("active", "paused")) -> tuple[Ritual, str]:
    m = _ID.match(text)
    if m is None or ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Which ritual? Give its number, e.g. `{usage}` (say `rituals` to see them)."),
                         usage_key=usage_key)
    ritual = await get_ritual(ctx.session, ctx.community.id, int(m.group(1)))
    if ritual is None or ritual.status not in statuses:
        if ritual is not None and ritual.status == "cancelled":
            raise InputError(N_("Ritual {id} is cancelled. Say `resume ritual {id}` to bring it back first."),
                             id=m.group(1))
        raise InputError(N_("There is no ritual {id} here. Say `rituals` to see them."), id=m.group(1))
    return ritual, m.group(2)


def _from_chat(ritual: Ritual) -> None:
    """Rituals from the config file (and built-in ones) are changed there: the file wins at each start."""
    if ritual.source != "chat":
        raise InputError(N_("Ritual {id} comes from the configuration file: change it there (the file wins at "
                            "each restart). From here you can pause it, skip or move one date."), id=ritual.id)


@router.command(PAUSE)
async def pause_ritual(ctx: Context) -> None:
    """Pause: nothing is posted until resumed."""
    assert ctx.command is not None
    ritual, _ = await _find(ctx, ctx.command.argument, "pause-ritual")
    bump(ritual, status="paused")
    ctx.reply(ctx._("Paused “{title}”. Say `resume ritual {id}` to start it again.", title=title_of(ritual, ctx._),
                    id=ritual.id))


@router.command(RESUME)
async def resume_ritual(ctx: Context) -> None:
    """Resume (a paused or a cancelled ritual) from the next occurrence: missed ones are not sent."""
    assert ctx.command is not None
    ritual, _ = await _find(ctx, ctx.command.argument, "resume-ritual", ("active", "paused", "cancelled"))
    if ritual.status == "cancelled":
        _from_chat(ritual)
    bump(ritual, status="active")
    upcoming = schedule_of(ritual).next(_today(ctx), 1)
    nxt = when(upcoming[0], _default_tz(ctx), ctx.locale) if upcoming else "-"
    ctx.reply(ctx._("Resumed “{title}”; next: {next}.", title=title_of(ritual, ctx._), next=nxt))


@router.command(CANCEL)
async def cancel_ritual(ctx: Context) -> None:
    """Cancel (its history stays; `resume ritual` brings it back)."""
    assert ctx.command is not None
    ritual, _ = await _find(ctx, ctx.command.argument, "cancel-ritual")
    _from_chat(ritual)
    bump(ritual, status="cancelled")
    ctx.reply(ctx._("Cancelled “{title}”. Its past meetups, notes and attendance are kept; say `resume ritual {id}` "
                    "to bring it back.", title=ritual.title, id=ritual.id))


@router.command(RENAME)
async def rename_ritual(ctx: Context) -> None:
    """`rename ritual 4 Helm and GitOps clinic`."""
    assert ctx.command is not None
    ritual, rest = await _find(ctx, ctx.command.argument, "rename-ritual")
    rest = re.sub(r"^\s*(?::|to\b|en\b|->)\s*", "", rest, flags=re.IGNORECASE)
    await _change(ctx, ritual, "title", rest)


@router.command(EDIT)
async def edit_ritual(ctx: Context) -> None:
    """A new schedule (applied once confirmed), or one field: `title:`, `channel:`, `text:`, `reminders:`,
    `hosts:` (e.g. `edit ritual 4 title: Helm clinic`)."""
    assert ctx.command is not None
    ritual, rest = await _find(ctx, ctx.command.argument, "edit-ritual")
    if not rest.strip():
        raise InputError(N_("Almost: tell me what changes too. For example: `{usage}`, or `title: …`, `channel: #…`, "
                            "`text: …`, `reminders: 24h 1h`, `hosts: @ana`."), usage_key="edit-ritual")
    field = _FIELD.match(rest.strip())
    name = _FIELDS.get(field.group(1).casefold(), "") if field else "schedule"
    if field and name != "schedule":
        await _change(ctx, ritual, name, field.group(2))
        return
    await _propose_schedule(ctx, ritual, field.group(2) if field else rest)


async def _propose_schedule(ctx: Context, ritual: Ritual, text: str) -> None:
    _from_chat(ritual)
    schedule, channel = parse_schedule(text, default_tz=ritual.timezone, today=_today(ctx).date())
    pending = {"rrule": schedule.rrule, "dtstart": schedule.dtstart.isoformat(timespec="seconds"),
               "timezone": schedule.timezone, "exdates": ",".join(d.isoformat() for d in schedule.exdates),
               "text": text, "asked_at": _today(ctx).isoformat()}
    if channel:
        pending["channel"] = await _channel_ref(ctx, channel)
    ritual.pending = json.dumps(pending)
    dry_run(ctx, ritual, schedule, f"ritual:edit:{ritual.id}",
            ctx._("With this change, the next dates of “{title}” would be:", title=ritual.title))


def parse_reminders(text: str) -> list[float]:
    """`24h 1h`, `2 days, 1 hour`, `24, 1`, `none` → hours before the meetup, largest first."""
    if text.strip().casefold() in _NONE_WORDS:
        return []
    hours: list[float] = []
    rest = _HOURS.sub(" ", text)
    for amount, unit in _HOURS.findall(text):
        value = float(amount.replace(",", ".")) * (24 if unit and unit[0].casefold() in "dj" else 1)
        hours.append(value)
    leftover = [w for w in re.split(r"[\s,;]+", rest) if w and w.casefold() not in ("and", "et", "before", "avant")]
    if not hours or leftover or len(hours) > 5 or any(not 0 < h <= 24 * 30 for h in hours):
        raise InputError(N_("Give up to five reminders in hours or days before the meetup (at most 30 days), "
                            "e.g. `reminders: 24h 1h`, or `reminders: none`."))
    return sorted(set(hours), reverse=True)


async def _change(ctx: Context, ritual: Ritual, name: str, value: str) -> None:
    """Apply one field change at once and say what it is now."""
    value = value.strip()
    if name == "hosts":
        from bot.features.hosts import name_hosts, next_occurrence
        from bot.reputation.mentions import mentions

        people = mentions(value)
        if ritual.kind != "meetup" or not people:
            raise InputError(N_("Give the meetup's number and mention who hosts, e.g. `{usage}`."),
                             usage_key="next-meetup-host")
        await name_hosts(ctx, ritual, await next_occurrence(ctx, ritual), people)
        return
    _from_chat(ritual)
    settings = settings_of(ritual)
    stored = json.loads(ritual.settings or "{}")
    stored = stored if isinstance(stored, dict) else {}
    if name == "title":
        title = _unquote(value)[:200]
        if not title:
            raise InputError(N_("Almost: tell me the new title too. For example: `{usage}`"), usage_key="rename-ritual")
        bump(ritual, title=title)
        ctx.reply(ctx._("Done: ritual {id} is now called “{title}”.", id=ritual.id, title=title))
    elif name == "channel":
        bump(ritual, channel=await _channel_ref(ctx, value or None))
        ctx.reply(ctx._("Done: “{title}” now posts in {channel}.", title=ritual.title,
                        channel=await channel_name(ctx, ritual)))
    elif name == "text":
        message = _unquote(value)
        if message.casefold() in _NONE_WORDS or not message:
            stored.pop("message", None)
            bump(ritual, settings=json.dumps(stored))
            ctx.reply(ctx._("Done: “{title}” has no text any more.", title=ritual.title))
        else:
            bump(ritual, settings=json.dumps(stored | {"message": message[:1000]}))
            ctx.reply(ctx._("Done: the text of “{title}” is now: {text}", title=ritual.title, text=message[:1000]))
    elif name == "reminders":
        if ritual.kind != "meetup":
            raise InputError(N_("Only meetups send reminders before they start; a reminder ritual is itself "
                                "the reminder."))
        hours = parse_reminders(value)
        bump(ritual, settings=json.dumps(stored | {"reminders": hours}))
        if hours:
            ctx.reply(ctx._("Done: “{title}” reminds {hours} before it starts (announced {days} before).",
                            title=ritual.title, hours=", ".join(hours_text(h, ctx._) for h in hours),
                            days=hours_text(24.0 * int(settings["announce_days"]), ctx._)))
        else:
            ctx.reply(ctx._("Done: “{title}” sends no reminder any more.", title=ritual.title))


def hours_text(h: float, _: Callable[..., str]) -> str:
    """`2d`, `3h`, `1.5h` (`2 j`, `3 h` in French): how long before or after, in the reader's language."""
    if h >= 24 and h % 24 == 0:
        return _("{n}d", n=format(h / 24, "g"))
    return _("{n}h", n=format(h, "g"))


@router.command(RITUALS)
async def show_rituals(ctx: Context) -> None:
    """Every live ritual with its number, kind, schedule, channel, next date and state; cancelled ones last."""
    if ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    rituals = await list_rituals(ctx.session, ctx.community.id)
    cancelled = [r for r in await list_rituals(ctx.session, ctx.community.id, ("cancelled",)) if r.source == "chat"]
    if not rituals and not cancelled:
        ctx.reply(ctx._("No rituals yet. Try `{usage}`, or say `schedule` and I'll guide you.",
                        usage=SCHEDULE_MEETUP.usage(ctx.locale, ctx._)))
        return
    lines = [ctx._("This community's rituals:")]
    tz = _default_tz(ctx)
    for r in rituals:
        upcoming = schedule_of(r).next(_today(ctx), 1)
        nxt = when(upcoming[0], tz, ctx.locale) if upcoming else "-"
        kind = kind_of(r.kind)
        lines.append(ctx._("- **{id}** “{title}” ({kind}, {status}): {rule}, in {channel}; next: {next}", id=r.id,
                           title=title_of(r, ctx._), kind=ctx._(kind.label) if kind else r.kind,
                           status=ctx._(STATUS_NAMES[r.status]), rule=rule_text(ctx, r),
                           channel=await channel_name(ctx, r), next=nxt))
    if cancelled:
        lines.append(ctx._("Cancelled: {rituals}. Say `resume ritual {id}` to bring one back.", id=cancelled[0].id,
                           rituals=Markup(", ").join(ctx._("**{id}** “{title}”", id=r.id, title=r.title)
                                                     for r in cancelled)))
    lines.append(ctx._("Say `ritual {id}` for the details and how to change it.", id=(rituals or cancelled)[0].id))
    ctx.reply(Markup("\n").join(lines))


def rule_text(ctx: Context, ritual: Ritual) -> str:
    """The ritual's schedule in the reader's language, with its time zone."""
    return ctx._("{rule} ({tz})", rule=describe(schedule_of(ritual), ctx._, ctx.locale), tz=ritual.timezone)


@router.command(RITUAL)
async def show_ritual(ctx: Context) -> None:
    """One ritual: what it is, where and when it runs, its next dates and one-off changes, how to change it."""
    assert ctx.command is not None
    ritual, _ = await _find(ctx, ctx.command.argument, "show-ritual", ("active", "paused", "cancelled"))
    kind = kind_of(ritual.kind)
    settings = settings_of(ritual)
    schedule = schedule_of(ritual)
    tz = _default_tz(ctx)
    lines = [ctx._("**{id}** “{title}” ({kind}, {status})", id=ritual.id, title=title_of(ritual, ctx._),
                   kind=ctx._(kind.label) if kind else ritual.kind, status=ctx._(STATUS_NAMES[ritual.status])),
             ctx._("When: {rule}", rule=rule_text(ctx, ritual)),
             ctx._("Where: {channel}", channel=await channel_name(ctx, ritual))]
    if settings.get("message"):
        lines.append(ctx._("Text: {text}", text=settings["message"]))
    if ritual.kind == "meetup":
        lines.append(ctx._("Announced {days} before; reminders {hours} before; follow-up {after} after.",
                           days=hours_text(24.0 * int(settings["announce_days"]), ctx._),
                           hours=", ".join(hours_text(float(h), ctx._) for h in settings["reminders"]) or "-",
                           after=hours_text(float(settings["followup_hours"]), ctx._)))
    upcoming = schedule.next(_today(ctx), 3)
    if upcoming:
        lines.append(ctx._("Next dates:"))
        lines += [Markup("- {when}").format(when=when(at, tz, ctx.locale)) for at in upcoming]
    for original, new in schedule.moves:
        at = schedule.localise(original)
        if at > _today(ctx):
            lines.append(ctx._("Skipped: {when}", when=when(at, tz, ctx.locale)) if new is None else
                         ctx._("Moved: {before} → {when}", before=when(at, tz, ctx.locale),
                               when=when(schedule.localise(new), tz, ctx.locale)))
    if ritual.source == "chat":
        lines.append(ctx._("Change it: `rename ritual {id} …`, `edit ritual {id} every …`, `edit ritual {id} "
                           "channel: #…`, `edit ritual {id} text: …`, `skip ritual {id}`, `move ritual {id} to "
                           "friday 16:00`, `pause ritual {id}`, `cancel ritual {id}`.", id=ritual.id))
    else:
        lines.append(ctx._("It comes from the configuration file: change it there. From here: `skip ritual {id}`, "
                           "`move ritual {id} to friday 16:00`, `pause ritual {id}`.", id=ritual.id))
    ctx.reply(Markup("\n").join(lines))


@router.choice("ritual", role="coordinator")
async def confirm(ctx: Context) -> None:
    """Save a draft or apply a pending edit, when a coordinator says yes."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    _, action, raw_id = [*event.key.split(":"), "", ""][:3]
    ritual = await ctx.session.get(Ritual, int(raw_id)) if raw_id.isdigit() else None
    if ritual is None or ctx.community is None or ritual.community_id != ctx.community.id:
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    if event.option != "yes":
        if action == "confirm" and ritual.status == "draft":
            await ctx.session.delete(ritual)
        ritual.pending = None
        ctx.reply_privately(ctx._("OK, nothing changed."))
        return
    if action == "confirm" and ritual.status == "draft":
        ritual.pending = None
        bump(ritual, status="active")
    elif action == "edit" and ritual.pending and "rrule" in (pending := json.loads(ritual.pending)):
        asked = pending.pop("asked_at", None)
        if asked is not None and datetime.fromisoformat(asked) + DRAFT_TTL < _today(ctx):
            ritual.pending = None
            ctx.reply_privately(ctx._("That question has expired; please start again."))
            return
        before = schedule_of(ritual)
        settings = settings_of(ritual) | {"text": pending.pop("text", "")}
        bump(ritual, settings=json.dumps(settings), pending=None, moves="", **pending)
        await realign(ctx, ritual, before, _today(ctx))
    else:
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    ctx.reply(ctx._("Saved: ritual {id} “{title}”. Say `rituals` to see them all.", id=ritual.id, title=ritual.title))


# The guided dialogue: each choice is carried in the next question's key; once the schedule and channel
# are known, a draft holds the rest (its title and text, asked as free text) until the dry run.
FREQUENCIES = {"weekly": ("every {day}", N_("Every week")), "biweekly": ("every 2 weeks on {day}", N_("Every 2 weeks")),
               "first": ("every 1st {day}", N_("First of the month")),
               "second": ("every 2nd {day}", N_("Second of the month")),
               "last": ("every last {day}", N_("Last of the month"))}
DAYS = {"monday": N_("Monday"), "tuesday": N_("Tuesday"), "wednesday": N_("Wednesday"), "thursday": N_("Thursday"),
        "friday": N_("Friday")}
TIMES = ("09:00", "12:00", "16:00", "18:00")
_CHANNEL_OPTIONS = 8


def _choice(ctx: Context, key: str, text: Markup, options: list[tuple[str, str]]) -> AskChoice:
    return AskChoice(channel=ctx.event.channel, thread=ctx.event.thread, user=ctx.event.sender.id, key=key,
                     text=text, options=tuple(Option(id=i, label=label) for i, label in options))


def _ask(ctx: Context, key: str, text: Markup, options: list[tuple[str, str]]) -> None:
    ctx.send(_choice(ctx, key, text, options))


@router.command(SCHEDULE)
async def guide(ctx: Context) -> None:
    """A form where the platform can show one now (a Slack modal), else step 1 of the guided dialogue.

    The adapter decides when it sends the reply (a modal's trigger may have expired by then).
    """
    first_step = _choice(ctx, "ritualguide", ctx._("Let's set up a ritual. What kind?"),
                         [("meetup", ctx._("A meetup")), ("reminder", ctx._("A reminder"))])
    ctx.send(AskForm(
        channel=ctx.event.channel, user=ctx.event.sender.id, key="ritualform", thread=ctx.event.thread,
        event_id=ctx.event.event_id, title=ctx._("New ritual"), submit=ctx._("Send"),
        text=ctx._("I'll show you the next dates before saving."),
        fields=(FormField(id="title", label=ctx._("Title"), placeholder=ctx._("Helm clinic")),
                FormField(id="kind", label=ctx._("Meetup or reminder?"), placeholder=ctx._("meetup"), optional=True),
                FormField(id="schedule", label=ctx._("How often?"), placeholder=ctx._("every 2nd tuesday")),
                FormField(id="time", label=ctx._("At what time?"), placeholder="16:00"),
                FormField(id="timezone", label=ctx._("Time zone"), placeholder="America/Montreal", optional=True),
                FormField(id="channel", label=ctx._("Channel"), placeholder="#k8s", optional=True),
                FormField(id="text", label=ctx._("Text (what the announcement or reminder says)"),
                          placeholder=ctx._("Bring your Helm questions!"), optional=True)),
        fallback=first_step))


# What a coordinator may type in the form's kind field, in either language.
_FORM_KINDS = {"meetup": "meetup", "rencontre": "meetup", "reminder": "reminder", "rappel": "reminder"}


@router.choice("ritualform", role="coordinator")
async def form_answered(ctx: Context) -> None:
    """The form's answers take the same path as chat: a draft and its dry run."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    try:
        raw = json.loads(event.option)
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        raise InputError(N_("That form came back empty; please start again with `{usage}`."), usage_key="schedule")
    fields = {k: str(v).strip() for k, v in raw.items() if isinstance(k, str) and v is not None and str(v).strip()}
    kind = fields.get("kind", "meetup")
    fields["kind"] = _FORM_KINDS.get(fold(kind), kind)
    await from_form(ctx, fields)


async def _channel_options(ctx: Context) -> list[tuple[str, str]]:
    """Where a new ritual may post: this channel first (when asked in one), then the community's others."""
    assert ctx.community is not None and ctx.community.id is not None
    found: dict[str, str] = {}
    if not ctx.event.is_direct and ctx.event.channel:
        found[ctx.event.channel] = ctx._("This channel")
    for channel in await communities.channels_of(ctx.session, ctx.community.id):
        if channel.platform == ctx.event.platform and channel.platform_id not in found:
            found[channel.platform_id] = "#" + channel.name.lstrip("#") if channel.name else channel.platform_id
    return list(found.items())[:_CHANNEL_OPTIONS]


@router.choice("ritualguide", role="coordinator")
async def guide_step(ctx: Context) -> None:
    """Next question; once kind, frequency, day, time and channel are known, a draft asks for title and text."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    answers = [*event.key.split(":")[1:], event.option]
    if len(answers) == 1:
        _ask(ctx, f"ritualguide:{answers[0]}", ctx._("How often?"),
             [(k, ctx._(label)) for k, (_, label) in FREQUENCIES.items()])
        return
    if len(answers) == 2:
        _ask(ctx, "ritualguide:" + ":".join(answers), ctx._("Which day?"), [(k, ctx._(v)) for k, v in DAYS.items()])
        return
    if len(answers) == 3:
        _ask(ctx, "ritualguide:" + ":".join(answers), ctx._("At what time (your time zone)?"), [(t, t) for t in TIMES])
        return
    kind, freq, day, at = answers[:4]
    at = at if ":" in at else f"{at[:2]}:{at[2:]}"
    if kind not in KINDS_MADE_IN_CHAT or freq not in FREQUENCIES or day not in DAYS or at not in TIMES \
            or ctx.community is None:
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    channel = answers[4] if len(answers) > 4 else None
    if channel is None:
        options = await _channel_options(ctx)
        if len(options) > 1:
            _ask(ctx, "ritualguide:" + ":".join([kind, freq, day, at.replace(":", "")]),
                 ctx._("Where should it post?"), options)
            return
    elif channel not in {ident for ident, _ in await _channel_options(ctx)}:
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    fields = {"kind": kind, "schedule": FREQUENCIES[freq][0].format(day=day), "time": at}
    if channel:
        fields["channel"] = channel
    ritual = await from_form(ctx, fields, dry=False)
    await _drop_other_guides(ctx, ritual)
    _ask_free_text(ctx, ritual, "title")


def _ask_free_text(ctx: Context, ritual: Ritual, step: str) -> None:
    """Ask for the title or the text; the coordinator's next message in this conversation is the answer."""
    ritual.pending = json.dumps({"guide": step, "channel": ctx.event.channel, "thread": ctx.event.thread,
                                 "asked_at": _today(ctx).isoformat()})
    if step == "title":
        ctx.reply(ctx._("What is its title? Write it in your next message, e.g. “Helm clinic”."))
    elif ritual.kind == "meetup":
        ctx.reply(ctx._("What should the announcement say besides the date and the agenda? Write it in your next "
                        "message, or `-` for nothing."))
    else:
        ctx.reply(ctx._("What should the reminder say under its title? Write it in your next message, or `-` for "
                        "nothing."))


async def _drop_other_guides(ctx: Context, keep: Ritual) -> None:
    """A coordinator restarting the dialogue leaves no half-made draft behind."""
    for other in await _guided_drafts(ctx):
        if other.id != keep.id:
            await ctx.session.delete(other)


async def _guided_drafts(ctx: Context) -> list[Ritual]:
    if ctx.community is None or ctx.community.id is None:
        return []
    stmt = select(Ritual).where(Ritual.community_id == ctx.community.id, Ritual.status == "draft",
                                Ritual.created_by == f"{ctx.event.platform}:{ctx.event.sender.id}",
                                col(Ritual.pending).is_not(None)).order_by(col(Ritual.id).desc())
    return list((await ctx.session.exec(stmt)).all())


@router.on(MessagePosted)
async def guide_answer(ctx: Context) -> None:
    """A coordinator's message that is no command, in the conversation where the dialogue asked for a title
    or a text, is that answer (`ctx.taken`: no "I didn't get that")."""
    event = ctx.event
    assert isinstance(event, MessagePosted)
    text = (event.command_text or event.text).strip()
    if ctx.command is not None or not (event.addressed or event.is_direct) or not text:
        return
    for ritual in await _guided_drafts(ctx):
        state = json.loads(ritual.pending or "{}")
        if state.get("channel") != event.channel or state.get("thread") not in (None, event.thread):
            continue
        ctx.taken = True
        if state.get("guide") == "title":
            ritual.title = _unquote(text)[:200] or ritual.title
            _ask_free_text(ctx, ritual, "text")
            return
        ritual.pending = None
        if _unquote(text).casefold() not in _NONE_WORDS:
            ritual.settings = json.dumps(json.loads(ritual.settings or "{}") | {"message": _unquote(text)[:1000]})
        dry_run(ctx, ritual, schedule_of(ritual), f"ritual:confirm:{ritual.id}",
                ctx._("Here are the next dates of “{title}”. Save it?", title=ritual.title))
        return


async def from_form(ctx: Context, fields: dict[str, str], dry: bool = True) -> Ritual:
    """A ritual draft from form fields (guided dialogue, Slack modal) and its dry run: the same path as chat.

    Fields: `kind` (meetup | reminder), `title`, `schedule` ("every 2nd tuesday"), `time` ("16:00"), and
    optionally `timezone`, `channel` ("#k8s"), `text` (what it says), `start`, `until`, `count`, `except`.
    """
    kind = fields.get("kind", "meetup")
    if kind not in KINDS_MADE_IN_CHAT:
        raise InputError(N_("A ritual is a meetup or a reminder. For example: `{usage}`"), usage_key="schedule-meetup")
    schedule, channel = schedule_from_form(fields, default_tz=_default_tz(ctx), today=_today(ctx).date())
    title = fields.get("title") or (ctx._("Meetup") if kind == "meetup" else ctx._("Reminder"))
    ritual = await create_draft(ctx, kind, title, schedule, channel, fields.get("schedule", ""),
                                message=fields.get("text", ""))
    if dry:
        dry_run(ctx, ritual, schedule, f"ritual:confirm:{ritual.id}",
                ctx._("Here are the next dates of “{title}”. Save it?", title=ritual.title))
    return ritual


@router.periodic(EXPIRE_JOB, 3600.0)
async def stale_found(session: AsyncSession, config: Config, now: datetime) -> list[Scheduled]:
    """Drafts older than a day, and edits or dialogues asked more than a day ago: each one expires."""
    events = []
    for ritual in await stale_drafts(session, now - DRAFT_TTL):
        if ritual.status == "draft":
            subject = f"{ritual.id}:draft"
        else:
            asked = _asked_at(ritual)
            if asked is None or asked + DRAFT_TTL > now:
                continue
            subject = f"{ritual.id}:{asked:%Y%m%dT%H%M%S}"
        community = await session.get(Community, ritual.community_id)
        platform = ritual.channel.partition(":")[0] or "none"
        events.append(scheduled(EXPIRE_JOB, subject, platform=platform, community=community.slug if community else None,
                                due_at=now, now=now))
    return events


def _asked_at(ritual: Ritual) -> datetime | None:
    try:
        asked = json.loads(ritual.pending or "{}").get("asked_at")
        return datetime.fromisoformat(asked) if asked else None
    except (ValueError, AttributeError):
        return datetime.min.replace(tzinfo=UTC)  # unreadable: stale


@router.scheduled(EXPIRE_JOB)
async def expire(ctx: Context) -> None:
    """Delete a stale draft, or forget a stale pending edit (a late "yes" then says the question expired)."""
    event = ctx.event
    assert isinstance(event, Scheduled)
    raw_id, _, what = event.subject.partition(":")
    ritual = await ctx.session.get(Ritual, int(raw_id)) if raw_id.isdigit() else None
    if ritual is None:
        return
    cutoff = event.at - DRAFT_TTL
    if what == "draft" and ritual.status == "draft" and ritual.created_at <= cutoff:
        log.info("draft ritual #%s “%s” never confirmed: deleted", ritual.id, ritual.title)
        await ctx.session.delete(ritual)
    elif what != "draft" and ritual.pending and (asked := _asked_at(ritual)) is not None and asked <= cutoff:
        log.info("ritual #%s: a change asked at %s was never confirmed: forgotten", ritual.id, asked)
        ritual.pending = None

