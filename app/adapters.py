"""Which adapters a config enables, built lazily so a missing SDK only matters when it is used."""

from __future__ import annotations

from bot.adapter import Adapter
from bot.config import Config
from bot.errors import ConfigError
from storage.db import Database


def configured_adapters(config: Config, db: Database | None = None) -> list[Adapter]:
    """One adapter per platform section present in the config, on `db` (Steward's own: one engine and pool
    per process for everything) or, without one, each on its own."""
    adapters: list[Adapter] = []
    if config.slack is not None:
        try:
            from adapters.slack.adapter import SlackAdapter  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise ConfigError("slack", "[slack]", f"a Steward build with the Slack adapter ({exc})") from exc
        adapters.append(SlackAdapter.from_config(config, db=db))
    if config.matrix is not None:
        try:
            from adapters.matrix.adapter import MatrixAdapter  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise ConfigError("matrix", "[matrix]", f"a Steward build with the Matrix adapter ({exc})") from exc
        adapters.append(MatrixAdapter.from_config(config, db=db))
    return adapters
