"""The container image, really built and started: `scripts/image.sh` (what `make image` runs) must pass.

Builds the image with buildah on a Debian base made with debootstrap (kept between runs), then starts
`steward` inside it and checks it (scripts/image_check.py: version, package data, no build tools, `db
upgrade` on SQLite and on PostgreSQL, /healthz /readyz /metrics from `steward run` as a non-root user, the
HEALTHCHECK, a clean stop). Takes minutes and root, so it runs only with STEWARD_IMAGE_TESTS=1, in the SQLite
session (it checks both databases itself). CI runs `make image` instead (.ci/run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(os.environ.get("STEWARD_IMAGE_TESTS") != "1",
                       reason="the image build takes minutes: set STEWARD_IMAGE_TESTS=1 (or run make image)"),
    pytest.mark.skipif(os.environ.get("STEWARD_TEST_DATABASE", "sqlite") != "sqlite",
                       reason="the image check covers SQLite and PostgreSQL in one run (the SQLite session's)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and buildah's chroot isolation need root"),
    pytest.mark.skipif(shutil.which("buildah") is None and shutil.which("apt-get") is None,
                       reason="buildah is missing and cannot be installed with apt-get here"),
]

CHECKS = (
    "✓ image config: user steward, HEALTHCHECK",
    "source files installed unchanged",
    "✓ no compiler, linker, make or pip in the image",
    "✓ `steward --version`: steward ",
    "✓ French catalogue read",
    "✓ `steward db upgrade` on SQLite",
    "✓ `steward db upgrade` on PostgreSQL",
    "GET /healthz → 200",
    "(not root)",
    "✓ GET /readyz → 200",
    "✓ GET /metrics → 200",
    "✓ the image's HEALTHCHECK passes",
    "✓ SIGTERM stops `steward run` cleanly",
)


def test_the_image_builds_starts_and_answers_its_health_check() -> None:
    done = subprocess.run([str(ROOT / "scripts/image.sh")], cwd=ROOT, capture_output=True, text=True,
                          timeout=30 * 60)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    for check in CHECKS:
        assert check in done.stdout, f"{check!r} not reported:\n{done.stdout[-4000:]}"
