"""Pulse surveys on the recording adapter: one tap, anonymity, k, changes, reminders, results and trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlmodel import SQLModel, func, select

import storage.surveys as survey_store
from bot.config import CommunityConfig, parse_config
from bot.errors import ConfigError
from bot.features.ritual_common import schedule_of
from bot.pulse.results import survey_result
from bot.replies import AskChoice, DirectMessage, Post
from rituals.jobs import fire_ritual
from storage.models import Contribution, Ritual, Survey, SurveyAnswer
from tests.clock import due_at
from tests.events import command, pick
from tests.surveys.conftest import COORD, Bot, answer_all, close, survey_now

SPEC = '"How useful was this month?" scale 1-5; "Which format next?" choice talks / workshops / demos'


def test_the_answers_table_cannot_name_anyone() -> None:
    table = SQLModel.metadata.tables["survey_answer"]
    assert {c.name for c in table.columns} == {"survey_id", "question", "token", "value"}  # no id to order by
    assert {fk.column.table.name for fk in table.foreign_keys} == {"survey"}
    assert "at" not in table.columns  # no timestamp either: answers cannot be matched with activity
    # the storage API reads aggregates only: nothing returns rows of answers or tokens
    readers = [name for name in dir(survey_store) if name in ("value_counts", "respondents", "free_texts")]
    assert sorted(readers) == ["free_texts", "respondents", "value_counts"]
    assert not any("SurveyAnswer" in str(getattr(f, "__annotations__", {}).get("return", ""))
                   for f in vars(survey_store).values() if callable(f))


async def test_one_tap_answers_changes_and_no_double_votes(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    survey, asks = await survey_now(survey_bot, SPEC)
    assert [a.key for a in asks] == [f"survey:{survey.id}:0", f"survey:{survey.id}:1"]
    assert asks[0].user is None and asks[0].channel == "C1" and "anonymous" in asks[0].text
    assert [o.id for o in asks[0].options] == ["1", "2", "3", "4", "5"]
    await platform.inject(pick(asks[0].key, "2", user="UANA"))
    assert "anonymous" in platform.texts()[-1]
    await platform.inject(pick(asks[0].key, "5", user="UANA"))  # a change of mind replaces the answer
    assert platform.texts()[-1].startswith("Changed")
    await platform.inject(pick(asks[1].key, "1", user="UANA"))
    await platform.inject(pick(asks[0].key, "9", user="UBOB"))  # not an option: refused, nothing stored
    async with steward.db.session() as session:
        assert await survey_store.value_counts(session, survey.id or 0, 0) == {"5": 1}
        assert await survey_store.respondents(session, survey.id or 0) == 1
        rows = (await session.exec(select(func.count()).select_from(SurveyAnswer))).one()
        surveyed = (await session.exec(select(Contribution).where(Contribution.kind == "surveyed"))).all()
    assert rows == 2  # one row per question, however many taps
    assert surveyed == []  # participation is counted at closing, never next to the answer
    await close(survey_bot, survey)
    async with steward.db.session() as session:
        surveyed = (await session.exec(select(Contribution).where(Contribution.kind == "surveyed"))).all()
        closed = await session.get(Survey, survey.id)
    assert len(surveyed) == 1 and surveyed[0].message_id is None and surveyed[0].note == ""
    assert closed is not None and surveyed[0].at == closed.closed_at


async def test_results_hidden_below_k_shown_from_k_with_the_change_since_last_time(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    first, asks = await survey_now(survey_bot, SPEC)
    await answer_all(survey_bot, asks[0].key, ["4", "4", "5", "3"])  # 4 < k = 5
    await answer_all(survey_bot, asks[1].key, ["0", "1", "1", "2", "0", "1"])
    await close(survey_bot, first)
    post = platform.sent[-1]
    assert isinstance(post, Post) and post.channel == "C1"
    assert "6 people answered" in post.text
    useful, formats = post.text.split("**Which format next?**")
    assert "Fewer than 5 answers" in useful and "Average" not in useful and "4 (" not in useful
    assert "workshops: 3 (50%)" in formats
    async with steward.db.session() as session:
        closed = await session.get(Survey, first.id)
    assert closed is not None and closed.status == "closed" and closed.salt == ""  # no link possible any more

    second, asks = await survey_now(survey_bot, SPEC)
    await answer_all(survey_bot, asks[0].key, ["4", "4", "5", "5", "2"], prefix="V")
    await answer_all(survey_bot, asks[1].key, ["1", "1", "1", "2", "0"], prefix="V")
    await close(survey_bot, second)
    text = platform.texts()[-1]
    assert "Average: 4.0" in text
    useful, formats = text.split("**Which format next?**")
    assert "Change since last time" not in useful  # the last run was below k: no trend against it
    assert "workshops +10 pt" in formats


async def test_a_survey_closes_once_and_taps_after_closing_are_refused(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    survey, asks = await survey_now(survey_bot, SPEC)
    assert await close(survey_bot, survey)
    assert await due_at(steward, platform, survey.closes_at + timedelta(hours=1)) == []
    await platform.inject(pick(asks[0].key, "3", user="ULATE"))
    assert "closed" in platform.texts()[-1]


async def test_one_reminder_at_most(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    survey, _asks = await survey_now(survey_bot, SPEC + " for 2 days")
    assert survey.closes_at - survey.opened_at == timedelta(days=2)
    assert survey.remind_at is not None
    reminders = await due_at(steward, platform, survey.remind_at + timedelta(minutes=1))
    asks = [r for r in reminders if isinstance(r, AskChoice)]
    assert len(asks) == 2 and "Last call" in asks[0].text and asks[0].key == f"survey:{survey.id}:0"
    assert await due_at(steward, platform, survey.remind_at + timedelta(minutes=2)) == []


async def test_free_text_goes_to_coordinators_only_from_k(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    survey, asks = await survey_now(survey_bot, '"How was the clinic?" emoji; "Anything to add?" text')
    assert "answer survey" in platform.texts()[-2]
    await answer_all(survey_bot, asks[0].key, ["5"] * 5)
    for i in range(5):
        await platform.inject(command(f"answer survey {survey.id}: idea number {i}", user=f"U{i}", direct=True))
    assert "without your name" in platform.texts()[-1]
    out = await close(survey_bot, survey)
    dms = [r for r in out if isinstance(r, DirectMessage)]
    assert [d.user for d in dms] == [COORD] and "idea number 3" in dms[0].text
    public = next(r for r in out if isinstance(r, Post))
    assert "idea number" not in public.text and "5 comments" in public.text


async def test_only_coordinators_run_surveys_and_bad_questions_get_the_right_form(survey_bot: Bot) -> None:
    _, platform = survey_bot
    await platform.inject(command(f"survey now {SPEC}", user="UANA"))
    assert "Only this community's coordinators" in platform.texts()[-1]
    await platform.inject(command("survey now How are you?", user=COORD))
    assert "in quotes" in platform.texts()[-1] and "`survey now" in platform.texts()[-1]
    await platform.inject(command('survey now "Mood?" colour', user=COORD))
    assert "what kind of answer" in platform.texts()[-1]
    await platform.inject(command('survey now "Q?" choice just-one', user=COORD))
    assert "2 to 8 short options" in platform.texts()[-1]
    await platform.inject(command('survey "Mood?" emoji', user=COORD))
    assert "tell me when" in platform.texts()[-1]
    await platform.inject(command('sondage maintenant "Humeur ?" couleur', user=COORD))
    answer = platform.texts()[-1]
    assert "dites quel type de réponse attend «\u00a0Humeur ?\u00a0»" in answer and "what kind" not in answer, answer


async def test_scheduled_survey_is_a_ritual_in_french_too(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    await platform.inject(command('sondage "Ce mois-ci vous a-t-il été utile ?" échelle 1-5 '
                                  "chaque mois le 1er à 10:00 dans #C1", user=COORD))
    ask = platform.sent[-1]
    assert isinstance(ask, AskChoice) and ask.key.startswith("ritual:confirm:")
    await platform.inject(pick(ask.key, "yes", user=COORD))
    ritual_id = int(ask.key.removesuffix("@fr").rsplit(":", 1)[1])  # asked in the language she typed
    async with steward.db.session() as session:
        ritual = await session.get(Ritual, ritual_id)
    assert ritual is not None and ritual.kind == "survey" and ritual.status == "active"
    at = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    before = len(platform.sent)
    assert await fire_ritual(ritual_id, at, now=at) == 1
    asks = [r for r in platform.sent[before:] if isinstance(r, AskChoice)]
    assert len(asks) == 1 and "Ce mois-ci" in asks[0].text
    async with steward.db.session() as session:
        survey = (await session.exec(select(Survey).where(Survey.ritual_id == ritual_id))).one()
    assert survey.closes_at == at + timedelta(days=3)


async def test_k_below_three_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="survey_min_answers"):
        parse_config({"community": [{"slug": "k8s", "survey_min_answers": 2}]})
    with pytest.raises(ConfigError, match="survey_min_answers"):
        CommunityConfig(slug="k8s", survey_min_answers=1)
    parsed = parse_config({"community": [{"slug": "k8s", "survey_min_answers": 3}]})
    assert parsed.communities[0].survey_min_answers == 3


async def test_below_k_nothing_leaves_the_result_function(survey_bot: Bot) -> None:
    steward, _ = survey_bot
    survey, asks = await survey_now(survey_bot, SPEC)
    await answer_all(survey_bot, asks[0].key, ["1", "5"])
    async with steward.db.session() as session:
        result = await survey_result(session, survey, 5)
    first = result.questions[0]
    assert (first.shown, first.counts, first.mean, first.texts) == (False, {}, None, ())
    assert inspect(SurveyAnswer).columns.keys() == ["survey_id", "token", "question", "value"]
