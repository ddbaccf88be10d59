"""STEWARD_PERIODIC_SECONDS: one interval for the leader's finders (tests, demos), refused when senseless."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from rituals.scheduler import PERIODIC_ENV, periodic_override


def test_unset_means_each_finders_own_interval() -> None:
    assert periodic_override({}) is None
    assert periodic_override({PERIODIC_ENV: " "}) is None


def test_seconds_are_read() -> None:
    assert periodic_override({PERIODIC_ENV: "0.5"}) == 0.5


@pytest.mark.parametrize("raw", ["soon", "0", "-3", "1e9"])
def test_bad_values_name_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=PERIODIC_ENV):
        periodic_override({PERIODIC_ENV: raw})
