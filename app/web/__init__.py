"""Steward's web pages for coordinators, sponsors and members (served by Steward's own HTTP server)."""
