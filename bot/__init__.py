"""Steward: a bot that takes the chores off communities of practice."""

__version__ = "0.1.0"
