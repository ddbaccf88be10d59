"""Turning the index's evidence into short reasons a member can read ("answered 4 threads on helm…")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from babel.dates import format_date

from bot.expertise import Evidence

Translate = Callable[..., str]


def when(at: float | None, locale: str) -> str:
    """A month and year, in the member's language ("March 2026", "mars 2026")."""
    if not at:
        return "-"
    return format_date(datetime.fromtimestamp(at, UTC).date(), "MMMM y", locale=locale)


def reason(evidence: Evidence, _: Translate, locale: str) -> str:
    """Why this member: their answers to similar threads, acceptance, declared topics, activity."""
    parts: list[str] = []
    if evidence.similar_threads:
        terms = ", ".join(evidence.matched_terms[:3])
        if terms:
            parts.append(_("answered {n} similar threads on {terms}", n=evidence.similar_threads, terms=terms))
        else:
            parts.append(_("answered {n} similar threads", n=evidence.similar_threads))
        if evidence.accepted:
            parts.append(_("{n} marked as the answer", n=evidence.accepted))
    if evidence.declared:
        parts.append(_("declared {topics}", topics=", ".join(evidence.declared)))
    if not parts and evidence.answers:
        parts.append(_("one of the community's regular helpers ({n} answers)", n=evidence.answers))
    if evidence.last_answer_at:
        parts.append(_("last answer in {month}", month=when(evidence.last_answer_at, locale)))
    return "; ".join(parts) or _("active in this community")


def title(text: str, limit: int = 80) -> str:
    """The first line of a message, shortened, for a link label."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "…")
    first = first.replace("[", "(").replace("]", ")")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"
