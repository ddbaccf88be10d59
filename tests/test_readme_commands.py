"""The README's command tables list what exists and nothing that does not (issue 16): each command written in
the first column of a chat command table is one the parser accepts, and every registered command is in a table."""

from __future__ import annotations

import re
from pathlib import Path

from bot.features import build_router

README = Path(__file__).resolve().parents[1] / "README.md"
# Parts of `edit ritual 3 …` shown on their own in the Rituals table, not commands by themselves.
_FIELDS = re.compile(r"^(channel|text|reminders|hosts|canal|texte|rappels|hôtes)\s*:|^none$")


def _chat_tables() -> list[str]:
    """The first cell of each row of the tables whose header starts with `command` and that list chat commands
    (the command line's table lists `steward …`, the Slack table transports)."""
    cells, in_table = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("| command"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if in_table and not line.startswith("|---"):
            first = line.split("|")[1]
            if "`steward " not in first:
                cells.append(first)
    return cells


def _commands(cell: str) -> list[str]:
    return [code.replace("…", "something") for code in re.findall(r"`([^`\n]+)`", cell)
            if not _FIELDS.match(code)]


def test_every_command_in_the_tables_is_understood() -> None:
    parser = build_router().parser
    for cell in _chat_tables():
        for command in _commands(cell):
            assert parser.parse(command) is not None, command  # an unknown one raises InputError


def test_every_command_there_is_appears_in_a_table() -> None:
    router = build_router()
    listed = {parsed.spec.key for cell in _chat_tables() for command in _commands(cell)
              if (parsed := router.parser.parse(command)) is not None}
    assert [spec.key for spec in router.specs] == [s.key for s in router.specs if s.key in listed]
