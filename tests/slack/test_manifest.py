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


def _methods_named_in_the_adapter() -> set[str]:
    """Every Web API method the adapter's code names (`_api("chat.postMessage", …)`, method constants)."""
    import re

    source = "\n".join(p.read_text(encoding="utf-8") for p in (MANIFEST.parent / "adapters" / "slack").glob("*.py")
                       if p.name != "scopes.py")
    families = "auth|chat|conversations|files|reactions|users|views|team|usergroups|bookmarks|pins|dnd|emoji"
    return set(re.findall(rf"\"((?:{families})\.[a-zA-Z_0-9]+)\"", source))


def test_every_method_the_adapter_calls_has_its_scopes_in_the_manifest() -> None:
    from adapters.slack.scopes import METHOD_SCOPES, missing_scopes

    called = _methods_named_in_the_adapter()
    assert {"chat.postMessage", "files.upload_v2", "conversations.history"} <= called  # the scan sees them
    assert called - set(METHOD_SCOPES) == set(), "add the new method's scopes to adapters/slack/scopes.py"
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert missing_scopes(manifest["oauth_config"]["scopes"]["bot"]) == []
