"""manifest.yml asks for exactly the events and commands the adapter listens to."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack.transport import COMMANDS, EVENTS, PATH

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def test_manifest_matches_the_listeners() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {e.split(".")[0] for e in events} == set(EVENTS)
    assert {c["command"] for c in manifest["features"]["slash_commands"]} == set(COMMANDS)
    urls = [manifest["settings"]["event_subscriptions"]["request_url"],
            manifest["settings"]["interactivity"]["request_url"],
            *(c["url"] for c in manifest["features"]["slash_commands"])]
    assert all(url.endswith(PATH) for url in urls)
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert "chat:write" in scopes and "commands" in scopes
