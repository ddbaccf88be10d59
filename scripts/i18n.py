"""Refresh bot/locale/*.po from the code: `python scripts/i18n.py` (then translate the new entries).

Extraction uses Babel with the `_`, `N_` and `n_` (plural: singular, plural, n) keywords; existing
translations are kept.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    pot = ROOT / "build" / "steward.pot"
    pot.parent.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "N_", "-k", "_", "-k", "n_:1,2", "--no-location", "--sort-output", "-o", str(pot),
                    str(ROOT)], check=True)
    for po in sorted((ROOT / "bot" / "locale").glob("*.po")):
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "update", "-i", str(pot), "-o", str(po),
                        "-l", po.stem, "--no-fuzzy-matching", "--ignore-obsolete"], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
