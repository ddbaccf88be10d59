"""Mentions and kudos phrases, whatever the platform wrote them as.

Mentions arrive as platform ids: Slack `<@U123>` (or `<@U123|ana>`), Matrix `@ana:example.org` or an
HTML pill `<a href="https://matrix.to/#/@ana:example.org">Ana</a>`, and the console's `@ana`. The
parser returns the platform user ids, in order, without duplicates; it knows no platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SLACK = r"<@(?P<slack>[A-Za-z0-9._\-]+)(?:\|[^>]*)?>"
_PILL = r"<a\s[^>]*href=[\"']https://matrix\.to/#/(?P<pill>@[^\"'/?]+)[^\"']*[\"'][^>]*>.*?</a>"
_MATRIX = r"(?P<matrix>@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*(?::\d+)?)"
_CONSOLE = r"@(?P<console>[\w][\w.\-]*)"
MENTION = re.compile(f"{_SLACK}|{_PILL}|{_MATRIX}|{_CONSOLE}", re.IGNORECASE | re.DOTALL)
# Between mentions: spaces, commas, "and", "&", "et"; after them, an optional "for"/"pour"/":"/"-".
_GLUE = re.compile(r"(?:[\s,;]|\band\b|\bet\b|&)*", re.IGNORECASE)
_REASON = re.compile(r"^[\s,;:!.\-—–]*(?:(?:for|pour|about|sur)\b)?[\s:\-—–]*", re.IGNORECASE)
# A message that thanks people without addressing Steward: it must *start* with the thanks word and
# a mention, so "no thanks" or "thanks to the docs" never count.
_THANKS = re.compile(r"^\s*(?:many\s+thanks|thanks|thank\s+you|thx|ty|kudos(?:\s+to)?|shout-?out\s+to|"
                     r"merci(?:\s+beaucoup)?(?:\s+[àa])?|bravo(?:\s+[àa])?)\b[\s,:!]*", re.IGNORECASE)


@dataclass(frozen=True)
class Kudos:
    """Who is thanked (platform ids) and why ('' when no reason was given)."""

    people: tuple[str, ...]
    reason: str


def mentions(text: str) -> list[str]:
    """Every mentioned platform user id in `text`, in order, once each."""
    found: list[str] = []
    for m in MENTION.finditer(text):
        uid = next(v for v in m.groupdict().values() if v)
        if uid not in found:
            found.append(uid)
    return found


def first_mention(text: str) -> tuple[str, int] | None:
    """The first mentioned platform user id and where the mention ends, or None."""
    m = MENTION.search(text)
    return None if m is None else (next(v for v in m.groupdict().values() if v), m.end())


def parse_kudos(text: str) -> Kudos:
    """Leading mentions (one or several) then the reason: "@ana @bruno for the helm chart tip"."""
    people: list[str] = []
    pos = 0
    while True:
        glue = _GLUE.match(text, pos)
        start = glue.end() if glue else pos
        m = MENTION.match(text, start)
        if m is None:
            break
        uid = next(v for v in m.groupdict().values() if v)
        if uid not in people:
            people.append(uid)
        pos = m.end()
    rest = text[pos:] if people else text
    reason = _REASON.sub("", rest, count=1).strip() if people else rest.strip()
    return Kudos(tuple(people), _strip_tags(reason).rstrip(" .!"))


def thanks_in_message(text: str) -> Kudos | None:
    """The kudos of an ordinary message such as "thanks @ana for the tip", else None."""
    m = _THANKS.match(text)
    if m is None:
        return None
    kudos = parse_kudos(text[m.end():])
    return kudos if kudos.people else None


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text) if "<" in text else text
