"""`who knows about X?`: question routing (the ranking arrives with the routing feature)."""

from __future__ import annotations

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.i18n import N_
from bot.router import Router

router = Router()

WHO = CommandSpec(
    key="who",
    forms={
        "en": ("who knows about {topic}", "who knows {topic}", "who can help with {topic}"),
        "fr": ("qui connaît {topic}", "qui s'y connaît en {topic}", "qui peut m'aider sur {topic}"),
    },
    summary=N_("find colleagues who know a topic, or a past thread that answers it"),
    argument=Argument("topic", N_("a topic or a question"), N_("kubernetes"), max_length=2000),
)


@router.command(WHO)
async def who_knows(ctx: Context) -> None:
    """Placeholder answer until the routing feature ranks members from the community's history."""
    assert ctx.command is not None
    ctx.reply(ctx._("I'm still learning who knows what here. Soon I'll point you to colleagues "
                    "who know about “{topic}”.", topic=ctx.command.argument))
