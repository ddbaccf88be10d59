"""Reading a Slack workspace export (folder or .zip) as a stream of neutral history records."""
