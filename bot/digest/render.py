"""The digest and the portfolio as chat text (Steward's tiny markup, also valid Markdown) and as small HTML pages.

Names, titles and quotes in it are what people typed: literal spans (bot/markup.py), escaped in each output.
Numbers, dates and plurals follow the reader's language (Babel, ngettext): "4,2", "50 %", « bilan d'octobre ».
A story links to its message where the reader can open it: a neutral link the platform's adapter resolves when
the digest is read on the message's own platform, else the web address that platform's adapter gives (a Matrix
story in a Slack DM, the Markdown and HTML files), and no link at all when there is none (the terminal).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import timedelta

from babel.dates import format_date, format_skeleton
from babel.numbers import format_percent

from bot.digest.report import Digest, StoryLine
from bot.digest.stage import STAGES
from bot.i18n import decimal, markup_plural_translator, markup_translator, percent
from bot.markup import Markup, hold, web_url
from bot.replies import message_link
from bot.services import WebLink

_FRENCH_VOWELS = tuple("aeiouyhàâéèêîôû")


def month_name(month: object, locale: str) -> str:
    """`October 2026`, `octobre 2026`."""
    return format_date(month, "LLLL y", locale=locale)  # type: ignore[arg-type]


def of_month(month: object, locale: str) -> str:
    """The month as "the digest *of* it" reads: `October 2026`, `d'octobre 2026`, `de janvier 2025`."""
    name = month_name(month, locale)
    if locale.startswith("fr"):
        return ("d'" if name.startswith(_FRENCH_VOWELS) else "de ") + name
    return name


def signed_percent(value: float, locale: str) -> str:
    """A change: `+20%`, `-35 %`."""
    return ("+" if value >= 0 else "-") + format_percent(abs(value), locale=locale)


def story_link(story: StoryLine, reader: str | None, links: Mapping[str, WebLink]) -> str | None:
    """Where a story's link points for a reader on `reader` (None: a file, read anywhere): a neutral link on the
    story's own platform (its adapter makes it a permalink), else the web address its adapter gives, if any."""
    if reader == story.platform:
        return message_link(story.channel, story.message)
    web_link = links.get(story.platform)
    return web_url(web_link(story.channel, story.message) or "") if web_link else None


def duration(delta: timedelta | None, locale: str) -> Markup:
    """A wait as people say it: `35 min`, `2.5 h`, `3 days`; `-` for none (the digest's and the web pages')."""
    _, n_ = markup_translator(locale), markup_plural_translator(locale)
    if delta is None:
        return Markup("-")
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return _("{n} min", n=minutes)
    if minutes < 48 * 60:
        return _("{n} h", n=decimal(minutes / 60, locale))
    days = minutes / 1440
    return n_("{n} day", "{n} days", int(days), n=decimal(days, locale))


def _story(s: StoryLine, locale: str, reader: str | None, links: Mapping[str, WebLink]) -> Markup:
    _, n_ = markup_translator(locale), markup_plural_translator(locale)
    if s.answer:
        title: Markup = (Markup("{q}").format(q=s.question) if s.question is not None
                         else _("a question about {topics}", topics=s.topics) if s.topics
                         else _("a question"))
    else:
        title = _("a message in {channel}", channel=s.channel_name) if s.channel_name else _("a message")
    link = story_link(s, reader, links)
    what = Markup("[{title}]({link})").format(title=title, link=link) if link else title
    helper = Markup("{name}").format(name=s.helper) if s.helper else _("a member")
    if s.answer:
        asker = Markup("{name}").format(name=s.asker) if s.asker else _("another member")
        line = n_("- {what}: {helper} helped {asker}; thanked by {n} person.",
                  "- {what}: {helper} helped {asker}; thanked by {n} people.", s.thanks,
                  what=what, helper=helper, asker=asker)
    else:
        line = n_("- {what}: written by {helper}; thanked by {n} person.",
                  "- {what}: written by {helper}; thanked by {n} people.", s.thanks, what=what, helper=helper)
    return line + (_(" “{quote}”", quote=s.quote) if s.quote else Markup())


def _signals(d: Digest, locale: str) -> list[Markup]:
    return [Markup("- ") + line for line in signal_lines(d, locale)]


def signal_lines(d: Digest, locale: str) -> list[Markup]:
    """The stage's signals, worded from the very figures the digest shows above them (the web pages' too)."""
    _, n_ = markup_translator(locale), markup_plural_translator(locale)
    lines = [n_("{n} month of history", "{n} months of history", d.age_months),
             n_("{n} active member this month (peak {peak} over 6 months)",
                "{n} active members this month (peak {peak} over 6 months)", d.active, peak=d.peak),
             _("core group of {n}", n=d.core)]
    if d.stage.trend is not None:
        lines.append(_("activity {trend} over the last 3 months against the 3 before",
                       trend=signed_percent(d.stage.trend, locale)))
    if d.questions:
        lines.append(_("{rate} of question threads answered", rate=percent(d.answered, d.questions, locale)))
    return lines


