"""The digest as chat text (Steward's tiny markup, also valid Markdown) and as a small HTML page.

Names, titles and quotes in it are what people typed: literal spans (bot/markup.py), escaped in each output.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

from babel.dates import format_date

from bot.digest.report import Digest
from bot.digest.stage import STAGES
from bot.i18n import Translate, as_markup
from bot.markup import Markup, hold, web_url


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


def to_markdown(d: Digest, translate: Translate, locale: str) -> Markup:
    """The digest text sent to sponsors (as markup: `markdown_file` is the same text for a .md file)."""
    _ = as_markup(translate)
    month = format_date(d.month, "LLLL y", locale=locale)
    lines = [_("**{name}: digest for {month}**", name=d.name, month=month), Markup(),
             _("**People**"),
             _("- Active members: {n} (core {core}, periphery {periphery}; core = {k}+ messages or contributions "
               "this month)", n=d.active, core=d.core, periphery=d.periphery, k=d.core_threshold),
             _("- Newcomers: {n}", n=d.newcomers), Markup(),
             _("**Questions**"),
             _("- Questions asked in threads: {n}, answered: {answered} ({rate}); median time to a first answer: "
               "{wait}", n=d.questions, answered=d.answered, rate=_pct(d.answered, d.questions),
               wait=_duration(d.median_first_answer, translate)),
             _("- Questions routed to experts: {n}, found an answer: {answered} ({rate})", n=d.routed,
               answered=d.routed_answered, rate=_pct(d.routed_answered, d.routed)), Markup()]
    lines.append(_("**Meetups**"))
    lines += [_("- {title}: {n} attended", title=t, n=n) for t, n in d.meetups] or [_("- No meetup this month.")]
    lines += [Markup(), _("**Pulse**")]
    for title, score, n in d.surveys:
        lines.append(_("- “{title}”: average {score} ({n} answers)", title=title, score=f"{score:.1f}", n=n)
                     if score is not None else _("- “{title}”: too few answers to show ({n})", title=title, n=n))
    if not d.surveys:
        lines.append(_("- No pulse survey closed this month."))
    trend = [f"{h.pulse:.1f}" for h in d.history if h.pulse is not None]
    if len(trend) > 1:
        lines.append(_("- Trend over 6 months: {trend}", trend=" → ".join(trend)))
    lines += [Markup(), _("**Stories of the month**")]
    for s in d.stories:
        said = Markup(" “{quote}”").format(quote=s.quote) if s.quote else Markup()
        if s.quote and s.author:
            said += Markup(" ({author})").format(author=s.author)
        lines.append(_("- [A much-thanked message]({link}): {n} thanks.", link=s.link, n=s.thanks) + said)
    if not d.stories:
        lines.append(_("- No thanked messages this month."))
    lines += [Markup(), _("**Stage: {stage}**", stage=_(STAGES[d.stage.name])),
              *(Markup("- {signal}").format(signal=signal) for signal in d.stage.signals)]
    return Markup("\n").join(lines)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])|(?<=\n)([#>+-])")


def markdown_file(d: Digest, translate: Translate, locale: str) -> str:
    """The digest as a Markdown file: what people typed is backslash-escaped, so it stays text there too."""
    held = hold(to_markdown(d, translate, locale))
    return held.fill(held.text, lambda span: _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), span))


def to_html(d: Digest, _: Translate, locale: str) -> str:
    """A standalone HTML page of the same text (for e-mail or an intranet); links only to web addresses."""
    held = hold(to_markdown(d, _, locale))

    def link(match: re.Match[str]) -> str:
        url = web_url(held.reveal(html.unescape(match.group(2))))
        if url is None:
            return match.group(1)  # not a web address (e.g. a chat message link): the label alone
        return f'<a href="{html.escape(url, quote=True)}">{match.group(1)}</a>'

    body: list[str] = []
    in_list = False
    for line in held.text.splitlines():  # literal spans wait in holes: a person's line break starts no line
        text = _LINK.sub(link, _BOLD.sub(r"<strong>\1</strong>", html.escape(line, quote=False)))
        text = held.fill(text, lambda span: html.escape(span, quote=True).replace("\n", "<br>"))
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
