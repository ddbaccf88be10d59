"""English and French: every message in the code has a French translation with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.i18n import normalise_locale, translator
from tests.events import command, message

ROOT = Path(__file__).resolve().parent.parent


PACKAGES = ("bot", "rituals", "adapters", "storage", "app")  # every package a member-facing message can come from
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]  # the web pages' templates too (app/web)


def _extracted() -> list[str | tuple[str, ...]]:
    return [
        msgid
        for package in PACKAGES
        for _file, _line, msgid, _comments, _ctx in extract_from_dir(
            str(ROOT / package), method_map=METHODS, keywords={"_": None, "N_": None, "n_": (1, 2)}
        )
    ]


def _code_msgids() -> set[str]:
    return {msgid for msgid in _extracted() if isinstance(msgid, str) and msgid}


def _code_plurals() -> set[tuple[str, str]]:
    """(singular, plural) of every `n_(…)` call."""
    return {(str(m[0]), str(m[1])) for m in _extracted() if isinstance(m, tuple) and len(m) >= 2 and m[0]}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_is_translated_to_french_with_the_same_placeholders() -> None:
    with (ROOT / "bot" / "locale" / "fr.po").open("rb") as po:
        catalog = read_po(po)
    translated = {m.id: m.string for m in catalog if m.id and not m.fuzzy and isinstance(m.id, str)}
    missing = sorted(msgid for msgid in _code_msgids() if not translated.get(msgid))
    assert missing == [], "run `make i18n` and translate these in bot/locale/fr.po"
    for msgid, text in translated.items():
        assert _fields(msgid) == _fields(str(text)), msgid
        assert re.findall(r"`[^`]*`", str(text)) or not re.findall(r"`[^`]*`", msgid), msgid
    plurals = {tuple(m.id): tuple(m.string) for m in catalog if isinstance(m.id, tuple | list) and not m.fuzzy}
    missing_plurals = sorted(p for p in _code_plurals() if not all(plurals.get(p, ("",))))
    assert missing_plurals == [], "translate both French forms of these ngettext messages in bot/locale/fr.po"
    for (singular, plural), forms in plurals.items():
        assert _fields(singular) <= _fields(plural), singular
        assert all(_fields(str(form)) == _fields(plural) for form in forms), plural


@pytest.mark.parametrize(("raw", "expected"), [("fr_CA", "fr"), ("fr-FR", "fr"), ("EN", "en"), ("de", None),
                                               ("", None), (None, None)])
def test_normalise_locale(raw: str | None, expected: str | None) -> None:
    assert normalise_locale(raw) == expected


def test_translator_fills_placeholders() -> None:
    fr = translator("fr")
    assert fr("I speak {choices}. For example: `{usage}`", choices="en, fr", usage="langue fr") == \
        "Je parle en, fr. Par exemple\u00a0: `langue fr`"


async def test_language_choice_is_kept_and_help_follows_it(bot: tuple[Steward, RecordingAdapter]) -> None:
    _steward, platform = bot
    await platform.inject(command("help", user="UANA"))
    assert platform.texts()[-1].startswith("Hi! I'm Steward")
    await platform.inject(command("language fr", user="UANA"))
    assert platform.texts()[-1].startswith("C'est noté")
    await platform.inject(command("aide", user="UANA"))
    assert platform.texts()[-1].startswith("Bonjour\u202f! Je suis Steward")
    assert "`qui connaît kubernetes`" in platform.texts()[-1]
    await platform.inject(command("help", user="UANA"))  # an English form still answers in her language
    assert platform.texts()[-1].startswith("Bonjour")
    await platform.inject(command("charabia", user="UANA"))
    assert platform.texts()[-1].startswith("Je n'ai pas compris")


async def test_platform_locale_is_used_until_the_member_chooses(bot: tuple[Steward, RecordingAdapter]) -> None:
    from bot.events import Sender

    _steward, platform = bot
    event = message("help", addressed=True, user="UZOE")
    await platform.inject(event.__class__(**{**{f: getattr(event, f) for f in event.__dataclass_fields__},
                                            "sender": Sender(id="UZOE", locale="fr-CA")}))
    assert platform.texts()[-1].startswith("Bonjour")
