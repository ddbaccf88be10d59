"""Fill empty French entries from a {msgid: translation} dict module: `python scripts/fill_po.py FILE.py`."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "bot" / "locale" / "fr.po"


def main(path: str) -> int:
    table: dict[str, str] = runpy.run_path(path)["FR"]
    with PO.open("rb") as f:
        catalog = read_po(f)
    missing = []
    for message in catalog:
        if message.id and not message.string:
            if message.id in table:
                message.string = table[message.id]
            else:
                missing.append(message.id)
    with PO.open("wb") as f:
        write_po(f, catalog, sort_output=True, width=100)
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
