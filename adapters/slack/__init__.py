"""Steward on Slack (slack-bolt)."""
