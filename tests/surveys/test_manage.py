"""Surveys managed from chat (issue 16, point 2): list, close early, results on demand, recurring pulse, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.features.ritual_common import schedule_of
from bot.replies import AskChoice, DirectMessage, Ephemeral, Post
from rituals.jobs import fire_ritual
from storage.models import Contribution, Ritual, Survey
from tests.clock import due_at
from tests.events import command, pick
from tests.surveys.conftest import COORD, SPONSOR, Bot, answer_all, close, survey_now

SPEC = '"How useful was this month?" scale 1-5; "Which format next?" choice talks / workshops / demos'


async def _say(bot: Bot, text: str, user: str = COORD) -> str:
    _, platform = bot
    await platform.inject(command(text, user=user))
    return platform.texts()[-1]


async def test_survey_results_is_not_read_as_a_new_survey(survey_bot: Bot) -> None:
    """Before: `survey results 1` answered "tell me when too" (a new survey with no schedule)."""
    survey, asks = await survey_now(survey_bot, SPEC)
    await answer_all(survey_bot, asks[0].key, ["4", "4", "5", "3", "5"])
    await close(survey_bot, survey)
    answer = await _say(survey_bot, f"survey results {survey.id}", user=SPONSOR)
    assert "tell me when" not in answer
    assert "📊 Results of the pulse survey “How useful was this month?”: 5 people answered." in answer
    assert "- Average: 4.2" in answer and f"Survey {survey.id}, closed " in answer
    french = await _say(survey_bot, f"résultats du sondage {survey.id}", user=SPONSOR)
    assert "Résultats du sondage" in french or "📊" in french


async def test_close_survey_early_goes_through_the_same_sealing(survey_bot: Bot) -> None:
    """Before: `close survey 1` was "I didn't get that". Now: results posted where it was asked, comments to
    the coordinators, participation counted and the salt erased, exactly as at the scheduled closing."""
    steward, platform = survey_bot
    survey, asks = await survey_now(survey_bot, '"How was the clinic?" emoji; "Anything to add?" text')
    await answer_all(survey_bot, asks[0].key, ["5", "4", "5", "5", "3"])
    for i in range(5):
        await platform.inject(command(f"answer survey {survey.id}: idea {i}", user=f"U{i}", direct=True))
    await platform.inject(command(f"close survey {survey.id}", user="UANA"))
    assert "Only this community's coordinators" in platform.texts()[-1]
    before = len(platform.sent)
    await platform.inject(command(f"close survey {survey.id}", user=COORD))
    out = platform.sent[before:]
    public = [r for r in out if isinstance(r, Post)]
    assert len(public) == 1 and public[0].channel == "C1" and "5 people answered" in public[0].text
    dms = [r for r in out if isinstance(r, DirectMessage)]
    assert [d.user for d in dms] == [COORD] and "idea 3" in dms[0].text
    told = [r for r in out if isinstance(r, Ephemeral)]
    assert len(told) == 1 and told[0].user == COORD and told[0].text.startswith(f"Closed survey {survey.id}")
    async with steward.db.session() as session:
        closed = await session.get(Survey, survey.id)
        surveyed = (await session.exec(select(Contribution).where(Contribution.kind == "surveyed"))).all()
    assert closed is not None and closed.status == "closed" and closed.salt == ""
    assert len(surveyed) == 5 and {c.at for c in surveyed} == {closed.closed_at}
    # the scheduled closing finds nothing left to do; a second close and taps are refused kindly
    assert await close(survey_bot, survey) == []
    assert "has already closed" in await _say(survey_bot, f"close survey {survey.id}")
    await platform.inject(pick(asks[0].key, "1", user="ULATE"))
    assert "closed" in platform.texts()[-1]


async def test_results_of_an_open_survey_are_not_shown(survey_bot: Bot) -> None:
    survey, asks = await survey_now(survey_bot, SPEC)
    await answer_all(survey_bot, asks[0].key, ["4"] * 6)
    answer = await _say(survey_bot, f"survey results {survey.id}")
    # no distribution line ("- 4: 6 (100%)"), no average: (not a bare "4 (", which "00:14 (UTC)" holds)
    assert "still open" in answer and "📊" not in answer and ": 6 (" not in answer and "Average" not in answer
    assert "still open" in await _say(survey_bot, f"export survey {survey.id}")
    assert "There is no survey 999 here" in await _say(survey_bot, "survey results 999")
    assert "Give the survey's number" in await _say(survey_bot, "survey results the last one")


async def test_surveys_lists_open_recurring_and_closed(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    assert "No pulse survey here yet" in await _say(survey_bot, "surveys")
    first, asks = await survey_now(survey_bot, SPEC)
    await answer_all(survey_bot, asks[0].key, ["4", "5"])
    await close(survey_bot, first)
    second, _asks = await survey_now(survey_bot, '"Mood?" emoji')
    await platform.inject(command('survey "Monthly pulse?" scale 1-5 every month on the 1st at 10:00', user=COORD))
    ask = platform.sent[-1]
    assert isinstance(ask, AskChoice)
    await platform.inject(pick(ask.key, "yes", user=COORD))
    listing = await _say(survey_bot, "surveys", user=SPONSOR)
    open_part, rest = listing.split("**Recurring**")
    recurring, closed = rest.split("**Closed**")
    assert f"**{second.id}** “Mood?”: closes " in open_part and "Monthly" not in open_part
    assert "“Monthly pulse?”: every month on the 1st at 10:00; next run " in recurring
    assert f"**{first.id}** “How useful was this month?”: closed " in closed and "respondents: 2" in closed
    assert "Only this community's sponsors and coordinators" in await _say(survey_bot, "surveys", user="UANA")
    french = await _say(survey_bot, "sondages", user="UFR")
    assert "Seuls les sponsors" in french or "sondages" in french.casefold()


async def test_a_recurring_pulse_repeats_and_shows_the_trend(survey_bot: Bot) -> None:
    """The survey ritual opens a run at each occurrence; the second run's results compare with the first."""
    steward, platform = survey_bot
    await platform.inject(command('survey "Monthly pulse?" scale 1-5 every month on the 1st at 10:00 in #C1',
                                  user=COORD))
    ask = platform.sent[-1]
    assert isinstance(ask, AskChoice)
    await platform.inject(pick(ask.key, "yes", user=COORD))
    ritual_id = int(ask.key.rsplit(":", 1)[1])
    async with steward.db.session() as session:
        ritual = await session.get(Ritual, ritual_id)
    assert ritual is not None
    first_at, second_at = schedule_of(ritual).next(datetime.now(UTC), 2)
    runs = []
    for at, answers in ((first_at, ["3", "3", "3", "4", "3"]), (second_at, ["5", "4", "5", "4", "5"])):
        before = len(platform.sent)
        assert await fire_ritual(ritual_id, at, now=at) == 1
        asks = [r for r in platform.sent[before:] if isinstance(r, AskChoice)]
        assert len(asks) == 1
        await answer_all(survey_bot, asks[0].key, answers, prefix=f"P{len(runs)}")
        async with steward.db.session() as session:
            run = (await session.exec(select(Survey).where(Survey.ritual_id == ritual_id)
                                      .order_by(Survey.id.desc()))).first()  # type: ignore[union-attr]
        assert run is not None
        runs.append(run)
        await due_at(steward, platform, run.closes_at + timedelta(minutes=1))
    assert runs[0].id != runs[1].id
    text = next(t for t in reversed(platform.texts()) if "📊" in t)
    assert "Average: 4.6" in text and "Change since last time: +1.4" in text
    results = await _say(survey_bot, f"survey results {runs[1].id}", user=SPONSOR)
    assert "Change since last time: +1.4" in results


