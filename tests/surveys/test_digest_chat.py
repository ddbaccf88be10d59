"""A digest worth forwarding, asked for in chat: one definition of each figure, thanks counted once, stories that
say what happened, meetups with their dates, any past month, French as the French read it, and the portfolio."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.events import ReactionAdded, Sender
from bot.features import build_router
from bot.replies import DirectMessage
from storage.members import ensure_member
from storage.models import Channel, Community, Contribution, Meetup, MeetupRsvp, Message, Ritual
from tests.events import command, message
from tests.surveys.conftest import SPONSOR, Bot, utc

NBSP = "\u00a0"


def _react(message_id: str, emoji: str, user: str) -> ReactionAdded:
    return ReactionAdded(event_id=f"react-{user}-{emoji}-{message_id}", platform="recording", channel="C1",
                         sender=Sender(id=user), message_id=message_id, emoji=emoji)


async def _digest_dm(bot: Bot, month: str, user: str = SPONSOR, form: str = "digest") -> DirectMessage:
    _steward, platform = bot
    before = len(platform.sent)
    await platform.inject(command(f"{form} {month}", user=user))
    dms = [r for r in platform.sent[before:] if isinstance(r, DirectMessage)]
    assert dms, platform.texts()[before:]
    return dms[-1]


async def test_a_thanks_is_counted_once_and_the_story_says_who_helped_whom(survey_bot: Bot) -> None:
    """Live: Bob asks, Ana answers, Bob thanks her with 🙏 and accepts with ✅ — one person thanked her once."""
    _steward, platform = survey_bot
    question = message("How do I upgrade Helm charts safely?", user="UBOB")
    await platform.inject(question)
    answer = message("Use helm diff first, then --atomic.", user="UANA", thread=question.message_id)
    await platform.inject(answer)
    await platform.inject(_react(answer.message_id, "pray", "UBOB"))
    await platform.inject(_react(answer.message_id, "white_check_mark", "UBOB"))
    await platform.inject(command("quotes on", user="UANA"))
    dm = await _digest_dm(survey_bot, f"{datetime.now(UTC):%Y-%m}")
    assert "thanked by 1 person." in dm.text and "2 thanks" not in dm.text and "4 thanks" not in dm.text
    assert "Uana helped another member" in dm.text  # Bob allows no quoting: neither his name nor his words
    assert "“Use helm diff first, then --atomic.”" in dm.text  # Ana allows quoting
    assert "How do I upgrade" not in dm.text and "a question about upgrade, charts, safely" in dm.text
    assert f"](steward://message/C1/{question.message_id})" in dm.text  # the thread, read on its own platform

    await platform.inject(command("quotes on", user="UBOB"))
    dm = await _digest_dm(survey_bot, f"{datetime.now(UTC):%Y-%m}")
    assert "[How do I upgrade Helm charts safely?](" in dm.text and "Uana helped Ubob; thanked by 1 person." in dm.text


async def _seed_october(bot: Bot) -> None:
    """October 2026: three members who only contributed (no message), a meetup held twice the same evening
    (an orphan row), one skipped, one to come; Ana writes 3 questions, 1 answered."""
    steward, _platform = bot
    async with steward.db.session() as s:
        community = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        channel = (await s.exec(select(Channel))).one()
        cid = community.id or 0
        people = [await ensure_member(s, cid, "recording", u, display_name=u.title()) for u in ("UANA", "UBOB", "UCAT")]
        for i, member in enumerate(people):
            s.add(Contribution(community_id=cid, member_id=member.id or 0, kind="hosted", at=utc(2026, 10, 5 + i)))
        ritual = Ritual(community_id=cid, kind="meetup", title="Helm clinic", rrule="FREQ=WEEKLY",
                        dtstart="2026-01-06T16:00:00", timezone="Europe/Paris", status="active", exdates="2026-10-20")
        s.add(ritual)
        await s.flush()
        again = Ritual(community_id=cid, kind="meetup", title="Helm clinic", rrule="FREQ=WEEKLY",  # made twice
                       dtstart="2026-01-06T16:00:00", timezone="Europe/Paris", status="draft")
        s.add(again)
        await s.flush()
        held = [Meetup(ritual_id=ritual.id or 0, starts_at=utc(2026, 10, 13, 14)),
                Meetup(ritual_id=again.id or 0, starts_at=utc(2026, 10, 13, 14)),  # the same evening, twice
                Meetup(ritual_id=ritual.id or 0, starts_at=utc(2026, 10, 20, 14)),  # skipped (exdate)
                Meetup(ritual_id=ritual.id or 0, starts_at=utc(2026, 10, 27, 15))]
        s.add_all(held)
        await s.flush()
        for member, came in zip(people, (True, True, False), strict=True):
            s.add(MeetupRsvp(meetup_id=held[0].id or 0, member_id=member.id or 0, attended=came))
        s.add(MeetupRsvp(meetup_id=held[3].id or 0, member_id=people[0].id or 0, attended=True))
        for day, text in ((2, "Which ingress controller?"), (3, "Any Helm 4 notes?"), (4, "Who runs Argo?")):
            s.add(Message(community_id=cid, channel_id=channel.id or 0, author_id=people[0].id or 0,
                          platform_id=f"q{day}", text=text, posted_at=utc(2026, 10, day, 9)))
        s.add(Message(community_id=cid, channel_id=channel.id or 0, author_id=people[1].id or 0, platform_id="a2",
                      thread_id="q2", text="nginx", posted_at=utc(2026, 10, 2, 10, 30)))


async def test_every_figure_has_one_definition_everywhere(survey_bot: Bot) -> None:
    await _seed_october(survey_bot)
    dm = await _digest_dm(survey_bot, "2026-10")
    # Ana and Bob wrote, Cat only hosted: 3 active members, in the People section and under Stage alike.
    assert "- Active members: 3 (core 0, periphery 3" in dm.text
    assert "- 3 active members this month (peak 3 over 6 months)" in dm.text
    assert "Questions asked in threads: 3, answered: 1 (33%)" in dm.text and "- 33% of question threads answered" \
        in dm.text


async def test_meetups_come_with_their_dates_and_attendance_once_each(survey_bot: Bot) -> None:
    await _seed_october(survey_bot)
    text = (await _digest_dm(survey_bot, "2026-10")).text
    assert "- Helm clinic, Tue, October 13: 2 attended (3 said they would come)" in text
    assert "- Helm clinic, Tue, October 27: 1 attended (1 said they would come)" in text
    assert text.count("Helm clinic") == 2 and "October 20:" not in text  # once each; the skipped one is not held


async def test_the_digest_in_french_reads_as_french(survey_bot: Bot) -> None:
    await _seed_october(survey_bot)
    _steward, platform = survey_bot
    await platform.inject(command("language fr", user=SPONSOR))
    text = (await _digest_dm(survey_bot, "2026-10", form="bilan")).text
    assert text.startswith(f"**Kubernetes CoP{NBSP}: bilan d'octobre 2026**")
    assert f"- Membres actifs{NBSP}: 3" in text and f"33{NBSP}%" in text and "- 3 membres actifs ce mois-ci" in text
    assert "mar. 13 octobre" in text and "2 présents (3 avaient annoncé venir)" in text
    assert "1 présent (1 avait annoncé venir)" in text
    assert "month" not in text and "active members" not in text  # nothing left in English


async def test_any_past_month_on_demand_and_the_list_of_past_digests(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    await _seed_october(survey_bot)
    assert "digest for October 2026" in (await _digest_dm(survey_bot, "2026-10")).text
    await platform.inject(command("past digests", user=SPONSOR))
    listed = platform.texts()[-1]
    assert "since October 2026" in listed and "`digest 2026-10`" in listed
    await platform.inject(command("past digests", user="UANA"))
    assert "Only this community's sponsors" in platform.texts()[-1]
    next_year = datetime.now(UTC).year + 1
    await platform.inject(command(f"digest {next_year}-01", user=SPONSOR))
    assert f"January {next_year} has not begun yet" in platform.texts()[-1]


def _two_communities(config: Config) -> Config:
    ops = CommunityConfig(slug="ops", name="Ops guild", channels=("recording:C2",), sponsors=("recording:USPONSOR",))
    return dataclasses.replace(config, communities=(*config.communities, ops))


async def test_a_sponsor_of_several_communities_gets_one_portfolio(survey_bot: Bot) -> None:
    steward, _platform = survey_bot
    await _seed_october(survey_bot)
    both = Steward(steward.db, _two_communities(steward.config), build_router())  # the same database, two communities
    await sync_communities(both)
    platform = RecordingAdapter()
    both.add_adapter(platform)
    await both.start_adapters()
    try:
        async with both.db.session() as s:
            ops = (await s.exec(select(Community).where(Community.slug == "ops"))).one()
            member = await ensure_member(s, ops.id or 0, "recording", "UOPS")
            s.add(Contribution(community_id=ops.id or 0, member_id=member.id or 0, kind="hosted",
                               at=utc(2026, 10, 9)))
            await s.commit()
        dm = await _digest_dm((both, platform), "2026-10", form="portfolio")
        assert dm.text.startswith("**Portfolio: October 2026** (2 communities)")
        assert "- **Kubernetes CoP**: potential; 3 active members, no trend yet; 1 of 3 questions answered (33%)" \
            in dm.text
        assert "- **Ops guild**: potential; 1 active member, no trend yet; no question asked; no pulse" in dm.text
        assert dm.image is not None and dm.image[:8] == b"\x89PNG\r\n\x1a\n"
        assert dm.image_name == "portfolio-2026-10.png" and "direct message" in platform.texts()[-1]
        await platform.inject(command("portfolio", user="UANA"))
        assert "Only this community's sponsors" in platform.texts()[-1]
    finally:
        await both.stop()


async def test_the_operator_portfolio_on_the_command_line(survey_bot: Bot, tmp_path: Path) -> None:
    from app.cli_digest import render_portfolio

    steward, _platform = survey_bot
    await _seed_october(survey_bot)
    for fmt in ("md", "html", "png"):
        out = tmp_path / f"portfolio.{fmt}"
        assert await render_portfolio(steward, "2026-10", fmt, out, None) == 0
    assert "**Kubernetes CoP**: potential; 3 active members" in (tmp_path / "portfolio.md").read_text()
    assert "<li><strong>Kubernetes CoP</strong>" in (tmp_path / "portfolio.html").read_text()
    assert (tmp_path / "portfolio.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert await render_portfolio(steward, "2026-13", "md", None, None) == 2


async def test_the_monthly_digest_speaks_each_sponsors_language(survey_bot: Bot) -> None:
    from bot.features.ritual_common import schedule_of
    from rituals.jobs import fire_ritual
    from rituals.setup import sync_config_rituals

    steward, platform = survey_bot
    await platform.inject(command("language fr", user=SPONSOR))
    await sync_config_rituals(steward.db, steward.config)
    async with steward.db.session() as s:
        ritual = (await s.exec(select(Ritual).where(Ritual.kind == "digest"))).one()
    at = schedule_of(ritual).next(datetime.now(UTC) + timedelta(days=1), 1)[0]
    assert await fire_ritual(ritual.id or 0, at, now=at) == 1
    dm = platform.sent[-1]
    assert isinstance(dm, DirectMessage) and dm.user == SPONSOR and ": bilan " in dm.text

