"""The Web API methods the Slack adapter calls, and the bot scopes each needs.

`steward doctor` checks an app manifest against it, and tests/slack/test_scopes.py checks that every method
the adapter's code names is listed here and that the shipped `manifest.yml` grants its scopes.
"""

from __future__ import annotations

from collections.abc import Iterable

# conversations.history/replies work in whichever kind of conversation the history scope allows:
# Steward looks for its own replies in channels, private channels and direct messages.
HISTORY = ("channels:history", "groups:history", "im:history")

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.open": ("im:write",),
    "conversations.history": HISTORY,
    "conversations.replies": HISTORY,
    "files.upload_v2": ("files:write",),  # the digest's chart
    "reactions.add": ("reactions:write",),
    "users.info": ("users:read",),
    "views.open": (),  # a modal answers an interaction: no scope of its own
}

# What the events Steward subscribes to need (manifest.yml's bot_events) and the slash commands.
EVENT_SCOPES = ("app_mentions:read", "channels:history", "groups:history", "im:history", "channels:read",
                "groups:read", "reactions:read", "users:read", "commands")


def required_scopes() -> set[str]:
    """Every bot scope Steward's Slack app needs."""
    return {s for scopes in METHOD_SCOPES.values() for s in scopes} | set(EVENT_SCOPES)


def missing_scopes(granted: Iterable[str]) -> list[str]:
    """The needed scopes a manifest does not grant, sorted."""
    return sorted(required_scopes() - set(granted))
