"""A bad config is refused at start with a message naming the key, the value and what is expected."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.config import KEYS, load_config, parse_config
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.communities[0].slug == "k8s"
    assert config.communities[0].founded is not None
    assert "slack:C0123456789" in config.communities[0].channels


def test_defaults_without_a_file() -> None:
    config = load_config(None)
    assert config.communities == () and config.slack is None and config.matrix is None


@pytest.mark.parametrize(("raw", "key", "hint"), [
    ({"stewart": {}}, "stewart", "steward"),
    ({"steward": {"locale": "de"}}, "steward.locale", '"en", "fr"'),
    ({"steward": {"timezone": "Mars/Olympus"}}, "steward.timezone", "IANA"),
    ({"steward": {"log_level": "LOUD"}}, "steward.log_level", "DEBUG"),
    ({"steward": {"data_dir": 42}}, "steward.data_dir", "string"),
    ({"community": [{"name": "no slug"}]}, "community[0].slug", "required"),
    ({"community": [{"slug": "a b"}]}, "community[0].slug", "letters"),
    ({"community": [{"slug": "k8s", "channels": ["C123"]}]}, "community[0].channels", "platform:id"),
    ({"community": [{"slug": "k8s", "channels": "slack:C1"}]}, "community[0].channels", "list"),
    ({"community": [{"slug": "k8s", "founded": "2024-03-12"}]}, "community[0].founded", "TOML date"),
    ({"community": [{"slug": "k8s", "coordinator": []}]}, "community[0].coordinator", "coordinators"),
    ({"community": [{"slug": "k8s"}, {"slug": "k8s"}]}, "community.slug", "own slug"),
    ({"community": {"slug": "k8s"}}, "community", "array of tables"),
    ({"slack": {"transport": "carrier-pigeon"}}, "slack.transport", "socket"),
    ({"slack": {"port": 70000}}, "slack.port", "65535"),
    ({"slack": {"bot_token": "xoxb-1"}}, "slack.bot_token", "SLACK_BOT_TOKEN"),
    ({"slack": {"api_url": "slack.com/api/"}}, "slack.api_url", "http(s) URL"),
    ({"slack": {"api_url": "ftp://127.0.0.1/api/"}}, "slack.api_url", "https://slack.com/api/"),
    ({"slack": {"api_url": "http:///api/"}}, "slack.api_url", "http(s) URL"),
    ({"slack": {"api_url": 8080}}, "slack.api_url", "string"),
    ({"matrix": {"homeserver": "matrix.org", "user_id": "@s:matrix.org"}}, "matrix.homeserver", "https://"),
    ({"matrix": {"homeserver": "https://m.org"}}, "matrix.user_id", "required"),
    ({"matrix": {"homeserver": "https://m.org", "user_id": "steward"}}, "matrix.user_id", "@steward:"),
    ({"matrix": {"homeserver": "https://m.org", "user_id": "@s:m.org", "password": "x"}}, "matrix.password",
     "environment"),
    ({"matrix": {"homeserver": "https://m.org", "user_id": "@s:m.org", "encryption": "yes"}},
     "matrix.encryption", "true or false"),
])
def test_bad_values_name_the_key(raw: dict[str, Any], key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.key == key
    assert f"`{key}`" in str(err.value)
    assert hint in str(err.value)


def test_secret_values_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"slack": {"signing_secret": "very-secret-value"}})
    assert "very-secret-value" not in str(err.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[steward\nlocale = 'en'", encoding="utf-8")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_config(broken)


def test_example_documents_every_key() -> None:
    """Every key the parser accepts appears in config.example.toml (set or commented), and no other."""
    documented: dict[str, set[str]] = {"": set()}
    table = ""
    for line in (ROOT / "config.example.toml").read_text(encoding="utf-8").splitlines():
        text = line.lstrip("# ").strip()
        header = re.fullmatch(r"\[\[?([a-z_.]+)\]\]?", text)
        if header:
            table = header.group(1)
            documented[""].add(table.split(".")[0])
            if "." in table:
                documented.setdefault(table.split(".")[0], set()).add(table.split(".")[1])
            documented.setdefault(table, set())
            continue
        key = re.match(r"([a-z_]+)\s*=\s*\S", text)
        if key and line.startswith(("#", key.group(1))) and (line.startswith(key.group(1)) or line.startswith("# ")):
            documented[table].add(key.group(1))
    assert documented == KEYS
