"""Text limits at the storage boundary, the same on SQLite and PostgreSQL.

PostgreSQL refuses a NUL byte in any text and a string longer than its VARCHAR column; SQLite keeps
both. Left to the database, one long Matrix display name (256 characters are allowed there) or a NUL
byte made every event of that person fail on PostgreSQL only. So Steward decides, identically on both:

- NUL bytes never reach the database: every statement's string parameters lose them (`install`),
  lookups included, so what is stored and what is looked up stay the same string;
- free-form names are cut to their column (`fit`): a display name keeps its first 200 characters;
- platform ids (people, channels, messages, events) are never cut, since a cut id could name someone
  else: one that cannot be stored (`storable_id` is False) is refused before it reaches storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

NUL = "\x00"
ID_LENGTH = 255  # every platform id column; Matrix caps its ids at 255 bytes, Slack's are short
NAME_LENGTH = 200  # Member.display_name, Channel.name
EMOJI_LENGTH = 100  # Reaction.emoji: Matrix reaction keys are free text
TIMEZONE_LENGTH = 64  # Member.timezone
TEAM_LENGTH = 60  # Member.team


def clean(text: str) -> str:
    """`text` without NUL bytes."""
    return text.replace(NUL, "") if NUL in text else text


def fit(text: str, length: int) -> str:
    """`text` without NUL bytes, cut to `length` characters (a name, never an id)."""
    return clean(text)[:length]


def timezone(name: str | None) -> str | None:
    """A timezone name that fits its column, else None (a cut one would name no zone)."""
    if name is None or len(name) > TIMEZONE_LENGTH or NUL in name:
        return None
    return name


def storable_id(value: str) -> bool:
    """True when `value` can be stored as a platform id on every backend, unchanged."""
    return len(value) <= ID_LENGTH and NUL not in value


def install(engine: AsyncEngine) -> None:
    """Drop NUL bytes from the string parameters of every statement this engine runs."""
    event.listen(engine.sync_engine, "before_cursor_execute", _without_nul, retval=True)


def _row(params: Any) -> Any:
    if isinstance(params, Mapping):
        if any(type(v) is str and NUL in v for v in params.values()):
            return {k: clean(v) if type(v) is str else v for k, v in params.items()}
        return params
    if isinstance(params, Sequence) and not isinstance(params, str | bytes):
        if any(type(v) is str and NUL in v for v in params):
            return type(params)(clean(v) if type(v) is str else v for v in params)  # type: ignore[call-arg]
    return params


CLEANED = "steward_nul_free"  # execution option: the caller already dropped NUL bytes from every parameter


def _without_nul(_conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any,
                 executemany: bool) -> tuple[str, Any]:
    if parameters is None or (context is not None and context.execution_options.get(CLEANED)):
        return statement, parameters  # a bulk import's rows, cleaned as they were built (storage.bulk)
    if executemany:
        rows = [_row(p) for p in parameters]
        return statement, rows if any(a is not b for a, b in zip(rows, parameters, strict=True)) else parameters
    return statement, _row(parameters)
