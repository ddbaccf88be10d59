"""English and French, from a standard gettext catalogue (bot/locale/<lang>.po).

Catalogues are compiled in memory from the .po files when first needed, so the repository holds no
binary .mo files that could drift from their sources. Messages use `{name}` placeholders, filled in
after translation so translators can move them. Reply text comes from `markup_translator`: the message is
Steward's markup, each value a literal span (see bot/markup.py); `translator` is for plain-text outputs.
Counted things go through ngettext (`n_(singular, plural, n)`, `ctx.n_`): "1 voice", "2 voices", "1 voix".
French typography is applied when the catalogue is compiled (`french_typography`): translators type plain
spaces, readers get the non-breaking ones before ; : ! ? % and inside « ». Numbers shown to a reader go through
`decimal` and `percent` ("6,5", "50 %").
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

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


# Left exactly as written: code spans (what a member types), placeholders, link targets and addresses.
_KEPT = re.compile(r"`[^`\n]*`|\{[^{}]*\}|\]\([^)\s]*\)|https?://[^\s)]+")
NARROW_NBSP, NBSP = "\u202f", "\u00a0"
_SPACES = "[ \u00a0\u202f]"
_FRENCH_RULES = (
    (re.compile(_SPACES + r"+([;!?])"), NARROW_NBSP + r"\1"),  # "Oui !" → narrow no-break space
    (re.compile(_SPACES + r"+([:%])"), NBSP + r"\1"),
    (re.compile(r"(?<=[\d\ue001])%"), NBSP + "%"),
    (re.compile("«" + _SPACES + "*"), "«" + NBSP),
    (re.compile(_SPACES + "*»"), NBSP + "»"),
)


def french_typography(text: str) -> str:
    """French spacing in a message, outside code spans, placeholders and links: the space a translator typed
    before ; ! ? becomes a narrow no-break one, before : and % and inside « » a no-break one; `{n}%` gets one.
    A missing space is not guessed (tests/test_french_everywhere.py finds it in the catalogue)."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\ue000{len(kept) - 1}\ue001"

    held = _KEPT.sub(keep, text)
    for rule, replacement in _FRENCH_RULES:
        held = rule.sub(replacement, held)
    return re.sub("\ue000(\\d+)\ue001", lambda m: kept[int(m.group(1))], held)


@cache
def _catalogue(locale: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / f"{locale}.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    if locale == "fr":
        for message in catalog:
            if isinstance(message.string, str):
                message.string = french_typography(message.string)
            elif message.string:
                message.string = tuple(french_typography(form) for form in message.string)
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


def decimal(value: float, locale: str, pattern: str = "0.0") -> str:
    """One decimal (or `pattern`, e.g. "0.##"), in the reader's way: `4.2`, `4,2`."""
    return format_decimal(value, pattern, locale=normalise_locale(locale) or DEFAULT_LOCALE)


def plural_count(value: float, locale: str, pattern: str = "0.0") -> int:
    """The integer ngettext should be given for `value` shown as `decimal(value, locale, pattern)`: CLDR's rule on
    the number as shown ("1,5 point" in French, "1.0 points" in English), as 1 (one) or 2 (other)."""
    shown = format_decimal(value, pattern, locale="en").replace(",", "")
    form = Locale.parse(normalise_locale(locale) or DEFAULT_LOCALE).plural_form(Decimal(shown))
    return 1 if form == "one" else 2


def percent(part: float, whole: float, locale: str) -> str:
    """`50%`, `50 %` (a non-breaking space in French); `-` when there is nothing to divide."""
    return format_percent(part / whole, locale=normalise_locale(locale) or DEFAULT_LOCALE) if whole else "-"


def signed_decimal(value: float, locale: str, pattern: str = "0.0") -> str:
    """A change: `+0.5`, `-0,5`; `pattern` "0" for whole numbers."""
    return ("+" if value >= 0 else "-") + format_decimal(abs(value), pattern,
                                                         locale=normalise_locale(locale) or DEFAULT_LOCALE)
