"""The digest as chat text (Steward's tiny markup, also valid Markdown) and as a small HTML page."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from babel.dates import format_date

from bot.digest.report import Digest
from bot.digest.stage import STAGES
from bot.i18n import Translate


def _duration(delta: timedelta | None, _: Translate) -> str:
    if delta is None:
        return "-"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return _("{n} min", n=minutes)
    if minutes < 48 * 60:
        return _("{n} h", n=f"{minutes / 60:.1f}")
    return _("{n} days", n=f"{minutes / 1440:.1f}")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def to_markdown(d: Digest, _: Translate, locale: str) -> str:
    """The digest text sent to sponsors."""
    month = format_date(d.month, "LLLL y", locale=locale)
    lines = [_("**{name}: digest for {month}**", name=d.name, month=month), "",
             _("**People**"),
             _("- Active members: {n} (core {core}, periphery {periphery}; core = {k}+ messages or contributions "
               "this month)", n=d.active, core=d.core, periphery=d.periphery, k=d.core_threshold),
             _("- Newcomers: {n}", n=d.newcomers), "",
             _("**Questions**"),
             _("- Questions asked in threads: {n}, answered: {answered} ({rate}); median time to a first answer: "
               "{wait}", n=d.questions, answered=d.answered, rate=_pct(d.answered, d.questions),
               wait=_duration(d.median_first_answer, _)),
             _("- Questions routed to experts: {n}, found an answer: {answered} ({rate})", n=d.routed,
               answered=d.routed_answered, rate=_pct(d.routed_answered, d.routed)), ""]
    lines.append(_("**Meetups**"))
    lines += [_("- {title}: {n} attended", title=t, n=n) for t, n in d.meetups] or [_("- No meetup this month.")]
    lines += ["", _("**Pulse**")]
    for title, score, n in d.surveys:
        lines.append(_("- “{title}”: average {score} ({n} answers)", title=title, score=f"{score:.1f}", n=n)
                     if score is not None else _("- “{title}”: too few answers to show ({n})", title=title, n=n))
    if not d.surveys:
        lines.append(_("- No pulse survey closed this month."))
    trend = [f"{h.pulse:.1f}" for h in d.history if h.pulse is not None]
    if len(trend) > 1:
        lines.append(_("- Trend over 6 months: {trend}", trend=" → ".join(trend)))
    lines += ["", _("**Stories of the month**")]
    for s in d.stories:
        said = f" “{s.quote}”" + (f" ({s.author})" if s.author else "") if s.quote else ""
        lines.append(_("- [A much-thanked message]({link}): {n} thanks.", link=s.link, n=s.thanks) + said)
    if not d.stories:
        lines.append(_("- No thanked messages this month."))
    lines += ["", _("**Stage: {stage}**", stage=_(STAGES[d.stage.name])),
              *(f"- {signal}" for signal in d.stage.signals)]
    return "\n".join(lines)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def to_html(d: Digest, _: Translate, locale: str) -> str:
    """A standalone HTML page of the same text (for e-mail or an intranet)."""
    body: list[str] = []
    in_list = False
    for line in to_markdown(d, _, locale).splitlines():
        text = _LINK.sub(r'<a href="\2">\1</a>', _BOLD.sub(r"<strong>\1</strong>", html.escape(line, quote=False)))
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{text[2:]}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line:
            body.append(f"<p>{text}</p>")
    if in_list:
        body.append("</ul>")
    title = html.escape(f"{d.name} {d.month:%Y-%m}")
    return (f'<!DOCTYPE html>\n<html lang="{locale}"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>\n" + "\n".join(body) + "\n</body></html>\n")
