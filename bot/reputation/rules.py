"""What counts as a question and as a shared resource (live events and imports use the same rules)."""

from __future__ import annotations

import re

TRAILING = " \t\r\n"  # stripped before looking for the question mark (SQL: rtrim(text, TRAILING))
ACCEPT = ("white_check_mark", "heavy_check_mark", "ballot_box_with_check")  # the asker's ✅
_URL = re.compile(r"<https?://[^>\s]+>|https?://\S+", re.IGNORECASE)
MIN_COMMENT_WORDS = 3


def is_question(text: str) -> bool:
    """A thread root is a question when it ends with "?" (French " ?" included)."""
    return text.rstrip(TRAILING).endswith("?")


def is_shared_resource(text: str) -> bool:
    """A link with a comment: at least one http(s) link and `MIN_COMMENT_WORDS` words besides it."""
    if "http" not in text.lower():
        return False
    links = _URL.findall(text)
    if not links:
        return False
    return len(_URL.sub(" ", text).split()) >= MIN_COMMENT_WORDS
