"""Why a member is suggested: the index's evidence kept as facts, rendered in the reader's language.

Facts are small JSON-ready dicts (`{"kind": "answered_threads", "n": 4, "topic": "helm"}`) stored with
each routing request, so the same suggestion reads "answered 4 similar threads on helm" to an English
member and "a répondu à 4 discussions semblables sur helm" to a French one, whoever asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_date

from bot.expertise import Evidence
from bot.i18n import plural_translator

Translate = Callable[..., str]
Fact = dict[str, Any]


def when(at: float | None, locale: str) -> str:
    """A month and year, in the member's language ("March 2026", "mars 2026")."""
    if not at:
        return "-"
    return format_date(datetime.fromtimestamp(at, UTC).date(), "MMMM y", locale=locale)


def facts(evidence: Evidence) -> list[Fact]:
    """Why this member: their answers to similar threads, acceptance, declared topics, activity."""
    out: list[Fact] = []
    if evidence.similar_threads:
        fact: Fact = {"kind": "answered_threads", "n": evidence.similar_threads}
        if evidence.matched_terms:
            fact["topic"] = ", ".join(evidence.matched_terms[:3])
        out.append(fact)
        if evidence.accepted:
            out.append({"kind": "accepted", "n": evidence.accepted})
    if evidence.declared:
        out.append({"kind": "declared", "topic": ", ".join(evidence.declared)})
    if not out and evidence.answers:
        out.append({"kind": "regular_helper", "n": evidence.answers})
    if evidence.last_answer_at:
        out.append({"kind": "last_answer", "at": int(evidence.last_answer_at)})
    return out


COORDINATOR: list[Fact] = [{"kind": "coordinator"}]  # told as the community's coordinator, not as an expert


def render(found: Sequence[Fact], _: Translate, locale: str) -> str:
    """The facts as one short sentence in the reader's language (`_` and `locale` are the reader's)."""
    parts = [text for fact in found if (text := _fact(fact, _, locale))]
    return "; ".join(parts) or _("active in this community")


def _fact(fact: Fact, _: Translate, locale: str) -> str:
    kind, n, topic = fact.get("kind"), fact.get("n", 0), str(fact.get("topic") or "")
    if kind == "answered_threads":
        n_ = plural_translator(locale)
        if topic:
            return n_("answered {n} similar thread on {terms}", "answered {n} similar threads on {terms}", int(n),
                      terms=topic)
        return n_("answered {n} similar thread", "answered {n} similar threads", int(n))
    if kind == "accepted":
        return plural_translator(locale)("{n} marked as the answer", "{n} marked as the answer", int(n))
    if kind == "declared":
        return _("declared {topics}", topics=topic)
    if kind == "regular_helper":
        return _("one of the community's regular helpers ({n} answers)", n=n)
    if kind == "last_answer":
        return _("last answer in {month}", month=when(float(fact.get("at") or 0), locale))
    if kind == "coordinator":
        return _("you coordinate this community")
    if kind == "legacy":  # a reason stored as text before facts existed, in the language of its time
        return str(fact.get("text") or "")
    return ""


def reason(evidence: Evidence, _: Translate, locale: str) -> str:
    """The evidence as one sentence in the reader's language."""
    return render(facts(evidence), _, locale)


def dump(found: Sequence[Fact]) -> str:
    """Facts as stored (`RoutingRequest.facts`)."""
    return json.dumps(list(found), ensure_ascii=False, separators=(",", ":"))


def load(stored: str | None) -> list[Fact]:
    """Stored facts; anything unreadable reads as no facts (rendered "active in this community")."""
    try:
        found = json.loads(stored or "[]")
    except ValueError:
        return []
    return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


def title(text: str, limit: int = 80) -> str:
    """The first line of a message, shortened, for a link label."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "…")
    first = first.replace("[", "(").replace("]", ")")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"
