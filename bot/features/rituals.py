"""Coordinators shape the community's rhythm: schedule, list, edit, pause, resume and cancel rituals.

Every new schedule is shown first as a dry run (the next three occurrences, in the coordinator's time
zone) and saved only once confirmed. Changes raise the ritual's revision; the scheduler's leader picks
them up whichever process made them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.events import ChoicePicked
from bot.features.ritual_common import kind_of, schedule_of, settings_of, when
from bot.i18n import N_
from bot.markup import Markup
from bot.replies import AskChoice, AskForm, FormField, Option
from bot.router import Router
from bot.schedule import Schedule, parse_schedule, schedule_from_form
from storage import communities
from storage.models import Ritual
from storage.rituals import bump, get_ritual, list_rituals

router = Router()
_TITLE = re.compile(r'^\s*["“«\']\s*(.+?)\s*["”»\']\s*(.*)$', re.DOTALL)
_ID = re.compile(r"^\s*#?(\d{1,9})\s*(.*)$", re.DOTALL)
STATUS_NAMES = {"active": N_("active"), "paused": N_("paused"), "draft": N_("draft"), "cancelled": N_("cancelled")}

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
PAUSE = CommandSpec(key="pause-ritual", role="coordinator", summary=N_("pause a ritual"), argument=_ID_ARG,
                    forms={"en": ("pause ritual {id}",), "fr": ("suspendre rituel {id}", "suspendre le rituel {id}")})
RESUME = CommandSpec(key="resume-ritual", role="coordinator", summary=N_("resume a paused ritual"), argument=_ID_ARG,
                     forms={"en": ("resume ritual {id}",), "fr": ("reprendre rituel {id}", "reprendre le rituel {id}")})
CANCEL = CommandSpec(key="cancel-ritual", role="coordinator", summary=N_("stop a ritual for good"), argument=_ID_ARG,
                     forms={"en": ("cancel ritual {id}",), "fr": ("annuler rituel {id}", "annuler le rituel {id}")})
EDIT = CommandSpec(
    key="edit-ritual", role="coordinator", summary=N_("change a ritual's schedule (I show the dates first)"),
    forms={"en": ("edit ritual {change}",), "fr": ("modifier rituel {change}", "modifier le rituel {change}")},
    argument=Argument("change", N_("the ritual's number and its new schedule"), N_("3 every last friday at 15:00"),
                      max_length=500))


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
        ident = named.strip("<>#").split("|")
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


async def create_draft(ctx: Context, kind: str, title: str, schedule: Schedule, channel: str | None,
                       text: str) -> Ritual:
    """A draft ritual, saved once a coordinator confirms the dry run."""
    if ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    ritual = Ritual(community_id=ctx.community.id, kind=kind, title=title[:200], rrule=schedule.rrule,
                    dtstart=schedule.dtstart.isoformat(timespec="seconds"), timezone=schedule.timezone,
                    exdates=",".join(d.isoformat() for d in schedule.exdates),
                    channel=await _channel_ref(ctx, channel), settings=json.dumps({"text": text}),
                    created_by=f"{ctx.event.platform}:{ctx.event.sender.id}")
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


async def _find(ctx: Context, text: str, usage_key: str) -> tuple[Ritual, str]:
    m = _ID.match(text)
    if m is None or ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Which ritual? Give its number, e.g. `{usage}` (say `rituals` to see them)."),
                         usage_key=usage_key)
    ritual = await get_ritual(ctx.session, ctx.community.id, int(m.group(1)))
    if ritual is None or ritual.status in ("draft", "cancelled"):
        raise InputError(N_("There is no ritual {id} here. Say `rituals` to see them."), id=m.group(1))
    return ritual, m.group(2)


@router.command(PAUSE)
async def pause_ritual(ctx: Context) -> None:
    """Pause: nothing is posted until resumed."""
    assert ctx.command is not None
    ritual, _ = await _find(ctx, ctx.command.argument, "pause-ritual")
    bump(ritual, status="paused")
    ctx.reply(ctx._("Paused “{title}”. Say `resume ritual {id}` to start it again.", title=ritual.title, id=ritual.id))


@router.command(RESUME)
async def resume_ritual(ctx: Context) -> None:
    """Resume from the next occurrence (missed ones are not sent)."""
    assert ctx.command is not None
    ritual, _ = await _find(ctx, ctx.command.argument, "resume-ritual")
    bump(ritual, status="active")
    upcoming = schedule_of(ritual).next(_today(ctx), 1)
    nxt = when(upcoming[0], _default_tz(ctx), ctx.locale) if upcoming else "-"
    ctx.reply(ctx._("Resumed “{title}”; next: {next}.", title=ritual.title, next=nxt))


@router.command(CANCEL)
async def cancel_ritual(ctx: Context) -> None:
    """Cancel for good (its history stays)."""
    assert ctx.command is not None
    ritual, _ = await _find(ctx, ctx.command.argument, "cancel-ritual")
    bump(ritual, status="cancelled")
    ctx.reply(ctx._("Cancelled “{title}”. Its past meetups, notes and attendance are kept.", title=ritual.title))


@router.command(EDIT)
async def edit_ritual(ctx: Context) -> None:
    """Propose a new schedule; applied once confirmed."""
    assert ctx.command is not None
    ritual, rest = await _find(ctx, ctx.command.argument, "edit-ritual")
    if not rest.strip():
        raise InputError(N_("Almost: tell me the new schedule too. For example: `{usage}`"), usage_key="edit-ritual")
    schedule, channel = parse_schedule(rest, default_tz=ritual.timezone, today=_today(ctx).date())
    pending = {"rrule": schedule.rrule, "dtstart": schedule.dtstart.isoformat(timespec="seconds"),
               "timezone": schedule.timezone, "exdates": ",".join(d.isoformat() for d in schedule.exdates),
               "text": rest}
    if channel:
        pending["channel"] = await _channel_ref(ctx, channel)
    ritual.pending = json.dumps(pending)
    dry_run(ctx, ritual, schedule, f"ritual:edit:{ritual.id}",
            ctx._("With this change, the next dates of “{title}” would be:", title=ritual.title))


@router.command(RITUALS)
async def show_rituals(ctx: Context) -> None:
    """Every live ritual with its number, kind, rule, next date and state."""
    if ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    rituals = await list_rituals(ctx.session, ctx.community.id)
    if not rituals:
        ctx.reply(ctx._("No rituals yet. Try `{usage}`, or say `schedule` and I'll guide you.",
                        usage=SCHEDULE_MEETUP.usage(ctx.locale, ctx._)))
        return
    lines = [ctx._("This community's rituals:")]
    tz = _default_tz(ctx)
    for r in rituals:
        upcoming = schedule_of(r).next(_today(ctx), 1)
        nxt = when(upcoming[0], tz, ctx.locale) if upcoming else "-"
        kind = kind_of(r.kind)
        lines.append(ctx._("- **{id}** “{title}” ({kind}, {status}): {rule}; next {next}", id=r.id, title=r.title,
                           kind=ctx._(kind.label) if kind else r.kind, status=ctx._(STATUS_NAMES[r.status]),
                           rule=settings_of(r).get("text") or r.rrule, next=nxt))
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
        bump(ritual, status="active")
    elif action == "edit" and ritual.pending:
        pending = json.loads(ritual.pending)
        settings = settings_of(ritual) | {"text": pending.pop("text", "")}
        bump(ritual, settings=json.dumps(settings), pending=None, **pending)
    else:
        ctx.reply_privately(ctx._("That question has expired; please start again."))
        return
    ctx.reply(ctx._("Saved: ritual {id} “{title}”. Say `rituals` to see them all.", id=ritual.id, title=ritual.title))


# The guided dialogue: each answer is carried in the next question's key, so no state is kept between them.
FREQUENCIES = {"weekly": ("every {day}", N_("Every week")), "biweekly": ("every 2 weeks on {day}", N_("Every 2 weeks")),
               "first": ("every 1st {day}", N_("First of the month")),
               "second": ("every 2nd {day}", N_("Second of the month")),
               "last": ("every last {day}", N_("Last of the month"))}
DAYS = {"monday": N_("Monday"), "tuesday": N_("Tuesday"), "wednesday": N_("Wednesday"), "thursday": N_("Thursday"),
        "friday": N_("Friday")}
TIMES = ("09:00", "12:00", "16:00", "18:00")


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
        event_id=ctx.event.event_id, title=ctx._("New ritual"),
        text=ctx._("I'll show you the next dates before saving."),
        fields=(FormField(id="title", label=ctx._("Title"), placeholder=ctx._("Helm clinic")),
                FormField(id="kind", label=ctx._("Meetup or reminder?"), placeholder="meetup", optional=True),
                FormField(id="schedule", label=ctx._("How often?"), placeholder=ctx._("every 2nd tuesday")),
                FormField(id="time", label=ctx._("At what time?"), placeholder="16:00"),
                FormField(id="timezone", label=ctx._("Time zone"), placeholder="America/Montreal", optional=True),
                FormField(id="channel", label=ctx._("Channel"), placeholder="#k8s", optional=True)),
        fallback=first_step))


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
    fields["kind"] = fields.get("kind", "meetup").casefold()
    await from_form(ctx, fields)


@router.choice("ritualguide", role="coordinator")
async def guide_step(ctx: Context) -> None:
    """Next question, or the dry run once kind, frequency, day and time are known."""
    event = ctx.event
    assert isinstance(event, ChoicePicked)
    answers = [*event.key.split(":")[1:], event.option]
    if len(answers) == 1:
        _ask(ctx, f"ritualguide:{answers[0]}", ctx._("How often?"),
             [(k, ctx._(label)) for k, (_, label) in FREQUENCIES.items()])
    elif len(answers) == 2:
        _ask(ctx, "ritualguide:" + ":".join(answers), ctx._("Which day?"), [(k, ctx._(v)) for k, v in DAYS.items()])
    elif len(answers) == 3:
        _ask(ctx, "ritualguide:" + ":".join(answers), ctx._("At what time (your time zone)?"), [(t, t) for t in TIMES])
    else:
        kind, freq, day, at = answers[:4]
        if kind not in ("meetup", "reminder") or freq not in FREQUENCIES or day not in DAYS:
            ctx.reply_privately(ctx._("That question has expired; please start again."))
            return
        await from_form(ctx, {"kind": kind, "schedule": FREQUENCIES[freq][0].format(day=day), "time": at})


async def from_form(ctx: Context, fields: dict[str, str]) -> Ritual:
    """A ritual draft from form fields (guided dialogue, Slack modal) and its dry run: the same path as chat.

    Fields: `kind` (meetup | reminder), `title`, `schedule` ("every 2nd tuesday"), `time` ("16:00"), and
    optionally `timezone`, `channel` ("#k8s"), `start`, `until`, `count`, `except`.
    """
    kind = fields.get("kind", "meetup")
    if kind not in ("meetup", "reminder"):
        raise InputError(N_("A ritual is a meetup or a reminder. For example: `{usage}`"), usage_key="schedule-meetup")
    schedule, channel = schedule_from_form(fields, default_tz=_default_tz(ctx), today=_today(ctx).date())
    title = fields.get("title") or (ctx._("Meetup") if kind == "meetup" else ctx._("Reminder"))
    ritual = await create_draft(ctx, kind, title, schedule, channel, fields.get("schedule", ""))
    dry_run(ctx, ritual, schedule, f"ritual:confirm:{ritual.id}",
            ctx._("Here are the next dates of “{title}”. Save it?", title=ritual.title))
    return ritual