def to_markdown(d: Digest, locale: str, reader: str | None = None,
                links: Mapping[str, WebLink] | None = None) -> Markup:
    """The digest text: a DM on `reader`'s platform, or (None) a file; `links` are the adapters' `web_link`s."""
    _, n_ = markup_translator(locale), markup_plural_translator(locale)
    lines = [_("**{name}: digest for {month}**", name=d.name, month=of_month(d.month, locale)), Markup(),
             _("**People**"),
             _("- Active members: {n} (core {core}, periphery {periphery}; core = {k}+ messages or contributions "
               "this month)", n=d.active, core=d.core, periphery=d.periphery, k=d.core_threshold),
             _("- Newcomers: {n}", n=d.newcomers), Markup(),
             _("**Questions**"),
             _("- Questions asked in threads: {n}, answered: {answered} ({rate}); median time to a first answer: "
               "{wait}", n=d.questions, answered=d.answered, rate=percent(d.answered, d.questions, locale),
               wait=duration(d.median_first_answer, locale)),
             _("- Questions routed to experts: {n}, found an answer: {answered} ({rate})", n=d.routed,
               answered=d.routed_answered, rate=percent(d.routed_answered, d.routed, locale)), Markup()]
    lines.append(_("**Meetups**"))
    for m in d.meetups:
        came = n_("{n} attended", "{n} attended", m.attended)
        said = n_("{n} said they would come", "{n} said they would come", m.going)
        lines.append(_("- {title}, {day}: {attended} ({going})", title=m.title,
                       day=format_skeleton("MMMMEd", m.day, locale=locale), attended=came, going=said))
    if not d.meetups:
        lines.append(_("- No meetup this month."))
    lines += [Markup(), _("**Pulse**")]
    for title, score, n in d.surveys:
        lines.append(n_("- “{title}”: average {score} ({n} answer)", "- “{title}”: average {score} ({n} answers)", n,
                        title=title, score=decimal(score, locale))
                     if score is not None else _("- “{title}”: too few answers to show ({n})", title=title, n=n))
    if not d.surveys:
        lines.append(_("- No pulse survey closed this month."))
    trend = [decimal(h.pulse, locale) for h in d.history if h.pulse is not None]
    if len(trend) > 1:
        lines.append(_("- Trend over 6 months: {trend}", trend=" → ".join(trend)))
    lines += [Markup(), _("**Stories of the month**")]
    lines += [_story(s, locale, reader, links or {}) for s in d.stories]
    if not d.stories:
        lines.append(_("- No thanked messages this month."))
    if d.teams.known:
        lines.append(n_("- Thanks across teams: {across} of {n} between members whose teams are known ({rate}).",
                        "- Thanks across teams: {across} of {n} between members whose teams are known ({rate}).",
                        d.teams.known, across=d.teams.across, rate=percent(d.teams.across, d.teams.known, locale)))
    lines += [Markup(), _("**Stage: {stage}**", stage=_(STAGES[d.stage.name])), *_signals(d, locale)]
    return Markup("\n").join(lines)


def portfolio_markdown(digests: tuple[Digest, ...], locale: str) -> Markup:
    """Each community's stage, trend and health side by side, one line each (same figures as its digest)."""
    _, n_ = markup_translator(locale), markup_plural_translator(locale)
    month = digests[0].month if digests else None
    lines = [_("**Portfolio: {month}**", month=month_name(month, locale) if month else "-")
             + n_(" ({n} community)", " ({n} communities)", len(digests)), Markup()]
    for d in digests:
        trend = (_("trend {trend} over 3 months", trend=signed_percent(d.stage.trend, locale))
                 if d.stage.trend is not None else _("no trend yet"))
        answers = (n_("{answered} of {n} question answered ({rate})", "{answered} of {n} questions answered ({rate})",
                      d.questions, answered=d.answered, rate=percent(d.answered, d.questions, locale))
                   if d.questions else _("no question asked"))
        pulse = (_("pulse {score}", score=decimal(d.history[-1].pulse, locale)) if d.history[-1].pulse is not None
                 else _("no pulse"))
        lines.append(_("- **{name}**: {stage}; {active}, {trend}; {answers}; {pulse}", name=d.name,
                       stage=_(STAGES[d.stage.name]), trend=trend, answers=answers, pulse=pulse,
                       active=n_("{n} active member", "{n} active members", d.active)))
    if not digests:
        lines.append(_("- No community to show."))
    asked = month.strftime("%Y-%m") if month else "2026-10"
    lines += [Markup(), _("Each figure is read as in the community's own digest (`digest {month}` there).",
                          month=asked)]
    return Markup("\n").join(lines)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])|(?<=\n)([#>+-])")


def as_file(text: Markup) -> str:
    """Markup as a Markdown file: what people typed is backslash-escaped, so it stays text there too."""
    held = hold(text)
    return held.fill(held.text, lambda span: _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), span))


def markdown_file(d: Digest, locale: str, links: Mapping[str, WebLink] | None = None) -> str:
    """The digest as a Markdown file (links to web addresses only)."""
    return as_file(to_markdown(d, locale, None, links))


def as_html(text: Markup, title: str, locale: str) -> str:
    """Markup as a standalone HTML page (for e-mail or an intranet); links only to web addresses."""
    held = hold(text)

    def link(match: re.Match[str]) -> str:
        url = web_url(held.reveal(html.unescape(match.group(2))))
        if url is None:
            return match.group(1)  # not a web address: the label alone
        return f'<a href="{html.escape(url, quote=True)}">{match.group(1)}</a>'

    body: list[str] = []
    in_list = False
    for line in held.text.splitlines():  # literal spans wait in holes: a person's line break starts no line
        out = _LINK.sub(link, _BOLD.sub(r"<strong>\1</strong>", html.escape(line, quote=False)))
        out = held.fill(out, lambda span: html.escape(span, quote=True).replace("\n", "<br>"))
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{out[2:]}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line:
            body.append(f"<p>{out}</p>")
    if in_list:
        body.append("</ul>")
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(locale)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def to_html(d: Digest, locale: str, links: Mapping[str, WebLink] | None = None) -> str:
    """The digest as a standalone HTML page."""
    return as_html(to_markdown(d, locale, None, links), f"{d.name} {d.month:%Y-%m}", locale)
