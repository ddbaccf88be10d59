"""`team Payments` / `mon équipe Paiements`: a member says which team they work in; `team` alone shows it, `no team`
removes it.

A team only ever counts in figures by team (thanks across teams on the health page, bot/digest/report.py), never
beside a person's name. The name is typed text: bounded, kept as typed (in the community's spelling when one
matches, storage/teams.py), and escaped wherever it is shown.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.i18n import N_
from bot.router import Router
from storage.limits import TEAM_LENGTH
from storage.teams import set_team

router = Router()

_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")  # direction overrides would make a name read as another
_QUOTES = " \"'“”«»‘’`"


def normal_team(text: str) -> str:
    """A typed team name as kept: spacing collapsed, surrounding quotes dropped."""
    return " ".join(text.split()).strip(_QUOTES).strip()


def team_fault(name: str) -> Literal["empty", "control", "long"] | None:
    """What makes a (normalised) team name unusable, if anything."""
    if not name:
        return "empty"
    if _BIDI.search(name) or any(unicodedata.category(c) == "Cc" for c in name):
        return "control"
    if len(name) > TEAM_LENGTH:
        return "long"
    return None


def _team(text: str) -> str:
    name = normal_team(text)
    fault = team_fault(name)
    if fault == "long":
        raise InputError(N_("A team's name has at most {max} characters: shorten it. For example: `{usage}`"),
                         usage_key="team", max=str(TEAM_LENGTH))
    if fault is not None:
        raise InputError(N_("Give your team's name in plain words. For example: `{usage}`"), usage_key="team")
    return name


TEAM = CommandSpec(
    key="team", summary=N_("say which team you work in (it counts only in figures by team, never with your name)"),
    forms={"en": ("team {team}", "my team is {team}", "my team {team}"),
           "fr": ("mon équipe {team}", "mon équipe est {team}", "équipe {team}")},
    argument=Argument("team", N_("your team's name"), N_("Payments"), required=False, validate=_team))
NO_TEAM = CommandSpec(key="no-team", summary=N_("stop saying which team you work in"),
                      forms={"en": ("no team", "leave my team", "clear my team"),
                             "fr": ("pas d'équipe", "aucune équipe", "oublie mon équipe")})


@router.command(TEAM)
async def team(ctx: Context) -> None:
    """Set the member's team, or (no name) say which it is."""
    assert ctx.command is not None and ctx.community is not None
    usage, clear = TEAM.usage(ctx.locale, ctx._), NO_TEAM.usage(ctx.locale, ctx._)
    if not ctx.command.argument:
        current = ctx.member.team if ctx.member is not None else None
        if current:
            ctx.reply_privately(ctx._("Your team: “{team}”. Change it with `{usage}`, or say `{clear}` to remove it.",
                                      team=current, usage=usage, clear=clear))
        else:
            ctx.reply_privately(ctx._("You haven't said which team you work in. Say `{usage}`: it counts only in "
                                      "figures by team (thanks across teams), never with your name.", usage=usage))
        return
    member = await ctx.ensure_member()
    if member.opted_out:
        ctx.reply_privately(ctx._("You opted out, so you count in no figure by team and I keep no new team for "
                                  "you. Say `opt in` first if you want to count in them."))
        return
    kept = await set_team(ctx.session, member, ctx.command.argument)
    ctx.reply_privately(ctx._("Noted: your team is “{team}”. It counts only in figures by team (thanks across "
                              "teams), never with your name. Say `{clear}` to remove it.", team=kept, clear=clear))


@router.command(NO_TEAM)
async def no_team(ctx: Context) -> None:
    """Remove the member's team."""
    if ctx.member is None or not ctx.member.team:
        ctx.reply_privately(ctx._("You had no team here: nothing to remove."))
        return
    await set_team(ctx.session, ctx.member, None)
    ctx.reply_privately(ctx._("Done: I no longer keep a team for you."))
