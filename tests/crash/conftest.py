"""Crash tests: real `steward run` child processes killed with SIGKILL, a real Synapse, the fake Slack Web API
and bolt's real HTTP pipeline, the test database (SQLite file or PostgreSQL) shared with the children.

Each module is marked `crash` (deselect with `-m "not crash"`). STEWARD_CRASH_SEED fixes the random kill plan (printed).
"""

from __future__ import annotations

import os

import pytest

from tests.matrix.conftest import synapse  # noqa: F401  (the session's homeserver, shared with tests/matrix)
from tests.slack.conftest import fake_slack  # noqa: F401

DEFAULT_SEED = 1729


@pytest.fixture
def seed() -> int:
    """The kill plan's seed: STEWARD_CRASH_SEED, else a fixed one; printed so a failure can be replayed."""
    value = int(os.environ.get("STEWARD_CRASH_SEED", DEFAULT_SEED))
    print(f"crash seed: {value} (STEWARD_CRASH_SEED={value} replays this plan)")
    return value
