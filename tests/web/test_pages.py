"""What the pages show: the digest's own figures (one definition, bot/digest/report.py), each chart an inline SVG
beside a captioned table of its numbers, in English and French; the archive holds the chat digest's very text; the
portfolio sorts; rituals list meetups with agenda, attendance and the calendar address; `me` gives the record."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from sqlmodel import select

from app.cli_web import operator_link
from bot.digest.render import as_html, to_markdown
from bot.digest.report import build_digest
from storage.models import Community
from tests.web.conftest import NOW, Bot, ask_link, client_for, csrf_of, sign_in
from tests.web.seed import seed


async def _page(client, path: str) -> str:  # type: ignore[no-untyped-def]
    async with client.get(path) as page:
        assert page.status == 200, (path, await page.text())
        return await page.text()


def _row(html: str, caption: str, label: str) -> list[str]:
    """The cells of the row headed `label` in the table captioned `caption`."""
    table = html[html.index(caption):]
    table = table[:table.index("</table>")]
    found = re.search(rf'<tr><th scope="row">{re.escape(label)}</th>(.*?)</tr>', table)
    assert found is not None, table
    return re.findall(r"<td>(.*?)</td>", found.group(1))


async def test_the_health_page_shows_the_digests_figures_with_a_chart_and_a_table_each(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UANA"))
    html = await _page(browser, "/web/c/k8s/")
    assert "October 2026" in html and "<h2 id=\"stage\">Stage: potential</h2>" in html
    assert _row(html, "Active members, core and periphery", "Oct 2026") == ["6", "1", "5", "5", "16"]
    assert _row(html, "Active members, core and periphery", "Sep 2026") == ["1", "0", "1", "1", "1"]
    assert _row(html, "Questions asked in threads", "Oct 2026") == ["2", "1", "50%", "30 min", "2", "1"]
    assert _row(html, "Meetups held", "Helm clinic") == ["Oct 13, 2026", "3", "3"]
    assert _row(html, "Pulse surveys closed", "Oct 2026") == ["How useful?", "4.2", "5"]
    assert html.count('role="img"') == 4 and html.count("<caption>") == 4
    assert "<title>Active members: core and periphery</title>" in html
    assert "<title>core, Oct 2026: 1</title>" in html and "<title>periphery, Oct 2026: 5</title>" in html
    async with bot[0].db.session() as s:  # the very figures of the chat digest
        k8s = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        d = await build_digest(s, k8s, bot[0].config.community("k8s"), date(2026, 10, 1), now=NOW)
    assert (d.active, d.core, d.periphery, d.questions, d.answered) == (6, 1, 5, 2, 1)
    older = await _page(browser, "/web/c/k8s/?month=2026-09")
    assert "September 2026" in older and 'href="?month=2026-10"' in older
    assert "Sep 2026" in older and "Oct 2026" not in older  # its twelve months end with it


async def test_the_health_page_in_french(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UANA"))
    csrf = csrf_of(await _page(browser, "/web/c/k8s/"))
    await browser.post("/web/language", data={"csrf": csrf, "locale": "fr", "next": "/web/c/k8s/"})
    html = await _page(browser, "/web/c/k8s/")
    assert '<html lang="fr">' in html and "octobre 2026" in html and "Stade\u00a0: potentiel" in html
    assert _row(html, "Questions posées en fil", "oct. 2026") == ["2", "1", "50\xa0%", "30 min", "2", "1"]
    assert _row(html, "Sondages pouls clos", "oct. 2026") == ["How useful?", "4,2", "5"]


async def test_the_digest_archive_holds_the_chat_digest(bot: Bot) -> None:
    await seed(bot)
    client = await client_for(bot[0])
    try:
        await sign_in(client, await ask_link(bot, "USPONSOR"))
        archive = await _page(client, "/web/c/k8s/digests")
        assert '<a href="/web/c/k8s/digests/2026-10">October 2026</a>' in archive
        assert '<a href="/web/c/k8s/digests/2026-09">September 2026</a>' in archive
        page = await _page(client, "/web/c/k8s/digests/2026-10")
        async with bot[0].db.session() as s:
            k8s = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
            d = await build_digest(s, k8s, bot[0].config.community("k8s"), date(2026, 10, 1), now=NOW)
        chat = as_html(to_markdown(d, "en"), "", "en")
        body = chat.split("<body>\n", 1)[1].rsplit("\n</body>", 1)[0]
        assert body in page and "Active members: 6 (core 1, periphery 5" in page
        assert (await client.get("/web/c/k8s/digests/2027-01")).status == 404  # not begun
        csrf = csrf_of(archive)
        await client.post("/web/language", data={"csrf": csrf, "locale": "fr", "next": "/web/c/k8s/digests"})
        french = await _page(client, "/web/c/k8s/digests/2026-10")
        assert "<h1>Kubernetes CoP\u00a0: bilan d&#39;octobre 2026</h1>" in french  # "bilan octobre" before
    finally:
        await client.close()


async def test_the_portfolio_sorts_by_a_column(bot: Bot) -> None:
    await seed(bot)
    client = await client_for(bot[0])
    try:
        await sign_in(client, await ask_link(bot, "UBOTH"))  # sponsors both
        names = re.compile(r'<tr><th scope="row">(?:<a href="[^"]+">)?([^<]+)')
        by_name = names.findall(await _page(client, "/web/portfolio?sort=name"))
        by_active = names.findall(await _page(client, "/web/portfolio?sort=active"))
        assert by_name == ["Kubernetes CoP", "Ops guild"] and by_active == ["Kubernetes CoP", "Ops guild"]
        html = await _page(client, "/web/portfolio?sort=answered&month=2026-10")
        assert names.findall(html) == ["Kubernetes CoP", "Ops guild"] and "Portfolio: October 2026" in html
        assert '<a href="?sort=name&amp;month=2026-10">Community</a>' in html
        assert '<span aria-sort="descending">share answered</span>' in html
    finally:
        await client.close()


async def test_the_operator_link_opens_every_community_and_no_member_page(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    link = await operator_link(bot[0], "ops", None, "http://127.0.0.1:8080")
    assert await sign_in(browser, link.removeprefix("http://127.0.0.1:8080")) == "/web/c/ops/"
    html = await _page(browser, "/web/portfolio")
    assert "Kubernetes CoP" in html and "Ops guild" in html
    async with browser.get("/web/me") as me:
        assert me.status == 404


async def test_rituals_and_me(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UANA"))
    rituals = await _page(browser, "/web/c/k8s/rituals")
    assert re.search(r'<code>/ical/k8s/[\w-]+\.ics</code>', rituals)
    assert _row(rituals, "Past: meetups", "Helm clinic") == ["Oct 13, 2026, 4:00:00\u202fPM", "-", "3", "3"]
    me = await _page(browser, "/web/me")
    assert _row(me, "Your contribution record", "accepted") == ["1"], me
    assert "Messages: 10" in me  # the answer and nine tips (a command to Steward is not kept)
    async with browser.get("/web/me/record.csv") as record:
        assert record.status == 200 and record.headers["Content-Disposition"].startswith("attachment")
        lines = list(csv.DictReader(io.StringIO(await record.text())))
    assert [(r["member"], r["kind"]) for r in lines] == [("Ana", "accepted")]


async def test_a_finished_months_figures_are_computed_once_and_refreshed_in_the_background(
        bot: Bot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.web import figures
    from app.web.routes import Web

    await seed(bot)
    web = Web(bot[0], now=lambda: NOW)
    async with web.reading() as s:
        k8s = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        first = await web.cache.digest(s, bot[0].config, k8s, date(2026, 10, 1), NOW)
        assert await web.cache.digest(s, bot[0].config, k8s, date(2026, 10, 1), NOW) is first  # kept
        current = await web.cache.digest(s, bot[0].config, k8s, date(2026, 11, 1), NOW)
        assert await web.cache.digest(s, bot[0].config, k8s, date(2026, 11, 1), NOW) is not current  # not over
        monkeypatch.setattr(figures, "FRESH", 0.0)
        assert await web.cache.digest(s, bot[0].config, k8s, date(2026, 10, 1), NOW) is first  # served meanwhile
    while web.cache.tasks:
        await next(iter(web.cache.tasks))
    monkeypatch.setattr(figures, "FRESH", 3600.0)
    async with web.reading() as s:
        again = await web.cache.digest(s, bot[0].config, k8s, date(2026, 10, 1), NOW)
    assert again is not first and again == first
    web.cache.forget(k8s.id)
    assert web.cache.kept == {}


async def test_a_page_reads_without_waiting_for_the_bots_writers(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from sqlalchemy import text

    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UANA"))
    async with bot[0].db.session() as writing:  # an event being handled holds the write lock (SQLite: the turn)
        await writing.exec(text("UPDATE community SET name = name"))  # type: ignore[call-overload]
        async with asyncio.timeout(3):
            html = await _page(browser, "/web/c/k8s/")
    assert "Kubernetes CoP: community health" in html


async def test_what_people_typed_stays_text_on_every_page(bot: Bot) -> None:
    from sqlalchemy import update

    from storage.models import AgendaItem, Meetup, Member, Ritual, Survey

    await seed(bot)
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    async with bot[0].db.session() as s:
        await s.exec(update(Ritual).values(title="Helm " + evil))  # type: ignore[call-overload]
        await s.exec(update(Survey).values(title="Useful " + evil))  # type: ignore[call-overload]
        await s.exec(update(Member).where(Member.platform_user_id == "UANA")  # type: ignore[call-overload]
                     .values(display_name="Ana " + evil))
        await s.exec(update(Community).values(name="K8s " + evil))  # type: ignore[call-overload]
        meetup = (await s.exec(select(Meetup))).first()
        ana = (await s.exec(select(Member).where(Member.platform_user_id == "UANA"))).one()
        assert meetup is not None
        s.add(AgendaItem(meetup_id=meetup.id or 0, member_id=ana.id or 0, text="Talk " + evil))
    client = await client_for(bot[0])
    try:
        await sign_in(client, await ask_link(bot, "UCOORD"))
        for path in ("/web/c/k8s/", "/web/c/k8s/digests/2026-10", "/web/portfolio", "/web/c/k8s/rituals"):
            html = await _page(client, path)
            assert "<script>" not in html and "<img" not in html, path
            assert "&lt;script&gt;" in html, path
    finally:
        await client.close()


async def test_the_warm_up_computes_every_communitys_finished_months_once(bot: Bot) -> None:
    import asyncio

    from app.web.routes import Web

    await seed(bot)
    web = Web(bot[0], now=lambda: NOW)
    await web.warm()
    async with web.reading() as s:
        ids = {c.slug: c.id for c in (await s.exec(select(Community))).all()}
    assert sorted(web.cache.kept) == [(ids["k8s"], date(2026, 9, 1)), (ids["k8s"], date(2026, 10, 1)),
                                      (ids["ops"], date(2026, 10, 1))]  # from each one's first month on
    web.cache.forget()
    async with web.reading() as one, web.reading() as other:  # two readers at once: one computation
        k8s = (await one.exec(select(Community).where(Community.slug == "k8s"))).one()
        first, second = await asyncio.gather(
            web.cache.digest(one, bot[0].config, k8s, date(2026, 10, 1), NOW),
            web.cache.digest(other, bot[0].config, k8s, date(2026, 10, 1), NOW))
    assert first is second and web.cache.computing == {}
