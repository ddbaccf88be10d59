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


# The text depends only on the commands, the language and which roles see more: made once per
# combination (help is the command everyone sends first; building it is ~35 translations and spans).
# Keyed by the specs' identities, with the specs kept alive beside the text so an id is never reused.
_MADE: dict[tuple[object, ...], tuple[tuple[CommandSpec, ...], Markup]] = {}
_MAX_MADE = 64


@router.command(HELP)
async def show_help(ctx: Context) -> None:
    """List the commands this member may use, each with its usage and what it does."""
    seen = frozenset(role for role in ("coordinator", "sponsor") if role in ctx.roles)
    key = (ctx.locale, seen, *map(id, ctx.commands))
    made = _MADE.get(key)
    if made is None:
        if len(_MADE) >= _MAX_MADE:
            _MADE.clear()
        made = _MADE[key] = (ctx.commands, _help_text(ctx))
    ctx.reply(made[1])


def _help_text(ctx: Context) -> Markup:
    lines = [ctx._("Hi! I'm Steward, this community's helper. Here is what you can ask me:")]
    for spec in ctx.commands:
        if spec.role != "member" and spec.role not in ctx.roles and "coordinator" not in ctx.roles:
            continue
        lines.append(ctx._("- `{usage}`: {summary}", usage=spec.usage(ctx.locale, translator(ctx.locale)),
                           summary=ctx._(spec.summary)))
    lines.append(ctx._("In a channel, mention me or start with `!steward`; in a direct message, just type."))
    return Markup("\n").join(lines)
