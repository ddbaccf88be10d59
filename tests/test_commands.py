"""The command parser: natural forms in English and French, clean errors, fuzzed with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import MAX_COMMAND_LENGTH, CommandParser, ParsedCommand
from bot.errors import InputError
from bot.features import build_router

PARSER: CommandParser = build_router().parser


def parse(text: str) -> ParsedCommand:
    parsed = PARSER.parse(text)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(("text", "key", "argument"), [
    ("help", "help", ""),
    ("Help!", "help", ""),
    ("aide", "help", ""),
    ("/help", "help", ""),
    ("!steward help", "help", ""),
    ("@steward: help", "help", ""),
    ("who knows about kubernetes?", "who", "kubernetes"),
    ("Who knows about Helm chart upgrades?", "who", "Helm chart upgrades"),
    ("who knows terraform", "who", "terraform"),
    ("qui connaît helm ?", "who", "helm"),
    ("qui connait helm", "who", "helm"),
    ("qui s’y connaît en Vault", "who", "Vault"),
    ("opt out", "opt-out", ""),
    ("me désinscrire", "opt-out", ""),
    ("opt in", "opt-in", ""),
    ("forget me", "forget-me", ""),
    ("Oublie-moi", "forget-me", ""),
    ("my data", "my-data", ""),
    ("mes donnees", "my-data", ""),
    ("language fr", "language", "fr"),
    ("language French", "language", "fr"),
    ("langue anglais", "language", "en"),
])
def test_forms(text: str, key: str, argument: str) -> None:
    parsed = parse(text)
    assert (parsed.spec.key, parsed.argument) == (key, argument)


def test_empty_is_not_a_command() -> None:
    assert PARSER.parse("   ") is None
    assert PARSER.parse("!steward") is None


@pytest.mark.parametrize(("text", "usage_key"), [
    ("who knows about", "who"),
    ("who knows about ?", "who"),
    ("language", "language"),
    ("language klingon", "language"),
    ("forget mee", "forget-me"),
    ("halp", "help"),
])
def test_errors_point_to_the_right_form(text: str, usage_key: str | None) -> None:
    with pytest.raises(InputError) as err:
        PARSER.parse(text)
    assert err.value.usage_key == usage_key


def test_unknown_text_without_a_close_command() -> None:
    with pytest.raises(InputError) as err:
        PARSER.parse("what a lovely day it is today")
    assert err.value.usage_key is None
    assert "help" in err.value.msgid


def test_huge_input_is_refused_politely() -> None:
    with pytest.raises(InputError, match="long"):
        PARSER.parse("who knows about " + "x" * MAX_COMMAND_LENGTH)
    with pytest.raises(InputError, match="long"):
        PARSER.parse("who knows about " + "x " * 1500)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_raises_input_error(text: str) -> None:
    try:
        result = PARSER.parse(text)
    except InputError as err:
        assert err.msgid
        return
    assert result is None or isinstance(result, ParsedCommand)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["who knows about ", "qui connaît ", "language ", "help ", "!steward "]),
       st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_command_prefixes_with_any_tail(prefix: str, tail: str) -> None:
    try:
        result = PARSER.parse(prefix + tail)
    except InputError:
        return
    assert result is None or isinstance(result, ParsedCommand)
