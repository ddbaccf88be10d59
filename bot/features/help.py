"""`help`: generated from the registered commands, in the member's language."""

from __future__ import annotations

from bot.commands import CommandSpec
from bot.context import Context
from bot.i18n import N_, translator
from bot.markup import Markup
from bot.router import Router

router = Router()

HELP = CommandSpec(
    key="help",
    forms={"en": ("help", "commands", "?"), "fr": ("aide", "commandes")},
    summary=N_("what I can do for you"),
    needs_community=False,
)


@router.command(HELP)
async def show_help(ctx: Context) -> None:
    """List the commands this member may use, each with its usage and what it does."""
    lines = [ctx._("Hi! I'm Steward, this community's helper. Here is what you can ask me:")]
    for spec in ctx.commands:
        if spec.role != "member" and spec.role not in ctx.roles and "coordinator" not in ctx.roles:
            continue
        lines.append(ctx._("- `{usage}`: {summary}", usage=spec.usage(ctx.locale, translator(ctx.locale)),
                           summary=ctx._(spec.summary)))
    lines.append(ctx._("In a channel, mention me or start with `!steward`; in a direct message, just type."))
    ctx.reply(Markup("\n").join(lines))
