"""Issue 16, points 4 and 5, adversarially: months that do not exist, hostile words in stories and decisions,
links that must open where the reader is, and answers to a consultation from anyone but its sponsor."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig
from bot.core import Steward
from bot.events import ReactionAdded, Sender
from bot.features import build_router
from bot.markup import hold
from bot.replies import DirectMessage, Post
from storage.models import Community, Consultation
from tests.clock import due_at
from tests.events import command, message, pick
from tests.surveys.conftest import COORD, SPONSOR, Bot

SORRY = "Sorry"
HOSTILE_QUESTION = "[click me](javascript:alert(1)) <!channel> **loud** @here, how?"
HOSTILE_ANSWER = "](https://phish.example) <@UBOSS> [x](!subteam^S1|devs) `rm -rf`"


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "2026-00", "2026-13", "1999-12", "2026-1x", "10-2026"])
async def test_a_month_that_cannot_be_answers_with_the_right_form(ritual_bot: Bot, month: str) -> None:
    _steward, platform = ritual_bot
    for form, usage in (("digest", "`digest 2026-10`"), ("portfolio", "`portfolio 2026-10`"),
                        ("bilan", "`bilan 2026-10`")):
        await platform.inject(command(f"{form} {month}", user=SPONSOR))
        answer = platform.texts()[-1]
        assert usage in answer and SORRY not in answer and "Désolé" not in answer, (form, month, answer)


async def test_a_month_to_come_has_no_digest_yet(ritual_bot: Bot) -> None:
    _steward, platform = ritual_bot
    await platform.inject(command(f"digest {datetime.now(UTC).year + 2}-06", user=SPONSOR))
    assert "has not begun yet" in platform.texts()[-1]
    assert not any(isinstance(r, DirectMessage) for r in platform.sent)


def _non_literal(text: str) -> str:
    """The markup around the literal spans: what Steward itself wrote."""
    return hold(text).text


async def test_hostile_words_in_a_story_stay_words(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    for user in ("UBOB", "UANA"):
        await platform.inject(command("quotes on", user=user))
    question = message(HOSTILE_QUESTION, user="UBOB")
    await platform.inject(question)
    answer = message(HOSTILE_ANSWER, user="UANA", thread=question.message_id)
    await platform.inject(answer)
    await platform.inject(ReactionAdded(event_id="r-hostile", platform="recording", channel="C1",
                                        sender=Sender(id="UBOB"), message_id=answer.message_id, emoji="pray"))
    await platform.inject(command(f"digest {datetime.now(UTC):%Y-%m}", user=SPONSOR))
    dm = next(r for r in platform.raw if isinstance(r, DirectMessage) and r.user == SPONSOR)  # spans marked
    spans = hold(dm.text).spans
    assert HOSTILE_QUESTION in spans and any(HOSTILE_ANSWER in s for s in spans)
    ours = _non_literal(dm.text)
    for bad in ("javascript", "phish", "<!channel>", "<@UBOSS>", "!subteam", "**loud**", "rm -rf"):
        assert bad not in ours, bad
    assert ours.count("](") == 1  # the story's own link, to the thread, and nothing else
    from bot.digest.render import markdown_file, to_html
    from bot.digest.report import build_digest

    async with steward.db.session() as s:
        community = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        d = await build_digest(s, community, steward.config.community("k8s"), datetime.now(UTC).date())
    page = to_html(d, "en")
    assert "javascript:" not in page.split("<body>")[1].replace("[click me](javascript:alert(1))", "") \
        and "<a href" not in page  # the recording platform has no web address: no link at all
    assert "&lt;!channel&gt;" in page and "\\[click me\\]" in markdown_file(d, "en")


def _story(platform: str, channel: str, message_id: str) -> Any:
    from bot.digest.report import StoryLine

    return StoryLine(platform=platform, channel=channel, channel_name="", message=message_id, thanks=1, answer=False,
                     question=None, topics="", helper=None, asker=None, quote=None)


def test_a_story_link_opens_where_the_reader_is() -> None:
    """Read on its own platform a story links neutrally (the adapter makes the permalink); read elsewhere, or in
    a file, it links to the web address its platform's adapter gives; a platform without one gets no link."""
    from app.cli_digest import offline_links
    from bot.digest.render import story_link

    links = offline_links()  # the CLI's; a running Steward has its adapters' own (tests/slack: the workspace's)
    on_matrix = _story("matrix", "!room:example.org", "$event:example.org")
    on_slack = _story("slack", "C1", "1700000000.000100")
    on_terminal = _story("console", "console", "out.1")
    assert story_link(on_matrix, "matrix", links) == "steward://message/!room:example.org/$event:example.org"
    assert story_link(on_matrix, "slack", links) == "https://matrix.to/#/%21room%3Aexample.org/%24event%3Aexample.org"
    assert story_link(on_matrix, None, links) == story_link(on_matrix, "slack", links)  # a file: a web address
    assert story_link(on_slack, "slack", links) == "steward://message/C1/1700000000.000100"
    assert story_link(on_slack, "matrix", links) == "https://slack.com/archives/C1/p1700000000000100"
    assert story_link(on_slack, "matrix", {}) is None  # no adapter for it: no link rather than a broken one
    assert story_link(on_terminal, "matrix", links) is None and story_link(on_terminal, None, links) is None
    hostile = {"slack": lambda channel, message: "javascript:alert(1)"}
    assert story_link(on_slack, "matrix", hostile) is None  # only web addresses, whatever an adapter says


