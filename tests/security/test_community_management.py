"""Coordinators and sponsors in charge from chat (issue 16, points 2, 3 and 7), attacked: who may change what,
what a restart or an import may not undo, what a forgotten coordinator leaves, what a hand-edited row may not
break, what a threshold lowered later may not uncover, what a CSV cell may not run, and which community's
survey a command may touch."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.core import Steward
from bot.markup import hold
from bot.replies import Post
from storage.communities import ensure_community, get_community
from storage.models import Community, Survey
from storage.surveys import create_survey
from tests.events import command
from tests.security.test_forgetting import forget, traces
from tests.surveys.conftest import COORD, SPONSOR, answer_all, close, survey_bot, survey_now

Bot = tuple[Steward, RecordingAdapter]
__all__ = ["survey_bot"]  # the fixture, for the survey tests here
SPEC = '"How useful was this month?" scale 1-5; "Which format next?" choice talks / workshops / demos'


async def _say(bot: Bot, text: str, user: str = COORD, **kw: object) -> str:
    _, platform = bot
    await platform.inject(command(text, user=user, **kw))
    return platform.texts()[-1]


async def _community(steward: Steward, slug: str = "k8s") -> Community:
    async with steward.db.session() as session:
        found = await get_community(session, slug)
    assert found is not None
    return found


async def _changes(steward: Steward) -> int:
    from storage.models import SettingsChange  # (imported here so this file runs on the code before, and fails)

    async with steward.db.session() as session:
        return int((await session.exec(select(func.count()).select_from(SettingsChange))).one())


async def test_a_start_never_reverts_a_settings_change(bot: Bot) -> None:
    """Before: every start (`ensure_community`) rewrote the configured community's time zone and language
    from the config file, and every import reset them to en/UTC."""
    steward, _ = bot
    async with steward.db.session() as session:  # what a chat change leaves on the row
        row = await get_community(session, "k8s")
        assert row is not None
        row.timezone, row.locale = "Europe/Paris", "fr"
    await sync_communities(steward)  # `steward run` again, same config file
    async with steward.db.session() as session:
        await ensure_community(session, "k8s")  # what `steward import --community k8s` does
    community = await _community(steward)
    assert (community.timezone, community.locale) == ("Europe/Paris", "fr")
    assert (await _say(bot, "set time zone America/Montreal")).startswith("✅")  # and the same through chat
    await sync_communities(steward)
    assert (await _community(steward)).timezone == "America/Montreal"


async def test_members_and_sponsors_change_nothing(bot: Bot) -> None:
    steward, _ = bot
    for user in ("UANA", SPONSOR):
        for attempt in ("set time zone Europe/Paris", "set survey threshold 3", f"add coordinator @{user}",
                        "add sponsor @UANA", "remove coordinator <@UCOORD>", "remove sponsor @USPONSOR",
                        "close survey 1", "export survey 1"):
            assert "Only this community's coordinators" in await _say(bot, attempt, user=user), attempt
        assert "Only this community's coordinators" in await _say(bot, "set quotes on", user=user, direct=True)
    assert "Only this community's sponsors and coordinators" in await _say(bot, "settings", user="UANA")
    assert "Only this community's sponsors and coordinators" in await _say(bot, "who is core", user="UANA")
    from bot.community_settings import effective

    assert await _changes(steward) == 0
    cc = effective(steward.config, await _community(steward))
    assert cc is not None and cc.coordinators == ("recording:UCOORD",) and cc.survey_min_answers == 5


async def test_a_forgotten_coordinator_leaves_no_trace_and_no_role(bot: Bot) -> None:
    steward, platform = bot
    await _say(bot, "add coordinator <@UANA>")
    await _say(bot, "set purpose Helm and friends", user="UANA")
    await forget(platform, "UANA")
    await steward.delivery.idle()
    assert await traces(steward.db, "UANA") == []  # the settings row and the change log were scrubbed too
    shown = await _say(bot, "settings")
    assert "- Coordinators: Ucoord (changed by " in shown  # her reference is no one's now
    assert "changed by someone (forgotten) on " in shown  # the purpose she set stays, unsigned
    assert "Only this community's coordinators" in await _say(bot, "set purpose mine", user="forgotten")


async def test_a_hand_edited_settings_row_breaks_nothing(bot: Bot) -> None:
    from bot.community_settings import effective

    steward, _ = bot
    for garbage in ("not json", "[1, 2]", '{"chat": {"survey_min_answers": 1, "coordinators": "UANA", '
                                           '"leaderboard": "everyone", "quotes": "yes"}}'):
        async with steward.db.session() as session:
            community = await get_community(session, "k8s")
            assert community is not None
            community.settings = garbage
        steward.services.directory.forget_communities()
        assert "⚙️" in await _say(bot, "settings"), garbage
        assert "Only this community's" in await _say(bot, "settings", user="UANA")
        cc = effective(steward.config, await _community(steward))
        assert cc is not None and cc.survey_min_answers == 5 and cc.leaderboard == "off" and not cc.quotes


async def test_what_people_type_into_settings_is_shown_literally(bot: Bot) -> None:
    evil = "**Admins only** <!channel> [click](javascript:alert(1)) @here"
    await _say(bot, f"set purpose {evil}")
    await _say(bot, "settings")
    _, platform = bot
    held = hold(platform.raw[-1].text)  # type: ignore[union-attr]
    assert evil in held.spans  # one literal span: never markup, a link or a ping on any platform
    assert "javascript" not in held.text and "<!channel>" not in held.text


async def test_a_threshold_lowered_later_never_uncovers_a_smaller_group(survey_bot: Bot) -> None:
    """k is 5 when the survey opens; a coordinator lowers it to 3: that survey (4 answers) stays hidden,
    at its closing, on demand and in the export."""
    survey, asks = await survey_now(survey_bot, SPEC)
    await answer_all(survey_bot, asks[0].key, ["1", "2", "2", "1"])
    assert "✅" in await _say(survey_bot, "set survey threshold 3")
    out = await close(survey_bot, survey)
    post = next(r for r in out if isinstance(r, Post))
    assert "Fewer than 5 answers" in post.text and "Average" not in post.text
    assert "Fewer than 5 answers" in await _say(survey_bot, f"survey results {survey.id}")
    exported = await _say(survey_bot, f"export survey {survey.id}")
    assert "hidden: fewer than 5 answers" in exported and '"1","0"' not in exported
    later, asks = await survey_now(survey_bot, SPEC)  # a survey opened after the change uses 3
    await answer_all(survey_bot, asks[0].key, ["1", "2", "2", "1"])
    out = await close(survey_bot, later)
    assert "Average: 1.5" in next(r for r in out if isinstance(r, Post)).text


async def test_an_open_survey_shows_nothing_that_moves_with_each_answer(survey_bot: Bot) -> None:
    """Watching a count tick while a colleague says "I answered" would tell what they answered."""
    survey, asks = await survey_now(survey_bot, SPEC)
    before = await _say(survey_bot, "surveys")
    await answer_all(survey_bot, asks[0].key, ["1"] * 7)
    assert await _say(survey_bot, "surveys") == before
    assert "still open" in await _say(survey_bot, f"survey results {survey.id}")


async def test_a_csv_cell_never_runs_in_a_spreadsheet(survey_bot: Bot) -> None:
    survey, asks = await survey_now(survey_bot, '"=SUM(A1:A9)*cmd|x" choice +cmd / -2 / @sum')
    await answer_all(survey_bot, asks[0].key, ["0", "1", "2", "0", "1"])
    await close(survey_bot, survey)
    exported = await _say(survey_bot, f"export survey {survey.id}")
    rows = list(csv.DictReader(io.StringIO(exported.split("\n", 1)[1])))
    assert {r["option"] for r in rows} == {"'+cmd", "'-2", "'@sum"}
    assert all(r["title"].startswith("'=") and r["question_text"].startswith("'=") for r in rows)


async def test_a_command_touches_only_its_own_community_s_surveys(survey_bot: Bot) -> None:
    steward, _ = survey_bot
    async with steward.db.session() as session:
        other = await ensure_community(session, "elsewhere")
        assert other.id is not None
        theirs = await create_survey(session, community_id=other.id, title="Their secret", questions="[]",
                                     platform="recording", channel="C9", remind_at=None,
                                     closes_at=datetime.now(UTC) + timedelta(days=1))
    for attempt in (f"close survey {theirs.id}", f"survey results {theirs.id}", f"export survey {theirs.id}"):
        assert f"There is no survey {theirs.id} here" in await _say(survey_bot, attempt)
    async with steward.db.session() as session:
        still = await session.get(Survey, theirs.id)
    assert still is not None and still.status == "open" and still.salt
    assert "Their secret" not in await _say(survey_bot, "surveys")
