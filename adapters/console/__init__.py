"""The terminal chat: talk to Steward with no Slack or Matrix account."""