async def _closed(bot: Bot, user: str = SPONSOR) -> Consultation:
    steward, platform = bot
    await platform.inject(command("consult k8s: should we standardise on Helm? until friday, as a choice: yes / no",
                                  user=user, direct=True))
    async with steward.db.session() as session:
        consultation = (await session.exec(select(Consultation))).one()
    await due_at(steward, platform, consultation.deadline + timedelta(minutes=1))
    return consultation


async def test_only_the_sponsor_who_asked_answers_the_community(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    consultation = await _closed(ritual_bot)
    for user in (COORD, "UANA"):  # a coordinator may consult, but this answer is the sponsor's
        await platform.inject(command(f"decision on consultation {consultation.id}: nope", user=user, direct=True))
        assert SORRY not in platform.texts()[-1]
        await platform.inject(pick(f"decide:{consultation.id}", "0", user=user))
        assert "Only the sponsor who asked consultation 1" in platform.texts()[-1]
    other = dataclasses.replace(steward.config, communities=(
        *steward.config.communities,
        CommunityConfig(slug="ops", channels=("recording:C2",), sponsors=("recording:UOTHER",))))
    elsewhere = Steward(steward.db, other, build_router())
    await sync_communities(elsewhere)
    recording = RecordingAdapter()
    elsewhere.add_adapter(recording)
    await elsewhere.start_adapters()
    try:
        await recording.inject(command(f"decision on consultation {consultation.id}: nope", user="UOTHER",
                                       channel="C2"))
        assert "Only the sponsor who asked consultation 1" in recording.texts()[-1]
    finally:
        await elsewhere.stop()
    assert not any(isinstance(r, Post) and "answer to consultation" in r.text for r in platform.sent)


async def test_garbage_choice_keys_and_long_answers_are_refused_kindly(ritual_bot: Bot) -> None:
    _steward, platform = ritual_bot
    consultation = await _closed(ritual_bot)
    before = len(platform.sent)
    await platform.inject(pick("decide:abc", "0", user=SPONSOR))
    await platform.inject(pick("decide:", "0", user=SPONSOR))
    assert all(SORRY not in t for t in platform.texts()[before:])
    await platform.inject(pick("decide:99", "0", user=SPONSOR))
    assert "There is no consultation 99" in platform.texts()[-1]
    await platform.inject(pick(f"decide:{consultation.id}", "7", user=SPONSOR))  # no such option
    assert "No hurry" in platform.texts()[-1]
    await platform.inject(command(f"decision on consultation {consultation.id}: " + "x" * 1200, user=SPONSOR))
    assert "a bit long" in platform.texts()[-1]


async def test_a_hostile_decision_is_posted_as_words(ritual_bot: Bot) -> None:
    _steward, platform = ritual_bot
    consultation = await _closed(ritual_bot)
    words = "<!channel> [vote here](javascript:steal()) **we go** @here"
    await platform.inject(command(f"decision on consultation {consultation.id}: {words}", user=SPONSOR, direct=True))
    post = next(r for r in platform.raw if isinstance(r, Post) and "answer to consultation" in r.text)
    assert words in hold(post.text).spans
    assert all(bad not in _non_literal(post.text) for bad in ("<!channel>", "javascript", "**we go**", "@here"))


async def test_a_forgotten_sponsors_consultation_can_be_answered_by_another_sponsor(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    await platform.inject(message("Hello all, I sponsor this community.", user=SPONSOR))  # a member row to forget
    consultation = await _closed(ritual_bot)
    await platform.inject(command("forget me", user=SPONSOR, direct=True))
    await platform.inject(pick("forget:confirm", "yes", user=SPONSOR))
    async with steward.db.session() as session:
        assert (await session.get(Consultation, consultation.id)).asked_by == ""  # type: ignore[union-attr]
    before = len(platform.sent)
    out = await due_at(steward, platform, consultation.deadline + timedelta(days=8))
    assert [r.user for r in out if isinstance(r, DirectMessage)] == [COORD]  # nobody left to remind but them
    await platform.inject(command(f"decision on consultation {consultation.id}: Helm", user=SPONSOR))
    assert any(isinstance(r, Post) and "answer to consultation" in r.text for r in platform.sent[before:])
