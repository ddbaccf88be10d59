"""The community from chat: `settings` (and `set …`, `add coordinator @ana`, `remove sponsor @grace`,
`settings history`), `who is core` and `stats`.

Coordinators change the settings; sponsors and coordinators read them. Every change is logged with who
made it (`settings_change`) and shown next to the setting. How a chat change and the config file relate
is decided in bot/community_settings.py: the file seeds, chat overrides and persists, a later edit of the
same key in the file wins again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_date
from sqlmodel import col, func, select

from bot import community_settings
from bot.commands import Argument, CommandSpec, fold
from bot.context import Context
from bot.digest.report import build_digest, core_group, month_bounds, shift
from bot.errors import InputError
from bot.features.digest import parse_month
from bot.features.ritual_common import when
from bot.i18n import N_, normalise_locale, translator
from bot.markup import Markup
from bot.mentioned import Unknown, member_named
from bot.reputation.mentions import mentions
from bot.router import Router
from storage.communities import channels_of
from storage.members import find_member
from storage.models import Community, Member
from storage.privacy import FORGOTTEN
from storage.rituals import list_rituals
from storage.settings import CONFIG, last_change_per_key, recent_changes

router = Router()

SETTINGS = CommandSpec(
    key="settings", role="sponsor", summary=N_("see this community's settings and who changed them"),
    forms={"en": ("settings", "community settings"), "fr": ("réglages", "paramètres", "réglages de la communauté")})
SETTINGS_HISTORY = CommandSpec(
    key="settings-history", role="sponsor", summary=N_("every change of this community's settings, with who made it"),
    forms={"en": ("settings history",), "fr": ("historique des réglages", "historique des paramètres")})
SET = CommandSpec(
    key="set", role="coordinator",
    summary=N_("change a setting: purpose, time zone, language, leaderboard, quotes, survey threshold"),
    forms={"en": ("set {change}",), "fr": ("régler {change}", "définir {change}")},
    argument=Argument("change", N_("a setting and its new value"), N_("time zone Europe/Paris"), max_length=600))
ADD_COORDINATOR = CommandSpec(
    key="add-coordinator", role="coordinator", summary=N_("make someone a coordinator of this community"),
    forms={"en": ("add coordinator {who}", "add a coordinator {who}"),
           "fr": ("ajouter coordinateur {who}", "ajouter un coordinateur {who}", "ajouter coordinatrice {who}",
                  "ajouter une coordinatrice {who}")},
    argument=Argument("who", N_("who (a mention)"), N_("@ana"), max_length=1000))
REMOVE_COORDINATOR = CommandSpec(
    key="remove-coordinator", role="coordinator", summary=N_("stop someone being a coordinator"),
    forms={"en": ("remove coordinator {who}",),
           "fr": ("retirer coordinateur {who}", "retirer le coordinateur {who}", "retirer coordinatrice {who}",
                  "retirer la coordinatrice {who}")},
    argument=Argument("who", N_("who (a mention)"), N_("@ana"), max_length=1000))
ADD_SPONSOR = CommandSpec(
    key="add-sponsor", role="coordinator", summary=N_("make someone a sponsor of this community"),
    forms={"en": ("add sponsor {who}", "add a sponsor {who}"),
           "fr": ("ajouter sponsor {who}", "ajouter un sponsor {who}")},
    argument=Argument("who", N_("who (a mention)"), N_("@grace"), max_length=1000))
REMOVE_SPONSOR = CommandSpec(
    key="remove-sponsor", role="coordinator", summary=N_("stop someone being a sponsor"),
    forms={"en": ("remove sponsor {who}",), "fr": ("retirer sponsor {who}", "retirer le sponsor {who}")},
    argument=Argument("who", N_("who (a mention)"), N_("@grace"), max_length=1000))
WHO_IS_CORE = CommandSpec(
    key="who-is-core", role="sponsor",
    summary=N_("the core group of a month: names for coordinators, counts for sponsors"),
    forms={"en": ("who is core {month}", "core group {month}"),
           "fr": ("qui est le noyau {month}", "qui fait partie du noyau {month}", "noyau {month}")},
    argument=Argument("month", N_("a month"), N_("2026-10"), required=False, max_length=20))
STATS = CommandSpec(
    key="stats", role="sponsor", summary=N_("this community in numbers: this month so far and last month"),
    forms={"en": ("stats", "statistics"), "fr": ("stats", "statistiques")})

LABELS = {"purpose": N_("Purpose"), "timezone": N_("Time zone"), "language": N_("Language"),
          "leaderboard": N_("Leaderboard"), "quotes": N_("Quotes by default"),
          "survey_min_answers": N_("Survey threshold (fewest answers shown)"),
          "coordinators": N_("Coordinators"), "sponsors": N_("Sponsors")}
_NAMES = {  # what may follow `set` (folded), longest first when matching
    "purpose": ("purpose", "raison d'etre", "objectif"),
    "timezone": ("time zone", "timezone", "tz", "fuseau horaire", "fuseau"),
    "language": ("language", "langue"),
    "leaderboard": ("leaderboard", "classement"),
    "quotes": ("quotes", "citations"),
    "survey_min_answers": ("survey threshold", "anonymity threshold", "threshold", "survey_min_answers",
                           "seuil des sondages", "seuil d'anonymat", "seuil"),
}
_BY_NAME = sorted(((name, key) for key, names in _NAMES.items() for name in names), key=lambda p: -len(p[0]))
_GLUE = re.compile(r"^\s*(?:[:=]|\bto\b|\bsur\b|\bà\b|\ba\b)?\s*", re.IGNORECASE)
_LEADERBOARD = {"off": "off", "none": "off", "no": "off", "non": "off", "aucun": "off", "desactive": "off",
                "levels": "levels", "niveaux": "levels", "ranks": "ranks", "rangs": "ranks", "ranking": "ranks"}
_ON = {"on", "yes", "true", "oui", "vrai", "activees", "active"}
_OFF = {"off", "no", "false", "non", "faux", "desactivees", "desactive"}
_LANGUAGES = {"english": "en", "anglais": "en", "french": "fr", "francais": "fr"}
_MONTH_SHOWN = "LLLL y"


@cache
def _zones() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def _value_error(key: str) -> InputError:
    return InputError({
        "timezone": N_("That is not a time zone I know. Use an IANA name such as `Europe/Paris` or `America/Montreal`, "
                       "e.g. `{usage}`."),
        "language": N_("I speak en and fr: e.g. `set language fr`."),
        "leaderboard": N_("The leaderboard is `off`, `levels` (Contributor, Regular, Mentor, Steward) or `ranks` (a "
                          "ranked list): e.g. `set leaderboard levels`."),
        "quotes": N_("Quotes by default are `on` or `off`: e.g. `set quotes off`."),
        "survey_min_answers": N_("The survey threshold is a whole number from 3 to 1000 (anonymity needs a crowd): "
                                 "e.g. `set survey threshold 5`."),
        "purpose": N_("Tell me the purpose in a sentence of at most 500 characters, e.g. `set purpose We help each "
                      "other run Kubernetes well`."),
    }[key], usage_key="set")


def parse_change(text: str) -> tuple[str, Any]:
    """`time zone Europe/Paris` → ("timezone", "Europe/Paris"); `InputError` saying how otherwise."""
    folded = fold(text.strip())
    for name, key in _BY_NAME:
        if folded.startswith(name) and (len(folded) == len(name) or not folded[len(name)].isalnum()):
            raw = _GLUE.sub("", text.strip()[len(name):], count=1).strip()
            return key, _parse_value(key, raw)
    raise InputError(N_("Which setting? I can change: purpose, time zone, language, leaderboard, quotes, survey "
                        "threshold. For example: `{usage}`. Coordinators and sponsors change with `add coordinator "
                        "@name` or `remove sponsor @name`."), usage_key="set")


def _parse_value(key: str, raw: str) -> Any:
    word = fold(raw).strip(" .!\"'“”«»")
    if key == "purpose":
        text = raw.strip().strip("\"“”«»").strip()
        if not text or len(text) > 500:
            raise _value_error(key)
        return text
    if key == "timezone":
        zone = _zones().get(raw.strip().casefold())
        if zone is None:
            raise _value_error(key)
        ZoneInfo(zone)
        return zone
    if key == "language":
        locale = normalise_locale(word) or _LANGUAGES.get(word)
        if locale is None:
            raise _value_error(key)
        return locale
    if key == "leaderboard":
        if word not in _LEADERBOARD:
            raise _value_error(key)
        return _LEADERBOARD[word]
    if key == "quotes":
        if word not in _ON | _OFF:
            raise _value_error(key)
        return word in _ON
    if not word.isdigit() or not 3 <= int(word) <= 1000:
        raise _value_error(key)
    return int(word)


def _community(ctx: Context) -> Community:
    if ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    return ctx.community


async def _name(ctx: Context, ref: str) -> str:
    """A person's name as this community knows it ("platform:id" → display name, else the id)."""
    if ref == CONFIG:
        return ctx._("the config file")
    platform, _, uid = ref.partition(":")
    if not uid or uid == FORGOTTEN:  # forgetting scrubs a person's id to this, in every column
        return ctx._("someone (forgotten)")
    member = await find_member(ctx.session, _community(ctx).id or 0, platform, uid)
    if member is not None and member.forgotten_at is None and member.display_name:
        return member.display_name
    return uid


