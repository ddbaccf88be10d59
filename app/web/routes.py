"""Steward's web pages, on the HTTP server Steward already runs (health, metrics, calendars, Slack events).

Server-rendered HTML (Jinja2, autoescaped), no script; every page is for a signed-in reader and shows only
their community (another community's address answers 404, as an unknown one). Forms carry the session's CSRF
token; answers carry a strict Content-Security-Policy and `Referrer-Policy: no-referrer` (a sign-in address
must not leak to another site). The sign-in address shows a button: a link previewer that fetches it spends
nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel.ext.asyncio.session import AsyncSession

from app.web.figures import DigestCache, default_month
from app.web.readers import Reader, reader_locale, roles_of
from bot.core import Steward
from bot.i18n import normalise_locale, plural_translator, translator
from storage.communities import list_communities
from storage.models import Community, Member
from storage.web import LinkRefused, end_session, find_session, link_state, redeem_link, set_session_locale

COOKIE = "steward_session"
log = logging.getLogger(__name__)
HERE = Path(__file__).parent
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CURRENT: ContextVar[Reader | None] = ContextVar("web_reader", default=None)  # this request's reader (one task each)


class Page(Exception):
    """Stop and answer with a page of a few lines (not signed in, not allowed, not found)."""

    def __init__(self, status: int, *lines: str, title: str = "") -> None:
        super().__init__(title)
        self.status, self.lines, self.title = status, lines, title


class Web:
    """The pages bound to one Steward: its database, config and a cache of finished months' digests."""

    def __init__(self, steward: Steward, *, now: Callable[[], datetime] | None = None) -> None:
        self.steward = steward
        self.cache = DigestCache(self.reading)
        self.now = now or (lambda: datetime.now(UTC))
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                               trim_blocks=True, lstrip_blocks=True)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads: on SQLite it neither waits for nor holds up the writers (the bot's events),
        however long a page's figures take."""
        async with self.steward.db.reader() as conn:
            session = AsyncSession(bind=conn, expire_on_commit=False)
            try:
                yield session
            finally:
                await session.close()

    async def warm(self) -> None:
        """Compute every community's finished months for its health page now, reading only, so the first reader
        after a start does not wait for them (about a minute for a 1,000,000-message community: BENCHMARKS.md)."""
        from app.web.figures import months_of, this_month

        now = self.now()
        async with self.reading() as session:
            communities = await list_communities(session)
        for community in communities:
            try:
                async with self.reading() as session:
                    last = await default_month(session, community, now)
                    for month in await months_of(session, community, last):
                        if month < this_month(now, community.timezone):
                            await self.cache.digest(session, self.steward.config, community, month, now)
            except Exception:  # a page computes what is missing; serving goes on
                log.exception("could not compute the web pages' figures of %s", community.slug)

    def start_warming(self) -> asyncio.Task[None]:
        """`warm` in the background (the caller cancels it at shutdown)."""
        return asyncio.create_task(self.warm())

    def routes(self) -> list[web.RouteDef]:
        """Every route of the pages, under /web."""
        from app.web import pages

        p = pages.Pages(self)
        return [
            web.get("/web/style.css", self.style),
            web.get("/web/", self.wrap(self.index)),
            web.get("/web/signin/{token}", self.wrap(self.signin_form)),
            web.post("/web/signin/{token}", self.wrap(self.signin)),
            web.post("/web/signout", self.wrap(self.signout)),
            web.post("/web/language", self.wrap(self.language)),
            web.get("/web/c/{slug}/", self.wrap(p.health)),
            web.get("/web/c/{slug}/digests", self.wrap(p.digests)),
            web.get("/web/c/{slug}/digests/{month}", self.wrap(p.digest)),
            web.get("/web/c/{slug}/rituals", self.wrap(p.rituals)),
            web.get("/web/portfolio", self.wrap(p.portfolio)),
            web.get("/web/me", self.wrap(p.me)),
            web.get("/web/me/record.csv", self.wrap(p.record)),
            web.post("/web/me/opt-out", self.wrap(p.opt_out)),
            web.get("/web/me/forget", self.wrap(p.forget_form)),
            web.post("/web/me/forget", self.wrap(p.forget)),
        ]

    # -- answering ---------------------------------------------------------------------------------------------

    def wrap(self, handler: Handler) -> Handler:
        """Answer a `Page` raised by `handler` as a page in the reader's language, with the security headers."""

        async def run(request: web.Request) -> web.StreamResponse:
            token = CURRENT.set(None)
            try:
                response = await handler(request)
            except Page as page:
                reader = CURRENT.get()
                lang = reader.locale if reader is not None else self._guess_locale(request)
                _ = translator(lang)
                response = self.render(request, "message.html", title=page.title or _("Steward"),
                                       status=page.status, lines=page.lines, lang=lang)
            finally:
                CURRENT.reset(token)
            _secure(response)
            return response

        return run

    def render(self, request: web.Request, template: str, *, title: str, status: int = 200,
               lang: str | None = None, **values: Any) -> web.Response:
        """A page from `template`, for the request's reader (if any), in their language."""
        reader = CURRENT.get()
        lang = lang or (reader.locale if reader is not None else self.steward.config.locale)
        community = reader.community if reader is not None else None
        text = self.env.get_template(template).render(
            _=translator(lang), n_=plural_translator(lang), lang=lang, title=title, reader=reader,
            community=community.slug if community else None,
            community_name=(community.name or community.slug) if community else "",
            here=request.path_qs, **values)
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")

    def _guess_locale(self, request: web.Request) -> str:
        """Before sign-in: the browser's first language Steward speaks, else Steward's."""
        for part in request.headers.get("Accept-Language", "").split(","):
            lang = normalise_locale(part.split(";")[0].strip())
            if lang:
                return lang
        return self.steward.config.locale

    async def style(self, _request: web.Request) -> web.StreamResponse:
        """The one small stylesheet (screen and print)."""
        response = web.Response(text=(HERE / "style.css").read_text(encoding="utf-8"), content_type="text/css")
        response.headers["Cache-Control"] = "max-age=3600"
        _secure(response)
        return response

    # -- who reads ---------------------------------------------------------------------------------------------

    async def reader(self, request: web.Request, session: AsyncSession) -> Reader:
        """The signed-in reader, or a 401 page saying how to get a link."""
        cookie = request.cookies.get(COOKIE, "")
        row = await find_session(session, cookie, now=self.now())
        if row is None:
            _ = translator(self._guess_locale(request))
            raise Page(401, _("You are not signed in, or your session has ended."),
                       _("Ask Steward for a link: say `dashboard` to it in a direct message."),
                       title=_("Sign in"))
        community = await session.get(Community, row.community_id)
        member = await session.get(Member, row.member_id) if row.member_id is not None else None
        assert community is not None  # the session goes with its community (ON DELETE CASCADE)
        for row_read in (community, member):  # kept as read: the page renders after the transaction ends
            if row_read is not None:
                session.expunge(row_read)
        config = self.steward.config
        reader = Reader(cookie=cookie, community=community, member=member, operator=row.operator,
                        roles=roles_of(config, community, member, row.operator), csrf=row.csrf,
                        locale=reader_locale(config, row, community, member))
        CURRENT.set(reader)
        return reader

    async def community_reader(self, request: web.Request, session: AsyncSession) -> Reader:
        """The reader of a community page: only that community's own readers; any other gets a 404, the same
        answer as for a community that does not exist."""
        reader = await self.reader(request, session)
        if request.match_info["slug"] != reader.community.slug:
            _ = translator(reader.locale)
            raise Page(404, _("There is no such page here."), title=_("Not found"))
        return reader

    async def form(self, request: web.Request, reader: Reader) -> dict[str, str]:
        """The posted form, once its CSRF token is the session's."""
        data = await request.post()
        sent = data.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), reader.csrf.encode()):
            _ = translator(reader.locale)
            raise Page(403, _("This form has expired: go back, reload the page and try again."),
                       title=_("Not allowed"))
        return {k: v for k, v in data.items() if isinstance(v, str)}

    # -- signing in and out ------------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        async with self.reading() as session:
            reader = await self.reader(request, session)
        raise web.HTTPSeeOther(f"/web/c/{reader.community.slug}/")

    def _refused(self, request: web.Request, reason: str) -> Page:
        _ = translator(self._guess_locale(request))
        why = {"used": _("This sign-in link has already been used: each link opens one session, once."),
               "expired": _("This sign-in link has expired: links are valid for 15 minutes."),
               }.get(reason, _("This sign-in link is not valid."))
        return Page(403, why, _("Ask Steward for a new one: say `dashboard` to it in a direct message."),
                    title=_("Sign in"))

    async def signin_form(self, request: web.Request) -> web.StreamResponse:
        """The link's page: a button that signs in (GET spends nothing, so a link preview cannot use it up)."""
        async with self.reading() as session:
            state = await link_state(session, request.match_info["token"], now=self.now())
        if state != "ok":
            raise self._refused(request, state)
        lang = self._guess_locale(request)
        _ = translator(lang)
        return self.render(request, "message.html", title=_("Sign in"), lang=lang,
                           lines=[_("This link signs you in to Steward's pages for 12 hours.")],
                           form={"action": request.path, "label": _("Sign in")})

    async def signin(self, request: web.Request) -> web.StreamResponse:
        """Spend the link, open the session (cookie: HttpOnly, SameSite=Lax, Secure over https)."""
        async with self.steward.db.session() as session:
            try:
                opened = await redeem_link(session, request.match_info["token"], now=self.now())
            except LinkRefused as refused:
                raise self._refused(request, refused.reason) from None
            community = await session.get(Community, opened.session.community_id)
        assert community is not None
        response = web.HTTPSeeOther(f"/web/c/{community.slug}/")
        response.set_cookie(COOKIE, opened.cookie, path="/web/", httponly=True, samesite="Lax",
                            secure=self._secure_cookie(request), max_age=12 * 3600)
        _secure(response)
        raise response

    def _secure_cookie(self, request: web.Request) -> bool:
        return request.secure or self.steward.config.public_url.startswith("https://")

    async def signout(self, request: web.Request) -> web.StreamResponse:
        """End the session: its cookie opens nothing any more."""
        async with self.steward.db.session() as session:
            reader = await self.reader(request, session)
            await self.form(request, reader)
            await end_session(session, reader.cookie)
        _ = translator(reader.locale)
        CURRENT.set(None)
        response = self.render(request, "message.html", title=_("Signed out"), lang=reader.locale,
                               lines=[_("You are signed out. Ask Steward for a new link to come back.")])
        response.del_cookie(COOKIE, path="/web/")
        return response

    async def language(self, request: web.Request) -> web.StreamResponse:
        """Remember the reader's language for this session, then show the same page again."""
        async with self.steward.db.session() as session:
            reader = await self.reader(request, session)
            data = await self.form(request, reader)
            lang = normalise_locale(data.get("locale"))
            if lang is not None:
                await set_session_locale(session, reader.cookie, lang)
        back = data.get("next", "")
        raise web.HTTPSeeOther(back if back.startswith("/web/") and not back.startswith("//") else "/web/")


def _secure(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "text/html" or isinstance(response, web.HTTPException):
        response.headers.setdefault("Cache-Control", "no-store")


def parse_month_arg(text: str | None) -> date | None:
    """`2026-10` → 2026-10-01; None when absent or not a month."""
    from bot.errors import InputError
    from bot.features.digest import parse_month

    if not text:
        return None
    try:
        return parse_month(text)
    except InputError:
        return None


async def community_month(session: AsyncSession, community: Community, asked: str | None, now: datetime) -> date:
    """The month a page shows: the asked one when it has begun, else the default (`default_month`)."""
    month = parse_month_arg(asked)
    from app.web.figures import this_month

    if month is not None and month <= this_month(now, community.timezone):
        return month
    return await default_month(session, community, now)


__all__ = ["COOKIE", "Page", "Web", "community_month"]
