"""The web pages keep chat's privacy rules: a member sees their own page and the community's public figures, not
a coordinator's or sponsor's view; no page shows another community's figures (its address answers as an unknown
one); no survey result below the anonymity threshold, never an answer; names only where the chat digest names
people (members who allow quoting); forgetting a member ends their sessions and links."""

from __future__ import annotations

import re

from sqlmodel import select

from storage.models import Community, SurveyAnswer, WebLink, WebSession
from storage.surveys import close, create_survey
from tests.events import command, pick
from tests.surveys.conftest import utc
from tests.web.conftest import Bot, ask_link, client_for, sign_in
from tests.web.seed import seed

MEAN_OF_FOUR = re.compile(r"(>|: )1\.5\b")  # as a figure: a cell, a label, a bar's title
SCALE = ('[{"text": "How safe do you feel?", "kind": "scale", '
         '"options": [["1","1"],["2","2"],["3","3"],["4","4"],["5","5"]]}]')


async def _status(client, path: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    async with client.get(path, allow_redirects=False) as page:
        return page.status, await page.text()


async def test_a_member_cannot_open_the_coordinators_and_sponsors_views(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UANA"))
    for path in ("/web/c/k8s/digests", "/web/c/k8s/digests/2026-10", "/web/portfolio"):
        status, html = await _status(browser, path)
        assert status == 403, path
        assert "Only" in html and "Helm" not in html
    status, html = await _status(browser, "/web/c/k8s/")
    assert status == 200 and "Digest archive" not in html and "Portfolio" not in html  # not offered either
    coordinator = await client_for(bot[0])
    try:
        await sign_in(coordinator, await ask_link(bot, "UCOORD"))
        for path in ("/web/c/k8s/digests", "/web/c/k8s/digests/2026-10", "/web/portfolio"):
            assert (await _status(coordinator, path))[0] == 200, path
    finally:
        await coordinator.close()


async def test_pages_and_links_never_cross_communities(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UCOORD"))  # k8s's coordinator
    for path in ("/web/c/ops/", "/web/c/ops/digests", "/web/c/ops/digests/2026-10", "/web/c/ops/rituals"):
        status, html = await _status(browser, path)
        unknown, nothing = await _status(browser, path.replace("ops", "nowhere"))
        assert status == unknown == 404 and html == nothing.replace("nowhere", "ops"), path  # the same answer
    status, html = await _status(browser, "/web/portfolio")
    assert status == 200 and "Kubernetes CoP" in html and "Ops guild" not in html
    ops = await client_for(bot[0])
    try:  # a link asked in ops's channel opens ops, and only ops, even for a sponsor of both
        assert await sign_in(ops, await ask_link(bot, "UBOTH", channel="C2")) == "/web/c/ops/"
        assert (await _status(ops, "/web/c/k8s/"))[0] == 404
        status, html = await _status(ops, "/web/portfolio")
        assert status == 200 and "Kubernetes CoP" in html and "Ops guild" in html
        assert 'href="/web/c/ops/"' in html and 'href="/web/c/k8s/"' not in html  # figures, not a way in
    finally:
        await ops.close()


async def test_no_survey_result_below_the_threshold_and_never_an_answer(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)  # "How useful?": 5 answers (the threshold), average 4.2
    async with bot[0].db.session() as s:
        k8s = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        few = await create_survey(s, community_id=k8s.id or 0, title="Team safety", platform="recording",
                                  channel="C1", questions=SCALE, closes_at=utc(2026, 10, 25), remind_at=None,
                                  opened_at=utc(2026, 10, 21))
        for i, value in enumerate(["1", "2", "1", "2"]):  # four: one short of the threshold
            s.add(SurveyAnswer(survey_id=few.id or 0, question=0, token=f"few{i}", value=value))
        close(few, utc(2026, 10, 25))
    for user in ("UANA", "UCOORD", "USPONSOR"):
        client = await client_for(bot[0])
        try:
            await sign_in(client, await ask_link(bot, user))
            status, html = await _status(client, "/web/c/k8s/")
            assert status == 200
            assert "<td>How useful?</td><td>4.2</td><td>5</td>" in html
            assert "<td>Team safety</td><td>too few answers to show</td><td>4</td>" in html
            found = MEAN_OF_FOUR.search(html)  # the mean of four answers would give them away
            assert found is None, html[found.start() - 150:found.end() + 50]
            if user != "UANA":
                _code, digest = await _status(client, "/web/c/k8s/digests/2026-10")
                assert "too few answers to show (4)" in digest and not MEAN_OF_FOUR.search(digest)
        finally:
            await client.close()


async def test_names_only_where_the_chat_digest_shows_them(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)  # Ana allows quoting, Bob does not
    await sign_in(browser, await ask_link(bot, "UCOORD"))
    status, digest = await _status(browser, "/web/c/k8s/digests/2026-10")
    assert status == 200 and "Ana helped another member" in digest and "Bob" not in digest
    _s, health = await _status(browser, "/web/c/k8s/")
    assert "Ana" not in health and "Bob" not in health  # the health page is figures only


async def test_forgetting_a_member_ends_their_sessions_and_spends_their_links(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, await ask_link(bot, "UANA"))
    await ask_link(bot, "UANA")  # a second link, not used yet
    await ask_link(bot, "UBOB")
    await bot[1].inject(command("forget me", user="UANA"))
    await bot[1].inject(pick("forget:confirm", "yes", user="UANA"))
    assert (await _status(browser, "/web/c/k8s/"))[0] == 401
    async with bot[0].db.session() as s:
        links = (await s.exec(select(WebLink))).all()
        sessions = (await s.exec(select(WebSession))).all()
    assert len(links) == 1 and not sessions  # only Bob's link is left