async def _shown(ctx: Context, key: str, value: Any) -> Markup:
    """A setting's value as people read it."""
    if key in community_settings.PEOPLE:
        names = [await _name(ctx, ref) for ref in value]
        return Markup(", ").join(names) if names else ctx._("nobody")
    if key == "purpose":
        return ctx._("“{text}”", text=value) if value else ctx._("(none)")
    if key == "leaderboard":
        return ctx._({"off": N_("off"), "levels": N_("levels"), "ranks": N_("ranks")}.get(str(value), N_("off")))
    if key == "quotes":
        return ctx._("on") if value else ctx._("off")
    return Markup("{value}").format(value=str(value))


async def _logged(ctx: Context, key: str, text: str) -> Markup:
    """A value as the change log keeps it (`community_settings.as_text`), shown."""
    if key in community_settings.PEOPLE:
        try:
            refs = json.loads(text)
        except ValueError:
            refs = []
        return await _shown(ctx, key, [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else [])
    if key == "quotes":
        return await _shown(ctx, key, text == "on")
    return await _shown(ctx, key, text)


def _day(ctx: Context, moment: Any) -> str:
    return format_date(moment.astimezone(ZoneInfo(_community(ctx).timezone)).date(), "medium", locale=ctx.locale)


@router.command(SETTINGS)
async def show_settings(ctx: Context) -> None:
    """Every setting, its value and who last changed it."""
    community = _community(ctx)
    values = community_settings.current(ctx.config, community)
    last = await last_change_per_key(ctx.session, community.id or 0)
    configured = ctx.config.community(community.slug) is not None
    lines = [ctx._("⚙️ Settings of **{name}**:", name=community.name or community.slug)]
    for key in community_settings.KEYS:
        change = last.get(key)
        if change is not None:
            origin = ctx._("changed by {who} on {day}", who=await _name(ctx, change.changed_by),
                           day=_day(ctx, change.at))
        else:
            origin = ctx._("from the config file") if configured else ctx._("initial value")
        lines.append(ctx._("- {label}: {value} ({origin})", label=ctx._(LABELS[key]),
                           value=await _shown(ctx, key, values[key]), origin=origin))
    lines.append(ctx._("Coordinators change them here: `set time zone Europe/Paris`, `set purpose …`, `set leaderboard "
                       "levels`, `set quotes on`, `set survey threshold 7`, `add coordinator @name`, `remove sponsor "
                       "@name`. `settings history` lists every change and who made it."))
    ctx.reply_privately(Markup("\n").join(lines))


@router.command(SETTINGS_HISTORY)
async def settings_history(ctx: Context) -> None:
    """The latest changes, newest first, each with who made it."""
    community = _community(ctx)
    changes = await recent_changes(ctx.session, community.id or 0)
    if not changes:
        ctx.reply_privately(ctx._("No setting has been changed yet: they are as the config file (or the defaults) "
                                  "set them."))
        return
    lines = [ctx._("Changes of this community's settings (latest first):")]
    for c in changes:
        lines.append(ctx._("- {when}: {label} {old} → {new}, by {who}", when=when(c.at, community.timezone, ctx.locale),
                           label=ctx._(LABELS.get(c.key, c.key)), old=await _logged(ctx, c.key, c.old_value),
                           new=await _logged(ctx, c.key, c.new_value), who=await _name(ctx, c.changed_by)))
    ctx.reply_privately(Markup("\n").join(lines))


async def _save(ctx: Context, key: str, value: Any) -> Any:
    """Change one setting on this session's row of the community; rituals follow; returns the old value."""
    community = _community(ctx)
    await ctx.ensure_member()  # so the log can name who made the change
    row = await ctx.session.get(Community, community.id, with_for_update=True)
    assert row is not None
    old = await community_settings.change(ctx.session, ctx.config, row, key, value,
                                          f"{ctx.event.platform}:{ctx.event.sender.id}", ctx.event.at)
    if key in ("timezone", "sponsors") and ctx.services is not None and ctx.services.settings_changed is not None:
        await ctx.services.settings_changed(ctx.session, row)  # built-in rituals: their hour, the sponsor digest
    if ctx.services is not None:
        ctx.after_commit(ctx.services.directory.forget_communities)  # every event from now on reads the new value
    return old


@router.command(SET)
async def set_setting(ctx: Context) -> None:
    """`set time zone Europe/Paris`: one setting, logged with who changed it."""
    assert ctx.command is not None
    key, value = parse_change(ctx.command.argument)
    current = community_settings.current(ctx.config, _community(ctx))[key]
    label = ctx._(LABELS[key])
    if current == value:
        ctx.reply_privately(ctx._("{label} is already {value}: nothing changed.", label=label,
                                  value=await _shown(ctx, key, value)))
        return
    old = await _save(ctx, key, value)
    lines = [ctx._("✅ {label}: {old} → {new}. Logged with your name; `settings history` shows every change.",
                   label=label, old=await _shown(ctx, key, old), new=await _shown(ctx, key, value))]
    if key == "survey_min_answers":
        lines.append(ctx._("Surveys already open keep the threshold they opened with, if it was higher."))
    if key == "language":
        lines.append(ctx._("Posts to the community's channels use it; each member keeps the language they chose."))
    ctx.reply_privately(Markup("\n").join(lines))


async def _refs(ctx: Context, refs: list[str], adding: bool) -> list[str] | Unknown:
    """The "platform:id" of each person mentioned: members Steward knows (never a ghost: a typo names no
    one, bot/mentioned.py); to remove someone, also a reference already in the list (a configured one)."""
    assert ctx.command is not None
    found: list[str] = []
    for uid in mentions(ctx.command.argument):
        ref = f"{ctx.event.platform}:{uid}"
        if not adding and ref in refs:
            found.append(ref)
            continue
        member = await member_named(ctx, uid, keep=adding)
        if isinstance(member, Unknown):
            return member
        found.append(f"{member.platform}:{member.platform_user_id}")
    return list(dict.fromkeys(found))


async def _people(ctx: Context, key: str, adding: bool) -> None:
    assert ctx.command is not None
    community = _community(ctx)
    refs: list[str] = list(community_settings.current(ctx.config, community)[key])
    mentioned = await _refs(ctx, refs, adding)
    if isinstance(mentioned, Unknown):
        ctx.reply_privately(mentioned.told(ctx))
        return
    if not mentioned:
        raise InputError(N_("Mention who, e.g. `{usage}`."), usage_key=ctx.command.spec.key)
    label = ctx._(LABELS[key])
    if adding:
        new = refs + [r for r in mentioned if r not in refs]
    else:
        missing = [r for r in mentioned if r not in refs]
        if missing:
            raise InputError(N_("{who} is not a coordinator here. Say `settings` to see who is.")
                             if key == "coordinators" else
                             N_("{who} is not a sponsor here. Say `settings` to see who is."),
                             who=await _name(ctx, missing[0]))
        new = [r for r in refs if r not in mentioned]
        if key == "coordinators" and not new:
            raise InputError(N_("A community keeps at least one coordinator: add another one first (`add coordinator "
                                "@name`), so someone can still manage it."))
    if new == refs:
        ctx.reply_privately(ctx._("Nothing changed: already listed: {who}.", who=Markup(", ").join(
            [await _name(ctx, r) for r in mentioned])))
        return
    await _save(ctx, key, new)
    ctx.reply_privately(ctx._("✅ {label}: {names}. Logged with your name; `settings history` shows every change.",
                              label=label, names=await _shown(ctx, key, new)))


@router.command(ADD_COORDINATOR)
async def add_coordinator(ctx: Context) -> None:
    """`add coordinator @ana`."""
    await _people(ctx, "coordinators", adding=True)


@router.command(REMOVE_COORDINATOR)
async def remove_coordinator(ctx: Context) -> None:
    """`remove coordinator @ana` (never the last one)."""
    await _people(ctx, "coordinators", adding=False)


@router.command(ADD_SPONSOR)
async def add_sponsor(ctx: Context) -> None:
    """`add sponsor @grace` (the monthly sponsor digest starts for a community of the config file)."""
    await _people(ctx, "sponsors", adding=True)


@router.command(REMOVE_SPONSOR)
async def remove_sponsor(ctx: Context) -> None:
    """`remove sponsor @grace`."""
    await _people(ctx, "sponsors", adding=False)


def _last_month(ctx: Context, community: Community) -> date:
    return shift(ctx.event.at.astimezone(ZoneInfo(community.timezone)).date().replace(day=1), -1)


@router.command(WHO_IS_CORE)
async def who_is_core(ctx: Context) -> None:
    """The core group of a month (last month by default), as the digest counts it: names for coordinators
    (members who opted out or were forgotten only counted), counts for sponsors."""
    assert ctx.command is not None
    community = _community(ctx)
    month = parse_month(ctx.command.argument) if ctx.command.argument else _last_month(ctx, community)
    threshold = ctx.community_config.core_threshold if ctx.community_config else 8
    start, end = month_bounds(month, community.timezone)
    core, active = await core_group(ctx.session, community.id or 0, start, end, threshold)
    shown = format_date(month, _MONTH_SHOWN, locale=ctx.locale)
    lines = [ctx._("**Core group of {name} in {month}**: members with at least {k} messages and contributions that "
                   "month, as in the digest.", name=community.name or community.slug, month=shown, k=threshold)]
    if "coordinator" in ctx.roles:
        people = list((await ctx.session.exec(select(Member).where(col(Member.id).in_(core)))).all()) if core else []
        named = sorted(m.display_name for m in people if m.display_name and not m.opted_out and m.forgotten_at is None)
        lines.append(ctx._("- Core: {names}", names=Markup(", ").join(named) if named else ctx._("nobody")))
        if len(core) > len(named):
            lines.append(ctx._("- Also in the core, not named (opted out or forgotten): {n}", n=len(core) - len(named)))
    else:
        lines.append(ctx._("- Core: {n}", n=len(core)))
    lines.append(ctx._("- Periphery (the other active members): {n}", n=len(active - core)))
    ctx.reply_privately(Markup("\n").join(lines))


@router.command(STATS)
async def stats(ctx: Context) -> None:
    """This month so far next to last month, with the digest's own figures."""
    community = _community(ctx)
    plain_ = translator(ctx.locale)
    this = ctx.event.at.astimezone(ZoneInfo(community.timezone)).date().replace(day=1)
    now = await build_digest(ctx.session, community, ctx.community_config, this, plain_, now=ctx.event.at)
    last = await build_digest(ctx.session, community, ctx.community_config, shift(this, -1), plain_, now=ctx.event.at)
    cid = community.id or 0
    members = (await ctx.session.exec(select(func.count()).select_from(Member).where(
        Member.community_id == cid, col(Member.is_bot).is_(False), col(Member.forgotten_at).is_(None)))).one()
    rituals = [r for r in await list_rituals(ctx.session, cid) if r.status == "active"]
    _ = ctx._
    previous = format_date(shift(this, -1), _MONTH_SHOWN, locale=ctx.locale)
    lines = [_("📈 **{name}** in numbers, {this} so far (and {last}):", name=community.name or community.slug,
               this=format_date(this, _MONTH_SHOWN, locale=ctx.locale), last=previous)]
    pairs: list[tuple[str, Callable[[Any], int]]] = [
        (N_("Active members"), lambda d: d.active), (N_("Core group"), lambda d: d.core),
        (N_("Newcomers"), lambda d: d.newcomers), (N_("Questions asked"), lambda d: d.questions),
        (N_("Questions answered"), lambda d: d.answered), (N_("Questions routed with `who knows`"), lambda d: d.routed),
        (N_("Meetups held"), lambda d: len(d.meetups)), (N_("Pulse surveys closed"), lambda d: len(d.surveys))]
    lines += [_("- {label}: {now} ({month}: {last})", label=_(label), now=figure(now), month=previous,
                last=figure(last)) for label, figure in pairs]
    lines.append(_("- Members known: {members}; channels: {channels}; active rituals: {rituals}", members=int(members),
                   channels=len(await channels_of(ctx.session, cid)), rituals=len(rituals)))
    lines.append(_("Say `digest` for last month's full digest, `who is core` for the core group."))
    ctx.reply_privately(Markup("\n").join(lines))

