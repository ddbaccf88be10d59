"""Building the adapter from config: tokens come from the environment, and their absence is explained."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapters.slack.adapter import SlackAdapter
from app.adapters import configured_adapters
from bot.config import Config, SlackConfig, parse_config
from bot.errors import ConfigError
from storage.db import Database
from tests.slack.conftest import ENV


def test_missing_tokens_name_the_variable(sconfig: Config, db: Database) -> None:
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        SlackAdapter.from_config(sconfig, db=db, env={})
    with pytest.raises(ConfigError, match=r"SLACK_SIGNING_SECRET.*Basic Information"):
        SlackAdapter.from_config(sconfig, db=db, env={"SLACK_BOT_TOKEN": "xoxb-1"})
    socket = dataclasses.replace(sconfig, slack=SlackConfig(transport="socket"))
    with pytest.raises(ConfigError, match=r"SLACK_APP_TOKEN.*connections:write"):
        SlackAdapter.from_config(socket, db=db, env={"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ConfigError, match="xoxb-"):
        SlackAdapter.from_config(sconfig, db=db, env={**ENV, "SLACK_BOT_TOKEN": "xapp-wrong-one"})


def test_socket_mode_needs_no_signing_secret(sconfig: Config, db: Database) -> None:
    socket = dataclasses.replace(sconfig, slack=SlackConfig(transport="socket"))
    adapter = SlackAdapter.from_config(socket, db=db, env={"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert (adapter.transport_name, adapter.identity.community) == ("socket", "k8s")


def test_steward_run_builds_the_slack_adapter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config = parse_config({"steward": {"data_dir": str(tmp_path)}, "slack": {"transport": "http", "port": 3999},
                           "community": [{"slug": "k8s", "channels": ["slack:C1"]}]})
    [adapter] = configured_adapters(config)
    assert isinstance(adapter, SlackAdapter) and adapter.port == 3999 and adapter.owns_db


def test_api_url_points_the_web_client_elsewhere(db: Database) -> None:
    """`[slack] api_url` is where the adapter's Web API calls go (a proxy, or a local fake in crash tests)."""
    config = parse_config({"slack": {"api_url": "http://127.0.0.1:8099/api"},
                           "community": [{"slug": "k8s", "channels": ["slack:C1"]}]})
    assert config.slack is not None and config.slack.api_url == "http://127.0.0.1:8099/api/"
    assert SlackAdapter.from_config(config, db=db, env=ENV).base_url == "http://127.0.0.1:8099/api/"
    default = parse_config({"slack": {}})
    assert SlackAdapter.from_config(default, db=db, env=ENV).base_url is None  # slack_sdk's https://slack.com/api/
