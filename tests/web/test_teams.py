"""Kudos across teams: one figure in the digest (bot/digest/report.py `team_thanks`, from storage.digest `thanks`, each
thanks once), shown on the health page as a chart beside its table and a table per team, counts only, in English and
French; a team's name stays text; forgetting a member takes their team away."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from app.demo import ensure_demo
from bot.digest.render import to_markdown
from bot.digest.report import build_digest
from storage.db import Database
from storage.members import find_member
from storage.models import Community, Contribution, Member, Reaction
from storage.teams import set_team
from tests.events import command, pick
from tests.surveys.conftest import utc
from tests.web.conftest import NOW, Bot, ask_link, csrf_of, sign_in
from tests.web.seed import seed
from tests.web.test_pages import _page, _row

TEAMS = {"UANA": "Platform", "U0": "platform", "U2": "Platform", "UBOB": "Billing", "U1": "Billing"}


async def seed_teams(bot: Bot, teams: dict[str, str] = TEAMS) -> None:
    """The seeded October plus teams and kudos: a 🙏 that is also a kudos (one thanks), kudos said in words, a bot's
    and a self-thanks (neither counts).

    October's thanks: Bob, U0 and U1 🙏 Ana's answer (Bob also accepted it: still one), Ana +1 Bob's question,
    U2 thanks Ana in words, U3 (no team) thanks Bob in words; given 6, between known teams 5, across 3."""
    await seed(bot)
    async with bot[0].db.session() as s:
        k8s = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        people = {m.platform_user_id: m for m in (await s.exec(select(Member).where(
            Member.community_id == k8s.id))).all()}
        for uid, team in teams.items():
            await set_team(s, people[uid], team)
        ana, bob, robot = people["UANA"], people["UBOB"], people["UBOT"]
        pray = (await s.exec(select(Reaction).where(Reaction.member_id == bob.id, Reaction.emoji == "pray"))).one()
        answer = pray.message_id
        s.add(Contribution(community_id=k8s.id or 0, member_id=ana.id or 0, kind="thanked", message_id=answer,
                           giver_id=bob.id, at=utc(2026, 10, 2, 11), key="thanked:bob-pray"))  # the 🙏 as a kudos
        given = utc(2026, 10, 2, 12)
        s.add(Reaction(message_id=answer, member_id=robot.id or 0, emoji="pray", at=given))  # a bot thanks nobody
        s.add(Reaction(message_id=answer, member_id=ana.id or 0, emoji="pray", at=given))  # nor does one thank oneself
        s.add(Contribution(community_id=k8s.id or 0, member_id=ana.id or 0, kind="thanked", giver_id=people["U2"].id,
                           at=utc(2026, 10, 16), key="thanked:u2-words", note="for the runbook"))
        s.add(Contribution(community_id=k8s.id or 0, member_id=bob.id or 0, kind="thanked", giver_id=people["U3"].id,
                           at=utc(2026, 10, 17), key="thanked:u3-words"))


async def _digest(bot: Bot, month: date = date(2026, 10, 1)):  # type: ignore[no-untyped-def]
    async with bot[0].db.session() as s:
        k8s = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        return await build_digest(s, k8s, bot[0].config.community("k8s"), month, now=NOW)


async def test_the_figure_counts_each_thanks_once_by_team(bot: Bot) -> None:
    await seed_teams(bot)
    d = await _digest(bot)
    t = d.teams
    assert (t.given, t.known, t.across, t.with_team, t.unlisted) == (6, 5, 3, 5, 1)
    assert [(x.team, x.members, x.given, x.received, x.given_across, x.received_across) for x in t.teams] == [
        ("Platform", 3, 3, 4, 1, 2)]  # "platform" took the community's spelling; Billing has 2 members: not listed
    assert max(s.thanks for s in d.stories) == 3  # the stories' count is unchanged: Bob's 🙏, kudos and ✅ are one
    september = await _digest(bot, date(2026, 9, 1))
    assert (september.teams.given, september.teams.known, september.teams.across) == (0, 0, 0)
    text = str(to_markdown(d, "en")).replace("\ue000", "").replace("\ue001", "")  # the spans' markers
    assert "- Thanks across teams: 3 of 5 between members whose teams are known (60%)." in text


async def test_the_health_page_shows_kudos_across_teams_in_english_and_french(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed_teams(bot)
    await sign_in(browser, await ask_link(bot, "UCOORD"))
    html = await _page(browser, "/web/c/k8s/")
    assert '<h2 id="teams">Kudos across teams</h2>' in html
    assert _row(html, "Thanks given by month", "Oct 2026") == ["6", "5", "3", "60%"]
    assert _row(html, "Thanks given by month", "Sep 2026") == ["0", "0", "0", "-"]
    assert _row(html, "Each team in October 2026", "Platform") == ["3", "3", "4", "1", "2"]
    assert "Billing" not in html  # two members: its counts would be nearly a person's
    assert "1 team has fewer than 3 members" in html
    assert "Over these months, 3 of 5 thanks between members whose teams are known went across teams (60%)." in html
    assert "<title>across teams, Oct 2026: 3</title>" in html
    assert html.count('role="img"') == 5 and html.count("<caption>") == 6
    for name in ("Ana", "Bob", "UANA", "UBOB", "runbook"):
        assert name not in html.split('<section aria-labelledby="teams">')[1].split("</section>")[0]
    csrf = csrf_of(html)
    await browser.post("/web/language", data={"csrf": csrf, "locale": "fr", "next": "/web/c/k8s/"})
    fr = await _page(browser, "/web/c/k8s/")
    assert '<h2 id="teams">Remerciements entre équipes</h2>' in fr
    assert _row(fr, "Remerciements donnés par mois", "oct. 2026") == ["6", "5", "3", "60\xa0%"]
    assert _row(fr, "Chaque équipe en octobre 2026", "Platform") == ["3", "3", "4", "1", "2"]
    assert "Sur ces mois, 3\u00a0remerciements sur 5" in fr or "Sur ces mois, 3 remerciements sur 5" in fr


async def test_without_teams_the_page_says_how_members_give_theirs(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    await seed(bot)
    await sign_in(browser, await ask_link(bot, "UANA"))
    html = await _page(browser, "/web/c/k8s/")
    assert "Nobody has said which team they work in yet" in html
    assert "Members say `team Payments` to Steward in chat (`no team` removes it)" in html
    assert "`steward teams import teams.csv --community k8s`" in html
    assert html.count('role="img"') == 4  # no chart of nothing
    csrf = csrf_of(html)
    await browser.post("/web/language", data={"csrf": csrf, "locale": "fr", "next": "/web/c/k8s/"})
    fr = await _page(browser, "/web/c/k8s/")
    assert "Les membres disent `mon équipe Paiements` à Steward" in fr


async def test_a_team_name_with_markup_stays_text(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    evil = '<b onmouseover=alert(1)>Ops</b> & "co"'
    await seed_teams(bot, {"UANA": evil, "U0": evil, "U2": evil, "UBOB": "Billing"})
    await sign_in(browser, await ask_link(bot, "UANA"))
    html = await _page(browser, "/web/c/k8s/")
    assert "<b onmouseover" not in html
    assert "&lt;b onmouseover=alert(1)&gt;Ops&lt;/b&gt; &amp; &#34;co&#34;" in html
    me = await _page(browser, "/web/me")
    assert "<b onmouseover" not in me and "Team: &lt;b onmouseover=alert(1)&gt;Ops&lt;/b&gt;" in me


async def test_forgetting_a_member_takes_their_team_away(bot: Bot) -> None:
    await seed_teams(bot)
    steward, platform = bot
    await platform.inject(command("forget me", user="U0"))
    await platform.inject(pick("forget:confirm", "yes", user="U0"))
    async with steward.db.session() as s:
        teams = {m.platform_user_id: m.team for m in (await s.exec(select(Member))).all()}
        k8s = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        assert await find_member(s, k8s.id or 0, "recording", "U0") is None
    forgotten = [uid for uid in teams if uid.startswith("forgotten:")]
    assert len(forgotten) == 1 and teams[forgotten[0]] is None
    assert sorted(t for t in teams.values() if t) == ["Billing", "Billing", "Platform", "Platform"]
    d = await _digest(bot)
    assert (d.teams.given, d.teams.with_team, d.teams.teams) == (5, 4, ())  # U0's thanks went with them


async def test_the_demo_members_have_teams_and_thank_across_them(db: Database) -> None:
    now = datetime(2026, 11, 5, 12, tzinfo=UTC)
    await ensure_demo(db, now=now)
    async with db.session() as s:
        demo = (await s.exec(select(Community).where(Community.slug == "demo"))).one()
        d = await build_digest(s, demo, None, date(2026, 10, 1), now=now)
    assert d.teams.with_team == 8 and d.teams.unlisted == 1  # Observability has two members
    assert [t.team for t in d.teams.teams] == ["Cloud", "Platform"]
    assert 0 < d.teams.across <= d.teams.known <= d.teams.given
    await ensure_demo(db, now=now)  # found again: the teams stay as they are
    async with db.session() as s:
        assert len([m for m in (await s.exec(select(Member))).all() if m.team]) == 8


async def test_a_team_changed_in_chat_shows_on_the_next_page_view(bot: Bot, browser) -> None:  # type: ignore[no-untyped-def]
    """October is finished and its digest kept; U1 then says `team Platform`: the next view counts U1 in Platform."""
    await seed_teams(bot)
    await sign_in(browser, await ask_link(bot, "UCOORD"))
    html = await _page(browser, "/web/c/k8s/")
    assert _row(html, "Each team in October 2026", "Platform") == ["3", "3", "4", "1", "2"]
    await bot[1].inject(command("team Platform", user="U1"))
    html = await _page(browser, "/web/c/k8s/")
    # U1, who 🙏 Ana's answer, is now in Platform: 4 members, 4 given, and that thanks no longer crosses teams
    assert _row(html, "Each team in October 2026", "Platform") == ["4", "4", "4", "1", "1"]
