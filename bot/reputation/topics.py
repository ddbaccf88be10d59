"""Topics of a contribution: the thread's most telling words, kept simple and predictable.

Rule: the terms of the thread's root message (routing's tokeniser: markup, links, stop words and
short numbers dropped), keeping words of at least 3 characters, ranked by how often they occur, then by
length (longer words are more specific), then by first appearance; the top `TOP` joined by spaces.
A kudos takes its topics from its reason ("for the helm chart tip" → "helm chart tip"); a meetup from
its title. Reputation on a topic counts the entries whose topics hold any term of the query.
"""

from __future__ import annotations

import re
from collections import Counter

from bot.expertise.text import tokens

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
TOP = 3
MAX_LENGTH = 100


def terms(text: str) -> list[str]:
    """The candidate topic terms of a text, in order."""
    if "://" in text:
        text = _URL.sub(" ", text)  # links are evidence, not topics
    return [t for t in tokens(text) if len(t) >= 3 and not t.isdigit()]


def topics_of(text: str) -> str:
    """The top terms of `text`, space-separated ('' when none)."""
    found = terms(text)
    counts = Counter(found)
    first = {t: i for i, t in reversed(list(enumerate(found)))}
    ranked = sorted(counts, key=lambda t: (-counts[t], -len(t), first[t]))
    out = ""
    for term in ranked[:TOP]:
        candidate = f"{out} {term}".strip()
        if len(candidate) > MAX_LENGTH:
            break
        out = candidate
    return out


def query_terms(topic: str) -> list[str]:
    """The terms a reputation query on `topic` matches (e.g. "helm upgrades?" → ["helm", "upgrades"])."""
    return list(dict.fromkeys(terms(topic))) or [w for w in topic.lower().split() if w]
