"""The sponsor digest: a busy month and an empty one, the chart, the command, the monthly ritual, the CLI."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from app.cli_digest import render_digest
from bot.digest.chart import render_chart
from bot.digest.render import markdown_file, to_html
from bot.digest.report import MeetupLine, build_digest
from bot.features.ritual_common import schedule_of
from bot.i18n import translator
from bot.replies import DirectMessage
from rituals.jobs import fire_ritual
from rituals.setup import sync_config_rituals
from storage.members import ensure_member
from storage.models import (
    Channel,
    Community,
    Contribution,
    Meetup,
    MeetupRsvp,
    Message,
    Question,
    Reaction,
    Ritual,
    SurveyAnswer,
)
from storage.preferences import set_quotes
from storage.surveys import close, create_survey
from tests.events import command
from tests.surveys.conftest import SPONSOR, Bot, utc

_ = translator("en")


async def _seed(bot: Bot) -> None:
    """October 2026 in k8s: a core member, question threads, thanks, a routed question, a meetup, a survey."""
    steward, _platform = bot
    async with steward.db.session() as s:
        community = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        channel = (await s.exec(select(Channel))).one()
        cid, chid = community.id or 0, channel.id or 0
        ana = await ensure_member(s, cid, "recording", "UANA", display_name="Ana")
        bob = await ensure_member(s, cid, "recording", "UBOB", display_name="Bob")
        robot = await ensure_member(s, cid, "recording", "UBOT", is_bot=True)
        others = [await ensure_member(s, cid, "recording", f"U{i}") for i in range(4)]
        await set_quotes(s, ana.id or 0, True)
        n = iter(range(1, 1000))

        def post(author: int, at: datetime, text: str, thread: str | None = None) -> Message:
            msg = Message(community_id=cid, channel_id=chid, author_id=author, platform_id=f"m{next(n)}",
                          thread_id=thread, text=text, posted_at=at)
            s.add(msg)
            return msg

        post(bob.id or 0, utc(2026, 9, 20, 9), "hello from september")
        q1 = post(bob.id or 0, utc(2026, 10, 2, 9), "How do I upgrade Helm charts safely? ")
        q2 = post(bob.id or 0, utc(2026, 10, 3, 9), "Anyone tried Argo rollouts?")
        await s.flush()
        answer = post(ana.id or 0, utc(2026, 10, 2, 9, 30), "Use helm diff first, then --atomic.", q1.platform_id)
        for day in range(9):
            post(ana.id or 0, utc(2026, 10, 5 + day, 12), f"tip {day}")
        post(robot.id or 0, utc(2026, 10, 6, 12), "beep")
        for i, member in enumerate(others):
            post(member.id or 0, utc(2026, 10, 10 + i, 8), "thanks all")
        await s.flush()
        for member in (bob, *others[:2]):
            s.add(Reaction(message_id=answer.id or 0, member_id=member.id or 0, emoji="pray",
                           at=utc(2026, 10, 2, 11)))
        s.add(Reaction(message_id=q2.id or 0, member_id=ana.id or 0, emoji="+1", at=utc(2026, 10, 3, 10)))
        s.add(Contribution(community_id=cid, member_id=ana.id or 0, kind="accepted", message_id=answer.id,
                           at=utc(2026, 10, 2, 10)))
        s.add(Question(community_id=cid, asker_id=bob.id or 0, platform="recording", channel="C1", thread="t1",
                       text="who knows helm?", asked_at=utc(2026, 10, 4), answered_at=utc(2026, 10, 4, 2)))
        s.add(Question(community_id=cid, asker_id=bob.id or 0, platform="recording", channel="C1", thread="t2",
                       text="who knows argo?", asked_at=utc(2026, 10, 5)))
        ritual = Ritual(community_id=cid, kind="meetup", title="Helm clinic", rrule="FREQ=MONTHLY",
                        dtstart="2026-01-13T16:00:00", timezone="UTC", status="active")
        s.add(ritual)
        await s.flush()
        meetup = Meetup(ritual_id=ritual.id or 0, starts_at=utc(2026, 10, 13, 16))
        s.add(meetup)
        await s.flush()
        for member in (ana, bob, others[0]):
            s.add(MeetupRsvp(meetup_id=meetup.id or 0, member_id=member.id or 0, attended=True))
        survey = await create_survey(s, community_id=cid, title="How useful?", platform="recording", channel="C1",
                                     questions='[{"text": "How useful?", "kind": "scale", "options": '
                                               '[["1","1"],["2","2"],["3","3"],["4","4"],["5","5"]]}]',
                                     closes_at=utc(2026, 10, 20), remind_at=None, opened_at=utc(2026, 10, 17))
        for i, value in enumerate(["4", "4", "5", "4", "4"]):
            s.add(SurveyAnswer(survey_id=survey.id or 0, question=0, token=f"t{i}", value=value))
        close(survey, utc(2026, 10, 20))


async def _digest(bot: Bot, month: date):  # type: ignore[no-untyped-def]
    steward, _platform = bot
    async with steward.db.session() as s:
        community = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        return await build_digest(s, community, steward.config.community("k8s"), month, _)


async def test_a_busy_month(survey_bot: Bot) -> None:
    await _seed(survey_bot)
    d = await _digest(survey_bot, date(2026, 10, 15))
    assert (d.active, d.core, d.periphery) == (6, 1, 5)  # Ana is core (10 messages + 1 contribution); no bot
    assert d.newcomers == 5  # everyone but Bob (he wrote in September) and the bot
    assert (d.questions, d.answered, d.median_first_answer) == (2, 1, timedelta(minutes=30))
    assert (d.routed, d.routed_answered) == (2, 1)
    assert d.meetups == (MeetupLine("Helm clinic", date(2026, 10, 13), attended=3, going=3),)
    assert d.surveys == (("How useful?", 4.2, 5),)
    assert [h.month for h in d.history] == [date(2026, m, 1) for m in range(5, 11)]
    assert d.history[-1].pulse == 4.2 and d.history[-2].messages == 1 and d.history[-1].active == d.active
    top, second = d.stories
    # Thanked by Bob, U0 and U1 (🙏); Bob's ✅ (an accepted answer) is Bob again: 3 people, each once.
    assert top.thanks == 3 and top.quote == "Use helm diff first, then --atomic." and top.helper == "Ana"
    assert top.answer and top.asker is None and top.question is None  # Bob did not allow quoting: no name, no words
    assert top.topics == "upgrade, charts, safely" and top.message == "m2"  # the link opens the question's thread
    assert second.quote is None and second.helper is None and not second.answer  # Bob's own question, +1 by Ana
    text = markdown_file(d, "en")
    assert "Active members: 6 (core 1, periphery 5" in text and "median time to a first answer: 30 min" in text
    assert "“How useful?”: average 4.2 (5 answers)" in text
    assert "Helm clinic, Tue, October 13: 3 attended (3 said they would come)" in text
    assert "a question about upgrade, charts, safely: Ana helped another member; thanked by 3 people. " \
        "“Use helm diff first, then --atomic.”" in text
    assert "steward://" not in text  # a file has web links only, and the recording platform has none
    assert "Bob" not in text and "Stage: potential" in text and "- 6 active members this month (peak 6" in text
    page = to_html(d, "en")
    assert page.startswith("<!DOCTYPE html>") and "<li>Newcomers: 5</li>" in page


async def test_a_thanks_counts_in_the_month_it_was_given_once(survey_bot: Bot) -> None:
    """A 🙏 on November 2 on an answer of October 30 (a reaction and its kudos, as the live flow stores them)
    is one thanks of November, none of October."""
    steward, _platform = survey_bot
    async with steward.db.session() as s:
        community = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        channel = (await s.exec(select(Channel))).one()
        cid = community.id or 0
        ana = await ensure_member(s, cid, "recording", "UANA", display_name="Ana")
        bob = await ensure_member(s, cid, "recording", "UBOB", display_name="Bob")
        answer = Message(community_id=cid, channel_id=channel.id or 0, author_id=ana.id or 0, platform_id="late",
                         text="Pin the chart version.", posted_at=utc(2026, 10, 30, 9))
        s.add(answer)
        await s.flush()
        given = utc(2026, 11, 2, 8)
        s.add(Reaction(message_id=answer.id or 0, member_id=bob.id or 0, emoji="pray", at=given))
        s.add(Contribution(community_id=cid, member_id=ana.id or 0, kind="thanked", message_id=answer.id,
                           giver_id=bob.id, key=f"thanked:{ana.id}:{bob.id}:r:late", at=given))
    october = await _digest(survey_bot, date(2026, 10, 15))
    november = await _digest(survey_bot, date(2026, 11, 15))
    assert [story.thanks for story in october.stories] == []
    assert [(story.message, story.thanks) for story in november.stories] == [("late", 1)]


async def test_an_empty_month_has_no_division_by_zero(survey_bot: Bot) -> None:
    d = await _digest(survey_bot, date(2025, 1, 1))
    assert (d.active, d.questions, d.median_first_answer, d.stories, d.surveys) == (0, 0, None, (), ())
    text = markdown_file(d, "en")
    assert "answered: 0 (-)" in text and "No meetup this month" in text and "Stage: potential" in text
    assert markdown_file(d, "fr").startswith("**Kubernetes CoP\u00a0: bilan de janvier 2025**")
    _check_png(render_chart(d.history, _))


def _check_png(data: bytes) -> None:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (800, 500)


async def test_chart_of_a_busy_month_is_a_valid_png(survey_bot: Bot) -> None:
    await _seed(survey_bot)
    _check_png(render_chart((await _digest(survey_bot, date(2026, 10, 1))).history, _))


async def test_sponsors_get_it_on_demand_members_do_not(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    await _seed(survey_bot)
    await platform.inject(command("digest 2026-10", user=SPONSOR))
    dm = next(r for r in platform.sent if isinstance(r, DirectMessage))
    assert dm.user == SPONSOR and "digest for October 2026" in dm.text and dm.image is not None
    _check_png(dm.image)
    assert "direct message" in platform.texts()[-1]
    await platform.inject(command("digest 2026-13", user=SPONSOR))
    assert "`digest 2026-10`" in platform.texts()[-1]
    await platform.inject(command("digest", user="UANA"))
    assert "Only this community's sponsors" in platform.texts()[-1]


async def test_the_monthly_ritual_sends_last_month_to_each_sponsor(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    await sync_config_rituals(steward.db, steward.config)
    async with steward.db.session() as s:
        ritual = (await s.exec(select(Ritual).where(Ritual.kind == "digest"))).one()
    at = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    assert at.day == 1
    assert await fire_ritual(ritual.id or 0, at, now=at) == 1
    dm = platform.sent[-1]
    assert isinstance(dm, DirectMessage) and dm.user == SPONSOR and dm.image
    last_month = (at.replace(day=1) - timedelta(days=1)).strftime("%B %Y")
    assert f"digest for {last_month}" in dm.text


async def test_the_cli_renders_md_html_and_png(survey_bot: Bot, tmp_path: Path) -> None:
    steward, _platform = survey_bot
    await _seed(survey_bot)
    for fmt in ("md", "html", "png"):
        out = tmp_path / f"digest.{fmt}"
        assert await render_digest(steward, "k8s", "2026-10", fmt, out, None) == 0
        assert out.stat().st_size > 100
    _check_png((tmp_path / "digest.png").read_bytes())
    assert "Helm clinic" in (tmp_path / "digest.md").read_text()
    assert await render_digest(steward, "k8s", "October", "md", None, None) == 2
    assert await render_digest(steward, "nope", "2026-10", "md", None, None) == 2


async def test_question_threads_look_each_thread_up_even_without_planner_statistics(bot: Bot) -> None:
    """Without `sqlite_stat1` (a database grown from live events is never analyzed), SQLite answered a bare
    min(posted_at) by walking ix_message_posted from the community's first message for every question: 11 s for
    one week of a 50,000-message community. The first answer must be found through the thread's index."""
    steward, _platform = bot
    if steward.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner")
    from storage.digest import question_threads_statement

    stmt = question_threads_statement(1, utc(2026, 10, 1), utc(2026, 11, 1))
    async with steward.db.engine.connect() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")
        sql = str(stmt.compile(conn.engine, compile_kwargs={"literal_binds": True}))
        plan = [row[-1] for row in (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()]
    lookup = plan[plan.index(next(line for line in plan if "SCALAR SUBQUERY" in line)) + 1]
    assert "ix_message_thread" in lookup, plan
