"""Aliases shared across the core, so signatures read as the domain speaks."""

from typing import Literal

Platform = str  # "console", "slack", "matrix", "recording"
PlatformUserId = str  # "U024BE7LH" on Slack, "@ana:example.org" on Matrix
ChannelId = str
MessageId = str  # Slack ts, Matrix event id
Locale = Literal["en", "fr"]
Role = Literal["member", "coordinator", "sponsor"]

SUPPORTED_LOCALES: tuple[Locale, ...] = ("en", "fr")
