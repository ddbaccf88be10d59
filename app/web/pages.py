"""The pages: community health, digest archive, portfolio, rituals, and the reader's own page.

Every figure comes from the digest (bot/digest/report.py: `build_digest`, one definition each), so a page and
the chat digest cannot disagree; the stage's wording is the digest's (bot/digest/render.py). Pulse results are
the digest's too: a score only from the anonymity threshold on, never an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_date, format_datetime
from markupsafe import Markup as Html
from sqlmodel import col, select

from app.web.figures import months_of, short_month, this_month
from app.web.readers import Reader
from app.web.routes import Page, community_month
from app.web.svg import Series, bar_chart
from bot.digest.render import as_html, duration, month_name, of_month, signal_lines, signed_percent, to_markdown
from bot.digest.report import TEAM_MIN_MEMBERS, Digest, first_month, shift
from bot.digest.stage import STAGES
from bot.features.digest import _portfolio_communities
from bot.features.teams import NO_TEAM, TEAM
from bot.i18n import decimal, percent, translator
from bot.markup import plain
from bot.reputation.export import rows, to_csv
from storage.communities import list_communities
from storage.feeds import ensure_feed_token
from storage.ledger import community_entries
from storage.models import Member, Ritual
from storage.privacy import kept_data
from storage.rituals import agenda, attendance

if TYPE_CHECKING:
    from app.web.routes import Web

SORTS = ("name", "stage", "active", "trend", "answered")


@dataclass(frozen=True)
class Row:
    """A portfolio line: a community's digest and where its page is (only for the reader's own community)."""

    digest: Digest
    rate: float | None
    href: str | None


class Pages:
    """The page handlers, bound to the web app (database, cache, clock)."""

    def __init__(self, app: Web) -> None:
        self.app = app

    # -- community health ----------------------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.StreamResponse:
        """Stage and signals; people, questions, meetups and pulse over up to 12 months, each chart with its table."""
        app, now = self.app, self.app.now()
        async with app.reading() as session:
            reader = await app.community_reader(request, session)
            community = reader.community
            month = await community_month(session, community, request.query.get("month"), now)
            months = await months_of(session, community, month)
            digests = [await app.cache.digest(session, app.steward.config, community, m, now) for m in months]
            born = await first_month(session, community)
        lang = reader.locale
        _ = translator(lang)
        d = digests[-1]
        labels = [short_month(x.month, lang) for x in digests]
        people = bar_chart(_("Active members: core and periphery"), labels,
                           [Series(_("core"), [x.core for x in digests]),
                            Series(_("periphery"), [x.periphery for x in digests])], stacked=True)
        questions = bar_chart(_("Questions asked and answered"), labels,
                              [Series(_("asked"), [x.questions for x in digests]),
                               Series(_("answered"), [x.answered for x in digests])])
        pulse = bar_chart(_("Pulse (1 to 5), from enough answers"), labels,
                          [Series(_("pulse (1-5)"), [x.history[-1].pulse for x in digests])], top=5)
        meetups = [(x.month, m) for x in digests for m in x.meetups]
        attended = bar_chart(_("Meetup attendance"), labels,
                             [Series(_("attended"), [sum(m.attended for m in x.meetups) for x in digests]),
                              Series(_("said they would come"), [sum(m.going for m in x.meetups) for x in digests])])
        across = bar_chart(_("Thanks given, and thanks across teams"), labels,
                           [Series(_("thanks given"), [x.teams.given for x in digests]),
                            Series(_("across teams"), [x.teams.across for x in digests])])
        previous = shift(month, -1)
        cc = app.steward.config.community(community.slug)
        pulse_rows = [(label, title, score, n) for label, x in zip(labels, digests, strict=True)
                      for title, score, n in x.surveys]
        return app.render(
            request, "health.html", title=_("{name}: community health", name=community.name or community.slug),
            d=d, digests=digests, labels=labels, people=people, questions=questions, pulse=pulse,
            attended=attended, across=across, team_usage=TEAM.usage(lang, _), no_team_usage=NO_TEAM.usage(lang, _),
            min_team=TEAM_MIN_MEMBERS, meetups=meetups, pulse_rows=pulse_rows, k=cc.survey_min_answers if cc else 5,
            stage=_(STAGES[d.stage.name]), signals=signals(d, lang),
            month_name=month_name(month, lang), wait=lambda x: plain(duration(x.median_first_answer, lang)),
            rate=lambda part, whole: percent(part, whole, lang), score=lambda v: decimal(v, lang),
            day=lambda v: format_date(v, "medium", locale=lang),
            previous=f"{previous:%Y-%m}" if born is None or previous >= born else None,
            following=f"{shift(month, 1):%Y-%m}" if shift(month, 1) <= this_month(now, community.timezone) else None)

    # -- digest archive ------------------------------------------------------------------------------------------

    def _digest_reader_only(self, reader: Reader) -> None:
        if not reader.sees_digests:
            _ = translator(reader.locale)
            raise Page(403, _("Only this community's sponsors and coordinators can see this page."),
                       title=_("Not allowed"))

    async def digests(self, request: web.Request) -> web.StreamResponse:
        """Every month that has a digest, newest first, each a link to its page."""
        app, now = self.app, self.app.now()
        async with app.reading() as session:
            reader = await app.community_reader(request, session)
            self._digest_reader_only(reader)
            born = await first_month(session, reader.community)
        last = shift(this_month(now, reader.community.timezone), -1)
        months: list[date] = []
        month = last
        while born is not None and month >= born and len(months) < 120:
            months.append(month)
            month = shift(month, -1)
        _ = translator(reader.locale)
        return app.render(request, "digests.html", title=_("Digest archive"),
                          months=[(f"{m:%Y-%m}", month_name(m, reader.locale)) for m in months])

    async def digest(self, request: web.Request) -> web.StreamResponse:
        """One month's digest: the very text the chat digest sends, as HTML (names only of members who allow it)."""
        app, now = self.app, self.app.now()
        async with app.reading() as session:
            reader = await app.community_reader(request, session)
            self._digest_reader_only(reader)
            from app.web.routes import parse_month_arg

            month = parse_month_arg(request.match_info["month"])
            _ = translator(reader.locale)
            if month is None or month > this_month(now, reader.community.timezone):
                raise Page(404, _("There is no such page here."), title=_("Not found"))
            d = await app.cache.digest(session, app.steward.config, reader.community, month, now)
        from app.cli_digest import offline_links

        page = as_html(to_markdown(d, reader.locale, None, offline_links()), "", reader.locale)
        body = page.split("<body>\n", 1)[1].rsplit("\n</body>", 1)[0]  # the chat digest's own HTML, escaped there
        return app.render(request, "digest.html", title=_("{name}: digest for {month}", name=d.name,
                                                          month=of_month(month, reader.locale)),
                          body=Html(body))

    # -- portfolio -----------------------------------------------------------------------------------------------

    async def portfolio(self, request: web.Request) -> web.StreamResponse:
        """Every community the reader sponsors or coordinates (the operator: every one), side by side, sortable."""
        app, now = self.app, self.app.now()
        async with app.reading() as session:
            reader = await app.reader(request, session)
            _ = translator(reader.locale)
            if not reader.sees_portfolio:
                raise Page(403, _("Only sponsors and coordinators can see the portfolio."), title=_("Not allowed"))
            if reader.operator:
                communities = await list_communities(session)
            else:
                assert reader.member is not None
                communities = await _portfolio_communities(session, app.steward.config, reader.member.platform,
                                                           reader.member.platform_user_id, False)
            month = await community_month(session, reader.community, request.query.get("month"), now)
            digests = [await app.cache.digest(session, app.steward.config, c, month, now) for c in communities]
        sort = request.query.get("sort", "name")
        sort = sort if sort in SORTS else "name"
        order = list(STAGES)
        keys = {"name": lambda r: (r.digest.name.casefold(),),
                "stage": lambda r: (order.index(r.digest.stage.name), r.digest.name.casefold()),
                "active": lambda r: (-r.digest.active, r.digest.name.casefold()),
                "trend": lambda r: (-(r.digest.stage.trend or 0.0), r.digest.name.casefold()),
                "answered": lambda r: (-(r.rate or 0.0), r.digest.name.casefold())}
        lines = sorted((Row(d, d.answered / d.questions if d.questions else None,
                            f"/web/c/{d.slug}/" if d.slug == reader.community.slug else None) for d in digests),
                       key=keys[sort])
        lang = reader.locale
        chart = bar_chart(_("Active members this month"), [r.digest.name for r in lines],
                          [Series(_("active members"), [r.digest.active for r in lines])])
        return app.render(request, "portfolio.html", title=_("Portfolio: {month}", month=month_name(month, lang)),
                          lines=lines, sort=sort, chart=chart, month=f"{month:%Y-%m}",
                          stage=lambda d: _(STAGES[d.stage.name]),
                          trend=lambda d: signed_percent(d.stage.trend, lang) if d.stage.trend is not None else "-",
                          rate=lambda d: percent(d.answered, d.questions, lang),
                          pulse=lambda d: decimal(d.history[-1].pulse, lang) if d.history[-1].pulse is not None
                          else "-")

    # -- rituals -------------------------------------------------------------------------------------------------

    async def rituals(self, request: web.Request) -> web.StreamResponse:
        """Meetups to come and past, with their agenda and attendance (counts: who came is not shown), and the
        community's calendar address."""
        app, now = self.app, self.app.now()
        async with app.reading() as session:
            reader = await app.community_reader(request, session)
            community = reader.community
            assert community.id is not None
            held = await attendance(session, community.id)
            titles = {r.id: r for r in (await session.exec(select(Ritual).where(
                col(Ritual.community_id) == community.id))).all()}
            items = {m.id: [item.text for item, _m in await agenda(session, m.id or 0)] for m, _g, _a in held}
        async with app.steward.db.session() as writing:  # the feed's token is made on first use
            token = await ensure_feed_token(writing, community.id)
        from bot.features.calendar import feed_link

        lang = reader.locale
        _ = translator(lang)

        def line(meetup_id: int | None, ritual_id: int, starts_at: datetime, going: int,
                 came: int) -> dict[str, object]:
            ritual = titles.get(ritual_id)
            zone = ritual.timezone if ritual else "UTC"
            return {"title": ritual.title if ritual else "", "when": format_datetime(
                starts_at, "medium", tzinfo=ZoneInfo(zone), locale=lang), "going": going, "came": came,
                "agenda": items.get(meetup_id, [])}

        upcoming = [line(m.id, m.ritual_id, m.starts_at, g, a) for m, g, a in held
                    if m.starts_at >= now and m.status == "planned"]
        past = [line(m.id, m.ritual_id, m.starts_at, g, a) for m, g, a in reversed(held)
                if m.starts_at < now and m.status == "planned"][:24]
        return app.render(request, "rituals.html", title=_("Rituals"), upcoming=upcoming, past=past,
                          ical=feed_link(app.steward.config, community.slug, token))

    # -- me ------------------------------------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.StreamResponse:
        """The reader's own record and data, the privacy controls (in chat), their language."""
        app = self.app
        async with app.reading() as session:
            reader = await app.reader(request, session)
            _ = translator(reader.locale)
            if reader.member is None or reader.member.id is None:
                raise Page(404, _("The operator has no member page: sign in from chat to see yours."),
                           title=_("Not found"))
            kept = await kept_data(session, reader.member)
            entries = await community_entries(session, reader.community.id or 0, member_id=reader.member.id)
        kinds: dict[str, int] = {}
        for entry, _member in entries:
            kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
        return app.render(request, "me.html", title=_("Me"), kept=kept, kinds=sorted(kinds.items()),
                          entries=len(entries))

    async def _member_reader(self, request: web.Request) -> Reader:
        async with self.app.reading() as session:
            reader = await self.app.reader(request, session)
        if reader.member is None or reader.member.id is None:
            _ = translator(reader.locale)
            raise Page(404, _("The operator has no member page: sign in from chat to see yours."),
                       title=_("Not found"))
        return reader

    async def _channel(self, reader: Reader) -> str:
        from app.web.actions import home_channel

        assert reader.member is not None
        channel = await home_channel(self.app.steward, reader.community, reader.member)
        if channel is None:
            _ = translator(reader.locale)
            raise Page(409, _("Say it to Steward in chat instead: this community has no channel on your platform."),
                       title=_("Not allowed"))
        return channel

    async def opt_out(self, request: web.Request) -> web.StreamResponse:
        """Opt out (POST, CSRF): the chat's `opt out`, through the core."""
        from app.web.actions import act, opt_out_event

        reader = await self._member_reader(request)
        await self.app.form(request, reader)
        assert reader.member is not None
        await act(self.app.steward, opt_out_event(reader.community, reader.member, await self._channel(reader)))
        raise web.HTTPSeeOther("/web/me")

    async def forget_form(self, request: web.Request) -> web.StreamResponse:
        """Forget me, step one: say what it deletes, and ask to confirm (a POST with the CSRF token)."""
        reader = await self._member_reader(request)
        _ = translator(reader.locale)
        return self.app.render(request, "message.html", title=_("Forget me"), lines=[_(
            "Forget you? I'll delete your messages, reactions, contributions and everything else I keep about you, "
            "in every community, and won't index you again unless you say `opt in`. This cannot be undone.")],
            form={"action": "/web/me/forget", "csrf": reader.csrf, "label": _("Yes, forget me")})

    async def forget(self, request: web.Request) -> web.StreamResponse:
        """Forget me, confirmed: the chat's "yes", through the core; the member's sessions go with them."""
        from app.web.actions import act, forget_event
        from app.web.routes import COOKIE, CURRENT

        reader = await self._member_reader(request)
        await self.app.form(request, reader)
        assert reader.member is not None
        handled = await act(self.app.steward, forget_event(reader.community, reader.member,
                                                           await self._channel(reader)))
        _ = translator(reader.locale)
        self.app.cache.forget()  # their messages and reactions left the figures, in every community
        if not handled:
            raise Page(503, _("That did not go through: try again in a moment."), title=_("Forget me"))
        CURRENT.set(None)
        response = self.app.render(request, "message.html", title=_("Forget me"), lang=reader.locale, lines=[
            _("Done: I've forgotten you. I won't index your messages again, in any community (a re-imported "
              "history included), unless you say `opt in`.")])
        response.del_cookie(COOKIE, path="/web/")
        return response

    async def record(self, request: web.Request) -> web.StreamResponse:
        """The reader's own contribution record as CSV (for a review): what `my record` gives in chat."""
        app = self.app
        async with app.reading() as session:
            reader = await app.reader(request, session)
            if reader.member is None or reader.member.id is None:
                _ = translator(reader.locale)
                raise Page(404, _("The operator has no member page: sign in from chat to see yours."),
                           title=_("Not found"))
            entries = await community_entries(session, reader.community.id or 0, member_id=reader.member.id)
            giver_ids = {e.giver_id for e, _m in entries if e.giver_id}
            givers = {m.id or 0: m.display_name or m.platform_user_id for m in (await session.exec(
                select(Member).where(col(Member.id).in_(giver_ids)))).all()} if giver_ids else {}
        name = f"{reader.community.slug}-record-{datetime.now(UTC):%Y-%m-%d}.csv"
        return web.Response(text=to_csv(rows(entries, givers)), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})


def signals(d: Digest, lang: str) -> list[str]:
    """The stage's signals, in the digest's words, as plain text."""
    return [plain(line) for line in signal_lines(d, lang)]


__all__ = ["Pages", "signals"]
