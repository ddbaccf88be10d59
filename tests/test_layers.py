"""The layers hold: the core never imports a platform, storage never imports the core, only `app/` wires.

Read from the code's own imports (every `import`/`from` statement, also inside functions), so a
shortcut added anywhere fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "storage": {"bot", "adapters", "rituals", "app"},
    "bot": {"adapters", "rituals", "app"},
    "rituals": {"adapters", "app"},
    "adapters": {"rituals", "app"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = {f"{path.relative_to(ROOT)} imports {name}"
             for path in sorted((ROOT / package).rglob("*.py")) if "migrations" not in path.parts
             for name in _imports(path) & FORBIDDEN[package]}
    assert not wrong, sorted(wrong)


def test_no_platform_name_in_the_core_or_storage() -> None:
    """Platform behaviour lives in adapters; the core and storage speak only of neutral events and replies."""
    wrong = []
    for package in ("bot", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if '== "console"' in line or "== 'console'" in line or '== "slack"' in line or '== "matrix"' in line:
                    wrong.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not wrong, wrong
