"""English and French, from a standard gettext catalogue (bot/locale/<lang>.po).

Catalogues are compiled in memory from the .po files when first needed, so the repository holds no
binary .mo files that could drift from their sources. Messages use `{name}` placeholders, filled in
after translation so translators can move them. Reply text comes from `markup_translator`: the message is
Steward's markup, each value a literal span (see bot/markup.py); `translator` is for plain-text outputs.
Counted things go through ngettext (`n_(singular, plural, n)`, `ctx.n_`): "1 voice", "2 voices", "1 voix".
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.markup import Markup
from bot.types import SUPPORTED_LOCALES

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"

Translate = Callable[..., str]
MarkupTranslate = Callable[..., Markup]
PluralTranslate = Callable[..., str]  # (singular, plural, n, /, **params)
MarkupPluralTranslate = Callable[..., Markup]


def N_(msgid: str) -> str:
    """Mark a message for extraction without translating it yet."""
    return msgid


@cache
def _catalogue(locale: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / f"{locale}.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def normalise_locale(value: str | None) -> str | None:
    """`fr_CA`, `fr-FR`, `FR` → `fr`; None when Steward does not speak it."""
    if not value:
        return None
    lang = value.replace("-", "_").split("_")[0].lower()
    return lang if lang in SUPPORTED_LOCALES else None


def translator(locale: str) -> Translate:
    """A function translating a msgid into `locale` and filling its `{placeholders}`."""
    catalogue = _catalogue(normalise_locale(locale) or DEFAULT_LOCALE)

    def translate(msgid: str, /, **params: object) -> str:
        text = catalogue.gettext(msgid)
        return text.format(**params) if params else text

    return translate


def as_markup(translate: Translate) -> MarkupTranslate:
    """A translation function giving `Markup`, whatever `translate` gives: its values become literal spans."""

    def markup(msgid: str, /, **params: object) -> Markup:
        text = Markup(translate(msgid))  # the translated message itself, placeholders not yet filled
        return text.format(**params) if params else text

    return markup


def markup_translator(locale: str) -> MarkupTranslate:
    """Like `translator`, for reply text: the message is trusted markup, every value is quoted literally."""
    catalogue = _catalogue(normalise_locale(locale) or DEFAULT_LOCALE)

    def translate(msgid: str, /, **params: object) -> Markup:
        text = Markup(catalogue.gettext(msgid))
        return text.format(**params) if params else text

    return translate


def plural_translator(locale: str) -> PluralTranslate:
    """ngettext for plain text: `n_("{n} voice", "{n} voices", n)`; `{n}` is filled with `n` unless given."""
    catalogue = _catalogue(normalise_locale(locale) or DEFAULT_LOCALE)

    def n_(singular: str, plural: str, n: int, /, **params: object) -> str:
        return catalogue.ngettext(singular, plural, n).format(**{"n": n, **params})

    return n_


def markup_plural_translator(locale: str) -> MarkupPluralTranslate:
    """ngettext for reply text: the message is trusted markup, every value a literal span (numbers stay)."""
    catalogue = _catalogue(normalise_locale(locale) or DEFAULT_LOCALE)

    def n_(singular: str, plural: str, n: int, /, **params: object) -> Markup:
        return Markup(catalogue.ngettext(singular, plural, n)).format(**{"n": n, **params})

    return n_
