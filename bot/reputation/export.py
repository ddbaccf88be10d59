"""Exporting the ledger for performance reviews: CSV (safe to open in a spreadsheet) or JSON.

Pulse-survey entries are exported as counted entries only (no link, no note), like everywhere else.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from storage.models import Contribution, Member

COLUMNS = ("date", "member", "member_id", "platform_user_id", "kind", "topics", "evidence", "note", "given_by")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula: risky first characters get a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def rows(entries: Sequence[tuple[Contribution, Member]], givers: dict[int, str]) -> list[dict[str, str]]:
    """One plain dict per entry, in COLUMNS order."""
    out = []
    for entry, member in entries:
        private = entry.kind == "surveyed"
        out.append({
            "date": entry.at.isoformat(timespec="seconds"),
            "member": member.display_name or member.platform_user_id,
            "member_id": str(member.id),
            "platform_user_id": member.platform_user_id,
            "kind": entry.kind,
            "topics": entry.topic or "",
            "evidence": "" if private else entry.evidence_url,
            "note": "" if private else entry.note,
            "given_by": givers.get(entry.giver_id, "") if entry.giver_id else "",
        })
    return out


def to_csv(records: list[dict[str, str]]) -> str:
    """CSV text with a header; every cell passed through `safe_cell` and quoted.

    Quoting every cell keeps a carriage return or a line break inside a name within its cell: with
    minimal quoting and "\n" ending rows, a bare "\r" was left unquoted and split the row, so a display
    name could start a row of its own (e.g. with `=cmd|…`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([safe_cell(record[c]) for c in COLUMNS])
    return buffer.getvalue()


def to_json(records: list[dict[str, str]]) -> str:
    """A JSON array of the records."""
    return json.dumps(records, ensure_ascii=False, indent=1)
