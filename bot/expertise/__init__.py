"""Expertise ranking for "who knows about X?": a compact in-memory index fed from storage."""

from bot.expertise.index import ExpertiseIndex
from bot.expertise.records import Evidence, Post, Suggestion, ThreadHit

__all__ = ["Evidence", "ExpertiseIndex", "Post", "Suggestion", "ThreadHit"]
