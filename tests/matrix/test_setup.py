"""Starting the adapter: what `steward run` builds, and credentials refused with a message saying how to fix them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.adapter import MatrixAdapter
from app.adapters import configured_adapters
from bot.config import MatrixConfig, parse_config
from bot.errors import ConfigError
from storage.db import Database


async def _noop(event: Any) -> None:
    return None


def test_steward_run_builds_the_matrix_adapter_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEWARD_DATABASE_URL", raising=False)
    config = parse_config({"steward": {"data_dir": str(tmp_path)},
                           "matrix": {"homeserver": "https://matrix.example.org", "user_id": "@steward:example.org",
                                      "allowed_inviters": ["example.org"]},
                           "community": [{"slug": "k8s", "channels": ["matrix:!abc:example.org", "slack:C1"]}]})
    adapters = configured_adapters(config)
    assert [type(a) for a in adapters] == [MatrixAdapter]
    adapter = adapters[0]
    assert isinstance(adapter, MatrixAdapter)
    assert adapter.channels == frozenset({"!abc:example.org"}) and adapter.user_id == "@steward:example.org"


@pytest.mark.parametrize("env, expected", [
    ({}, "MATRIX_ACCESS_TOKEN"),
    ({"MATRIX_ACCESS_TOKEN": "syt_not_a_token"}, "a valid access token"),
    ({"MATRIX_PASSWORD": "wrong password"}, "the password of"),
])
async def test_bad_credentials_are_refused_clearly(env: dict[str, str], expected: str, synapse: Any, db: Database,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MATRIX_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("MATRIX_PASSWORD", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    account = synapse.register(f"steward_{uuid.uuid4().hex[:6]}")
    adapter = MatrixAdapter(MatrixConfig(homeserver=synapse.url, user_id=account.user_id, encryption=False), db,
                            tmp_path)
    with pytest.raises(ConfigError, match=expected):
        await adapter.start(_noop)
    await adapter.stop()


async def test_a_token_of_another_account_is_refused(synapse: Any, db: Database, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    other = synapse.register("someone_else")
    monkeypatch.setenv("MATRIX_ACCESS_TOKEN", other.access_token)
    adapter = MatrixAdapter(MatrixConfig(homeserver=synapse.url, user_id="@steward:steward.test", encryption=False),
                            db, tmp_path)
    with pytest.raises(ConfigError, match="someone_else"):
        await adapter.start(_noop)
    await adapter.stop()


async def test_password_login_keeps_one_device(synapse: Any, db: Database, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    account = synapse.register("steward_password")
    monkeypatch.delenv("MATRIX_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("MATRIX_PASSWORD", account.password)
    devices = []
    for _ in range(2):
        adapter = MatrixAdapter(MatrixConfig(homeserver=synapse.url, user_id=account.user_id), db, tmp_path)
        await adapter.start(_noop)
        assert adapter.client is not None
        devices.append(adapter.client.device_id)
        await adapter.stop()
    assert devices[0] == devices[1]
