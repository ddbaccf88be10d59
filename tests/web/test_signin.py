"""Sign-in without passwords: `dashboard` in chat sends a one-time link; the link opens one session, once, within
15 minutes; the cookie is HttpOnly and SameSite (Secure over https); forms need the session's CSRF token; sessions
expire and signing out ends them. Only hashes of the secrets are stored."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlmodel import select

from bot.replies import DirectMessage
from storage.communities import get_community
from storage.members import find_member
from storage.models import WebLink, WebSession
from storage.web import issue_link
from tests.events import command
from tests.web.conftest import NOW, Bot, ask_link, client_for, csrf_of, sign_in


async def test_a_member_signs_in_with_the_link_steward_sends_and_the_link_works_once(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    path = await ask_link(bot, "UANA")
    assert "I sent you a link to the web pages in a direct message." in bot[1].texts()[-1]
    async with browser.get(path) as page:  # a GET (a link preview) spends nothing
        assert page.status == 200
    async with browser.post(path, allow_redirects=False) as spent:
        assert spent.status == 303 and spent.headers["Location"] == "/web/c/k8s/"
        cookie = spent.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/web/" in cookie and "Secure" not in cookie
    async with browser.get("/web/c/k8s/") as health:
        html = await health.text()
        assert health.status == 200 and '<html lang="en">' in html
        assert "<h1>Kubernetes CoP: community health</h1>" in html
        assert health.headers["Referrer-Policy"] == "no-referrer" and "default-src 'none'" in \
            health.headers["Content-Security-Policy"]
    other = await client_for(bot[0])
    try:
        for method in (other.get, other.post):
            async with method(path, allow_redirects=False) as again:
                assert again.status == 403
                assert "This sign-in link has already been used" in await again.text()
        async with other.get("/web/c/k8s/") as page:
            assert page.status == 401 and "say `dashboard` to it" in await page.text()
    finally:
        await other.close()


async def test_only_hashes_of_links_and_cookies_are_stored(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    path = await ask_link(bot, "UANA")
    await sign_in(browser, path)
    token = path.rsplit("/", 1)[1]
    cookie = next(c.value for c in browser.session.cookie_jar if c.key == "steward_session")
    async with bot[0].db.session() as s:
        links = (await s.exec(select(WebLink))).all()
        sessions = (await s.exec(select(WebSession))).all()
    assert len(links) == 1 and len(sessions) == 1
    stored = [*(str(v) for row in links for v in row.model_dump().values()),
              *(str(v) for row in sessions for v in row.model_dump().values())]
    assert not any(token in v or cookie in v for v in stored)


async def test_an_expired_an_unknown_or_a_used_link_is_refused_with_a_clear_page(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await bot[1].inject(command("my data", user="UANA"))
    await ask_link(bot, "UANA")  # Ana's row is kept from now on
    async with bot[0].db.session() as s:
        community = await get_community(s, "k8s")
        assert community is not None and community.id is not None
        member = await find_member(s, community.id, "recording", "UANA")
        assert member is not None and member.id is not None
        old = await issue_link(s, community.id, member.id, now=NOW - timedelta(minutes=16))
        recent = await issue_link(s, community.id, member.id, now=NOW - timedelta(minutes=14))
    for method in (browser.get, browser.post):
        async with method(f"/web/signin/{old}", allow_redirects=False) as page:
            assert page.status == 403 and "This sign-in link has expired: links are valid for 15 minutes." in \
                await page.text()
        async with method("/web/signin/nothing-like-a-token", allow_redirects=False) as page:
            assert page.status == 403 and "This sign-in link is not valid." in await page.text()
    assert await sign_in(browser, f"/web/signin/{recent}") == "/web/c/k8s/"


async def test_a_session_expires_and_signing_out_ends_it(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, await ask_link(bot, "UANA"))
    cookie = next(c.value for c in browser.session.cookie_jar if c.key == "steward_session")
    later = await client_for(bot[0], NOW + timedelta(hours=13))
    try:
        later.session.cookie_jar.update_cookies({"steward_session": cookie})
        async with later.get("/web/c/k8s/") as page:
            assert page.status == 401
    finally:
        await later.close()
    async with browser.get("/web/c/k8s/") as page:
        csrf = csrf_of(await page.text())
    async with browser.post("/web/signout", data={"csrf": "wrong"}) as refused:
        assert refused.status == 403
    async with browser.post("/web/signout", data={"csrf": csrf}) as out:
        assert out.status == 200 and "You are signed out." in await out.text()
    replay = await client_for(bot[0])
    try:
        replay.session.cookie_jar.update_cookies({"steward_session": cookie})
        async with replay.get("/web/c/k8s/") as page:
            assert page.status == 401
    finally:
        await replay.close()


async def test_the_language_is_the_readers_choice_kept_in_the_session_and_forms_need_the_csrf_token(
        bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, await ask_link(bot, "UANA"))
    async with browser.get("/web/c/k8s/") as page:
        csrf = csrf_of(await page.text())
    async with browser.post("/web/language", data={"locale": "fr", "next": "/web/c/k8s/"}) as refused:
        assert refused.status == 403 and "This form has expired" in await refused.text()
    async with browser.post("/web/language", data={"locale": "fr", "next": "/web/c/k8s/", "csrf": csrf},
                            allow_redirects=False) as switched:
        assert switched.status == 303 and switched.headers["Location"] == "/web/c/k8s/"
    async with browser.get("/web/c/k8s/") as page:
        html = await page.text()
        assert '<html lang="fr">' in html and "Kubernetes CoP\u00a0: santé de la communauté" in html
        assert "Se déconnecter" in html and "octobre 2026" in html
    async with browser.post("/web/language", data={"locale": "en", "next": "https://elsewhere.example/", "csrf": csrf},
                            allow_redirects=False) as switched:
        assert switched.headers["Location"] == "/web/"  # never sent to another site


async def test_a_cookie_is_secure_when_steward_is_reached_over_https(bot: Bot) -> None:
    steward = bot[0]
    steward.config = dataclasses.replace(steward.config, public_url="https://steward.example.org")
    path = await ask_link(bot, "UANA")
    dm = next(r for r in reversed(bot[1].sent) if isinstance(r, DirectMessage))
    assert "https://steward.example.org/web/signin/" in str(dm.text)
    client = await client_for(steward)
    try:
        async with client.post(path, allow_redirects=False) as spent:
            assert "Secure" in spent.headers["Set-Cookie"]
    finally:
        await client.close()


async def test_dashboard_in_french(bot: Bot) -> None:
    before = len(bot[1].sent)
    await bot[1].inject(command("tableau de bord", user="UANA"))
    dm = next(r for r in bot[1].sent[before:] if isinstance(r, DirectMessage))
    assert "valable 15 minutes et une seule fois" in str(dm.text) and "/web/signin/" in str(dm.text)
