"""`language fr`: a member chooses the language Steward speaks with them."""

from __future__ import annotations

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.i18n import N_, normalise_locale
from bot.middleware import no_community
from bot.router import Router
from bot.types import SUPPORTED_LOCALES

router = Router()


def _locale(text: str) -> str:
    names = {"english": "en", "anglais": "en", "french": "fr", "francais": "fr", "français": "fr"}
    locale = normalise_locale(names.get(text.strip().casefold(), text.strip()))
    if locale is None:
        raise InputError(N_("I speak {choices}. For example: `{usage}`"), usage_key="language",
                         choices=", ".join(SUPPORTED_LOCALES))
    return locale


LANGUAGE = CommandSpec(
    key="language",
    forms={"en": ("language {code}",), "fr": ("langue {code}",)},
    summary=N_("choose the language I use with you (en, fr)"),
    argument=Argument("code", N_("a language code"), N_("fr"), max_length=20, validate=_locale),
    needs_community=False,  # answered in the language asked for, even by someone no community knows yet
)


@router.command(LANGUAGE)
async def set_language(ctx: Context) -> None:
    """Keep the member's language and answer in it straight away."""
    assert ctx.command is not None
    if ctx.community is None:  # nowhere to keep it: say so in the language they asked for
        ctx.locale = ctx.command.argument
        ctx.reply(no_community(ctx))
        return
    member = await ctx.ensure_member()
    member.locale = ctx.locale = ctx.command.argument
    ctx.reply(ctx._("Done: I'll speak English with you. Say `help` to see what I can do."))
