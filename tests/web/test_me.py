"""The `me` page's privacy controls take the one road: a confirmed form (POST with the session's CSRF token)
becomes the event the chat would make, handled by the very feature behind `opt out` and `forget me`."""

from __future__ import annotations

from bot.replies import Ephemeral
from storage.members import members_of_person
from storage.tombstones import is_tombstoned
from tests.web.conftest import Bot, ask_link, csrf_of, sign_in
from tests.web.seed import seed


async def test_opt_out_from_the_page(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UANA"))
    async with browser.get("/web/me") as page:
        html = await page.text()
    assert 'action="/web/me/opt-out"' in html and "<li>indexed</li>" in html
    async with browser.post("/web/me/opt-out", data={}) as refused:
        assert refused.status == 403
    async with bot[0].db.session() as s:
        assert not await is_tombstoned(s, "recording", "UANA")
    before = len(bot[1].sent)
    async with browser.post("/web/me/opt-out", data={"csrf": csrf_of(html)}) as done:
        assert done.status == 200 and done.url.path == "/web/me"
        assert "<li>opted out</li>" in await done.text()
    async with bot[0].db.session() as s:
        assert await is_tombstoned(s, "recording", "UANA")
    told = [r for r in bot[1].sent[before:] if isinstance(r, Ephemeral) and r.user == "UANA"]
    assert len(told) == 1 and "I won't index your messages or suggest you anymore" in str(told[0].text)


async def test_forget_me_from_the_page_after_a_confirmation(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UANA"))
    async with browser.get("/web/me/forget") as page:
        html = await page.text()
        assert page.status == 200 and "This cannot be undone." in html and 'action="/web/me/forget"' in html
    async with browser.post("/web/me/forget", data={"csrf": "not it"}) as refused:
        assert refused.status == 403
    async with bot[0].db.session() as s:
        assert len(await members_of_person(s, "recording", "UANA")) == 1  # nothing forgotten yet
    async with browser.post("/web/me/forget", data={"csrf": csrf_of(html)}) as done:
        assert done.status == 200 and "Done: I&#39;ve forgotten you." in await done.text()
        assert 'steward_session=""' in done.headers["Set-Cookie"]
    async with bot[0].db.session() as s:
        assert await members_of_person(s, "recording", "UANA") == []
        assert await is_tombstoned(s, "recording", "UANA")
    async with browser.get("/web/c/k8s/") as page:
        assert page.status == 401