async def test_export_is_aggregate_only_and_hides_small_groups(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    survey, asks = await survey_now(survey_bot, SPEC + '; "Anything else?" text')
    await answer_all(survey_bot, asks[0].key, ["4", "4", "5", "3", "5", "2"])
    await answer_all(survey_bot, asks[1].key, ["0", "1"])  # 2 < k: hidden
    await platform.inject(command(f"answer survey {survey.id}: =HYPERLINK(\"http://x\")", user="U0", direct=True))
    await close(survey_bot, survey)
    assert "Only this community's coordinators" in await _say(survey_bot, f"export survey {survey.id}",
                                                               user=SPONSOR)
    answer = await _say(survey_bot, f"export survey {survey.id}")
    body = answer.split("\n", 1)[1]
    rows = list(csv.DictReader(io.StringIO(body)))
    useful = [r for r in rows if r["question"] == "1"]
    assert [(r["option"], r["answers"]) for r in useful] == [("1", "0"), ("2", "1"), ("3", "1"), ("4", "2"), ("5", "2")]
    assert useful[0]["mean"] == "3.83" and useful[3]["percent"] == "33.3"
    hidden = [r for r in rows if r["question"] == "2"]
    assert len(hidden) == 1 and hidden[0]["answers"] == "" and "fewer than 5" in hidden[0]["note"]
    text = [r for r in rows if r["question"] == "3"]
    assert len(text) == 1 and text[0]["answers"] == "" and "HYPERLINK" not in answer  # 1 comment < k: nothing

