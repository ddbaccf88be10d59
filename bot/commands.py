"""Command specs and the parser that turns what a member typed into one command.

Members write short natural forms ("who knows about helm?", "qui connaît helm ?", "/help",
"!steward opt out"). Forms are word sequences with at most one trailing `{argument}`; matching folds
case and accents, so "mes donnees" works as well as "mes données". Anything else raises `InputError`
with the nearest form, never another exception.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.errors import InputError, Msgid
from bot.i18n import N_, NARROW_NBSP, NBSP
from bot.types import Role

MAX_COMMAND_LENGTH = 4000
_ADDRESS = re.compile(r"^\s*(?:[/!@]?steward\b[\s,:;]*)", re.IGNORECASE)
_TRAILING = re.compile(r"[\s?!.。…？！]+$")
_LEADING = re.compile(r"^[\s/!]+")


@dataclass(frozen=True)
class Argument:
    """The free-text tail of a command; `example` is a msgid shown in usage."""

    name: str
    label: str
    example: str
    required: bool = True
    max_length: int = 500
    validate: Callable[[str], str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CommandSpec:
    """A command: its forms per locale, the help line, its argument and who may use it."""

    key: str
    forms: Mapping[str, tuple[str, ...]]
    summary: str
    argument: Argument | None = None
    role: Role = "member"
    needs_community: bool = True  # False: it works for someone no community knows yet (help, my data, forget me)

    def usage(self, locale: str, translate: Callable[..., str]) -> str:
        """The first form in `locale` with the example argument, e.g. `who knows about kubernetes`."""
        form = (self.forms.get(locale) or self.forms["en"])[0]
        if self.argument is not None:
            example = translate(self.argument.example).replace(NBSP, " ").replace(NARROW_NBSP, " ")
            form = form.replace("{" + self.argument.name + "}", example)  # typed text: plain spaces
        return form


@dataclass(frozen=True)
class ParsedCommand:
    """A matched command, its argument text ('' when none) and the language of the form used."""

    spec: CommandSpec
    argument: str
    locale: str


def fold(text: str) -> str:
    """Lower-case, strip accents and unify apostrophes, for matching only."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'").replace("‘", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class _Form:
    spec: CommandSpec
    words: tuple[str, ...]
    has_argument: bool
    locale: str


class CommandParser:
    """Matches text against every registered form, longest form first."""

    def __init__(self, specs: list[CommandSpec]) -> None:
        forms: list[_Form] = []
        for spec in specs:
            for locale, texts in spec.forms.items():
                for text in texts:
                    literal, brace, _ = text.partition("{")
                    if brace and spec.argument is None:
                        raise ValueError(f"form {text!r} of {spec.key!r} has a placeholder but no argument")
                    forms.append(_Form(spec, tuple(fold(literal).split()), bool(brace), locale))
        self._forms = sorted(forms, key=lambda f: (-len(f.words), not f.has_argument))
        # The forms a text's first word can match, in the same order (a form without words matches any).
        self._by_first: dict[str, list[_Form]] = {}
        for form in self._forms:
            if form.words:
                self._by_first.setdefault(form.words[0], [])
        for word, matching in self._by_first.items():
            matching.extend(f for f in self._forms if not f.words or f.words[0] == word)
        self._wordless = [f for f in self._forms if not f.words]
        # (locale, command, words) of every form: whether a form that matched exists in another language
        self._spoken = {(f.locale, f.spec.key, f.words) for f in self._forms}

    def parse(self, text: str, prefer: str | None = None) -> ParsedCommand | None:
        """The command in `text`; None for empty text; `InputError` when nothing fits. A form that reads the same
        in several languages (`consultations`, `portfolio`) is taken in `prefer`'s when it has it."""
        if len(text) > MAX_COMMAND_LENGTH:
            raise InputError(N_("That's a bit long for me: at most {max} characters, please."),
                             max=str(MAX_COMMAND_LENGTH))
        cleaned = _TRAILING.sub("", _LEADING.sub("", _ADDRESS.sub("", text)))
        words = cleaned.split()
        if not words:
            return None
        folded = [fold(w) for w in words]
        for form in self._by_first.get(folded[0], self._wordless):
            n = len(form.words)
            if tuple(folded[:n]) != form.words:
                continue
            rest = " ".join(words[n:])
            if not form.has_argument and rest:
                continue
            locale = prefer if prefer is not None and (
                prefer, form.spec.key, form.words) in self._spoken else form.locale
            if not form.has_argument:
                return ParsedCommand(form.spec, "", locale)
            return ParsedCommand(form.spec, self._argument(form, rest), locale)
        raise self._unknown(" ".join(folded))

    def _argument(self, form: _Form, rest: str) -> str:
        arg = form.spec.argument
        assert arg is not None
        if not rest and arg.required:
            raise InputError(N_("Almost: tell me {what} too. For example: `{usage}`"),
                             usage_key=form.spec.key, what=Msgid(arg.label))
        if len(rest) > arg.max_length:
            raise InputError(N_("That's a bit long for me: at most {max} characters, please."),
                             max=str(arg.max_length))
        return arg.validate(rest) if arg.validate and rest else rest

    def _unknown(self, folded_text: str) -> InputError:
        candidates = {" ".join(f.words): f for f in self._forms}
        close = difflib.get_close_matches(folded_text, list(candidates), n=1, cutoff=0.6)
        if not close:
            first_words = " ".join(folded_text.split()[:4])
            close = [c for c in candidates if c and first_words.startswith(c)][:1]
        if close:
            return InputError(N_("I didn't get that. Did you mean `{usage}`? "
                                 "Say `help` to see what I can do."), usage_key=candidates[close[0]].spec.key)
        return InputError(N_("I didn't get that. Say `help` to see what I can do."))
