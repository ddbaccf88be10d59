"""French throughout (issue 16, point 6): every message the code can send has a French form, written the French way,
and real flows driven in French on the terminal chat (its own words included) show no English.

The catalogue checks are functions over a catalogue, so `test_the_checks_catch_broken_entries` can show each one
failing on a deliberately broken copy: a check that cannot fail would prove nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import re
import string
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.cli import _chat as chat
from app.runtime import ensure_local_community
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from bot.i18n import NARROW_NBSP, NBSP, french_typography
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "rituals", "adapters", "storage", "app")  # everywhere a member-facing message can come from

# What a member types is kept as typed: code spans, and the command examples shown inside them.
_KEPT = re.compile(r"`[^`\n]*`|\{[^{}]*\}|\]\([^)\s]*\)|https?://[^\s)]+")
_ENGLISH = re.compile(r"\b(the|you|your|yours|and|with|answer|answered|please|which|when|here|there|this|that|will|"
                      r"would|have|has|not|say|ritual|rituals|meetup|survey|people|thanks|nobody|anyone|"
                      r"every|next|what|who|why|closed|open|until|results?)\b", re.IGNORECASE)
_TU = re.compile(r"\b(tu|toi|ton|ta|tes|te|tien|tienne|tiens)\b|\b(\w+[^z\W])-(leur|lui|moi)\b", re.IGNORECASE)
_VOUS_IMPERATIVES = {"dites", "faites", "le", "la", "les", "en"}  # not -ez, yet vous ("Dites-le-moi")
_ELISION = re.compile(r"(?<![-\w])(de|le|la|que|je|ne|se|me) (?=[aeiouyéèêàâîôû])", re.IGNORECASE)


@cache
def _extracted() -> list[str | tuple[str, ...]]:
    return [msgid for package in PACKAGES
            for _f, _l, msgid, _c, _x in extract_from_dir(str(ROOT / package), method_map=[("**.py", "python")],
                                                         keywords={"_": None, "N_": None, "n_": (1, 2)})]


def _catalogue() -> Catalog:
    with (ROOT / "bot" / "locale" / "fr.po").open("rb") as po:
        return read_po(po, locale="fr")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@cache
def _typed_examples() -> frozenset[str]:
    """Command examples: text a member types (`planifier rappel "…" chaque vendredi`), kept as typed."""
    return frozenset(spec.argument.example for spec in build_router().specs if spec.argument is not None)


def _prose(text: str) -> str:
    """`text` with what is kept as typed (code, placeholders, links) replaced by a neutral mark."""
    return _KEPT.sub("\ue000", text)


def untranslated(catalog: Catalog) -> list[str]:
    """Messages of the code with no French form, a fuzzy one, or other placeholders than the English."""
    found: dict[object, tuple[str, ...]] = {}
    for m in catalog:
        if m.id and not m.fuzzy:
            key = tuple(m.id) if isinstance(m.id, list | tuple) else m.id
            found[key] = tuple(m.string) if isinstance(m.string, list | tuple) else (m.string,)
    problems = []
    for msgid in set(_extracted()):
        if not msgid:
            continue
        key = tuple(msgid[:2]) if isinstance(msgid, tuple) else msgid
        forms = found.get(key)
        english = key[-1] if isinstance(key, tuple) else key
        if not forms or not all(forms):
            problems.append(f"untranslated: {english!r}")
        elif any(_fields(str(f)) != _fields(english) for f in forms):
            problems.append(f"placeholders differ: {english!r}")
        elif isinstance(key, tuple) and len(forms) != 2:
            problems.append(f"not both French plural forms: {english!r}")
    return sorted(problems)


def badly_written(catalog: Catalog) -> list[str]:
    """French messages, as readers get them (`french_typography` applied), breaking French writing rules."""
    examples, used = _typed_examples(), {m[0] if isinstance(m, tuple) else m for m in _extracted()}
    problems = []
    for m in catalog:
        key = m.id[0] if isinstance(m.id, list | tuple) else m.id
        if not key or key not in used or key in examples:  # entries the code no longer uses go at `make i18n`
            continue
        forms = list(m.string) if isinstance(m.string, list | tuple) else [m.string]
        if isinstance(m.id, list | tuple) and any("(s)" in str(part) for part in m.id):
            problems.append(f"(s) in an ngettext message: {m.id[0]!r}")
        for raw in forms:
            text = _prose(french_typography(str(raw or "")))
            where = str(raw)[:70]
            if re.search(rf"(?<![{NBSP}{NARROW_NBSP}?!(\ue000\n])[;!?]", text) and not text.startswith(("?", "!")):
                problems.append(f"no (narrow) no-break space before ; ! ?: {where!r}")
            if re.search(rf"(?<![{NBSP}\d\ue000])[:](?=\s|$)", text):
                problems.append(f"no no-break space before a colon: {where!r}")
            if re.search(rf"(?<![{NBSP}(])%", text):
                problems.append(f"no no-break space before %: {where!r}")
            if re.search(rf"«(?!{NBSP})|(?<!{NBSP})»", text) or re.search(r"[\"“”]", text):
                problems.append(f"quotes not « » with no-break spaces inside: {where!r}")
            if "(s)" in text:
                problems.append(f"(s) instead of ngettext: {where!r}")
            if "..." in text:
                problems.append(f"three dots instead of …: {where!r}")
            for tu in _TU.finditer(text):
                if tu.group(2) is None or tu.group(2).casefold() not in _VOUS_IMPERATIVES:
                    problems.append(f"tu instead of vous ({tu.group(0)!r}): {where!r}")
            if _ELISION.search(text):
                problems.append(f"no elision ({_ELISION.search(text).group(0)!r}): {where!r}")  # type: ignore[union-attr]
            if raw == (m.id if isinstance(m.id, str) else None) and _ENGLISH.search(_prose(m.id)):
                problems.append(f"left in English: {where!r}")
    return sorted(problems)


def test_every_message_of_the_code_has_its_french_form() -> None:
    assert untranslated(_catalogue()) == [], "translate these in bot/locale/fr.po (`make i18n` adds new ones)"


def test_french_messages_follow_french_writing() -> None:
    assert badly_written(_catalogue()) == []


def _entry(catalog: Catalog, msgid: str | tuple[str, str]) -> object:
    found = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid)
    assert found is not None, msgid
    return found


def test_the_checks_catch_broken_entries() -> None:
    """Each rule, broken on purpose in a copy of the real catalogue, is reported: the checks can fail."""
    assert untranslated(_catalogue()) == [] and badly_written(_catalogue()) == []
    breakages: list[tuple[str, str | tuple[str, str], object]] = [
        ("untranslated", "Ask them", ""),
        ("placeholders differ", "- #{n} “{text}”", "- #{nombre} « {text} »"),
        ("not both French plural forms", "{n} answer", ("{n} réponse",)),
        ("untranslated", "{n} answer", ("{n} réponse", "")),
        ("no (narrow) no-break space", "What next?", "Et ensuite?"),
        ("no no-break space before a colon", "- **{name}**: {why}{link}", "- **{name}**: {why}{link}"),
        ("quotes not « »", "- #{n} “{text}”", "- #{n} “{text}”"),
        ("tu instead of vous", "Ask them", "Demande-leur"),
        ("tu instead of vous", "OK, I won't ask anyone. Good luck!", "D'accord. Bonne chance à toi !"),
        ("(s) instead of ngettext", "{n} message", ("{n} message(s)", "{n} messages")),
        ("no elision", "- #{n} “{text}”", "- #{n} « {text} » de avril"),
        ("left in English", "OK, I won't ask anyone. Good luck!", "OK, I won't ask anyone. Good luck!"),
    ]
    for expected, msgid, broken in breakages:
        catalog = copy.deepcopy(_catalogue())
        entry = catalog.get(msgid)
        assert entry is not None, msgid
        entry.string = broken  # type: ignore[attr-defined]
        found = untranslated(catalog) + badly_written(catalog)
        assert any(problem.startswith(expected) for problem in found), (expected, msgid, found)


def test_french_typography_is_applied_to_what_readers_get() -> None:
    assert french_typography("Oui ! Par exemple : `langue fr : x`, « a », {n} %, [lien](https://x.test/?a=b) ?") == (
        f"Oui{NARROW_NBSP}! Par exemple{NBSP}: `langue fr : x`, «{NBSP}a{NBSP}», {{n}}{NBSP}%, "
        f"[lien](https://x.test/?a=b){NARROW_NBSP}?")


# --- real flows, in French, on the terminal chat ---------------------------------------------------------------

FLOWS = [
    "langue fr", "aide", "n'importe quoi", "rituels", "planifier", "1", "1",
    'planifier rencontre "Clinique Helm" chaque dernier vendredi à 15h00', "1",
    'planifier rappel "Vos réussites" chaque vendredi à 15h00', "1",
    "rituels", "rituel 1",
    'sondage maintenant "Utile cette semaine" échelle 1-5; "Autre chose" texte pendant 2 jours', "4",
    "consulter demo : faut-il standardiser sur Helm jusqu'à vendredi, en choix : oui / non", "1",
    "/advance 3j", "/advance 10j", "consultations",
    "qui connaît kubernetes", "mes questions", "mes contributions", "mon bilan", "classement", "mes données",
    "historique du rituel 1", "bilans passés", "mon profil", "oublie-moi", "2",
    "/advance bientôt", "/nimporte",
]
USER_TEXT = ("Clinique Helm", "Vos réussites", "Utile cette semaine", "Autre chose",
             "faut-il standardiser sur Helm", "oui", "non", "kubernetes", "demo", "ana", "#terminal")


def _script(lines: list[str]) -> Iterator[str]:
    yield from lines
    raise EOFError


def english_in(output: str) -> list[str]:
    """Lines of terminal output with English words in them (code spans and what the member typed left out)."""
    found = []
    for line in output.splitlines():
        prose = _prose(line)
        for typed in USER_TEXT:
            prose = prose.replace(typed, "\ue000")
        if _ENGLISH.search(prose) or "(s)" in prose:
            found.append(line.strip())
    return found


async def _french_session(db: Database, config: Config) -> str:
    config = dataclasses.replace(config, locale="fr")  # a French-speaking terminal community
    steward = Steward(db, config, build_router())
    await ensure_local_community(steward, "demo")
    script, out = _script(FLOWS), io.StringIO()
    await chat(steward, "demo", "ana", read_line=lambda _prompt: next(script), out=out)
    return out.getvalue()


async def test_french_flows_on_the_terminal_show_no_english(db: Database, config: Config) -> None:
    output = await _french_session(db, config)
    assert "(répondez par un numéro)" in output and "Steward\u00a0: communauté" in output  # the terminal's words
    assert "📊 Résultats du sondage «\u00a0Utile cette semaine\u00a0»\u00a0: 1 personne a répondu." in output
    assert "Consultations dans demo" in output  # "consultations" reads the same in both: the community's language
    assert "1 étape de rituel" in output or "étapes de rituel" in output
    assert "n’est pas une commande du terminal" in output
    assert english_in(output) == []
    assert english_in("steward> Results of the pulse survey: 1 people answered.")  # the check itself can fail
