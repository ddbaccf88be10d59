"""Consultations: a sponsor asks, members answer (tap, thread, privately), the deadline closes it, even after
a restart; the sponsor sees counts from k voices and only the words of members who allow quoting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.features import build_router
from bot.pulse.deadline import parse_deadline
from bot.replies import AskChoice, DirectMessage, Post, ReplyInThread
from storage import outbox
from storage.models import Consultation
from tests.clock import due_at
from tests.events import command, message, pick
from tests.surveys.conftest import SPONSOR, Bot

ASK = "consult k8s: should we standardise on Helm? until friday, as a choice: yes / no / it depends"


async def _consultation(bot: Bot) -> Consultation:
    steward, _ = bot
    async with steward.db.session() as session:
        return (await session.exec(select(Consultation))).one()


async def _posted(bot: Bot, consultation: Consultation) -> str:
    """The message id of the consultation's post (found through the outbox, where its tag keeps it)."""
    steward, _ = bot
    await steward.delivery.flush()  # sent replies are crossed out within moments, not at once: write them now
    async with steward.db.session() as session:
        sent = await outbox.message_of(session, f"consultation:{consultation.id}")
    assert sent is not None
    return sent[2]


async def test_sponsor_asks_members_answer_and_the_summary_arrives_at_the_deadline(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    await platform.inject(command(ASK, user=SPONSOR, direct=True))
    ask = next(r for r in platform.sent if isinstance(r, AskChoice))
    assert ask.channel == "C1" and "standardise on Helm" in ask.text and [o.label for o in ask.options] == [
        "yes", "no", "it depends"]
    assert "summary of the voices" in platform.texts()[-1]
    consultation = await _consultation(survey_bot)
    assert consultation.deadline.astimezone(UTC).weekday() == 4
    thread = await _posted(survey_bot, consultation)

    await platform.inject(command("quotes on", user="UANA"))
    await platform.inject(message("yes, Helm charts are easier to review", user="UANA", thread=thread))
    await platform.inject(message("no: kustomize is enough for us", user="UBOB", thread=thread))
    await platform.inject(command(f"answer consultation {consultation.id}: it depends on the team", user="UCAT",
                                  direct=True))
    assert "counted" in platform.texts()[-1]
    for i, option in enumerate(["0", "0", "1"]):
        await platform.inject(pick(ask.key, option, user=f"U{i}"))
    await platform.inject(pick(ask.key, "1", user="UANA"))  # a tap replaces her stance, keeps her words

    assert await due_at(steward, platform, consultation.deadline - timedelta(minutes=1)) == []
    out = await due_at(steward, platform, consultation.deadline + timedelta(minutes=1))
    dm = next(r for r in out if isinstance(r, DirectMessage))
    assert dm.user == SPONSOR and "6 voices." in dm.text
    assert "- yes: 2" in dm.text and "- no: 3" in dm.text and "- it depends: 1" in dm.text
    assert "Helm charts are easier to review" in dm.text  # UANA allows quoting
    assert "kustomize" not in dm.text and "on the team" not in dm.text  # the default is off
    assert "Uana" not in dm.text  # quotes are unnamed
    note = next(r for r in out if isinstance(r, ReplyInThread))
    assert note.thread == thread and "delivered to the sponsor" in note.text
    assert await due_at(steward, platform, consultation.deadline + timedelta(hours=1)) == []
    await platform.inject(pick(ask.key, "0", user="ULATE"))
    assert "closed" in platform.texts()[-1]


async def test_the_deadline_holds_across_a_restart_and_few_voices_hide_counts(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    await platform.inject(command("consult should we move the clinic to Thursdays? until tomorrow, "
                                  "as a choice: yes / no", user=SPONSOR))
    consultation = await _consultation(survey_bot)
    await platform.inject(message("yes please", user="UANA", thread=await _posted(survey_bot, consultation)))
    await steward.stop()

    restarted = Steward(steward.db, steward.config, build_router())  # a new process on the same database
    again = RecordingAdapter()
    restarted.add_adapter(again)
    await restarted.start_adapters()
    await due_at(restarted, again, consultation.deadline + timedelta(seconds=30))
    dm = next(r for r in again.sent if isinstance(r, DirectMessage))
    assert "1 voice." in dm.text and "- yes" not in dm.text and "from 5 voices" in dm.text
    assert "yes please" not in dm.text
    assert any(isinstance(r, ReplyInThread) for r in again.sent)
    await restarted.stop()


async def test_only_sponsors_and_coordinators_consult_and_bad_input_says_how(survey_bot: Bot) -> None:
    _, platform = survey_bot
    await platform.inject(command(ASK, user="UANA"))
    assert "Only this community's sponsors and coordinators" in platform.texts()[-1]
    await platform.inject(command("consult k8s: helm? until someday", user=SPONSOR))
    assert "until friday" in platform.texts()[-1]
    await platform.inject(command("consult k8s: helm or not? as a choice: yes", user=SPONSOR))
    assert "2 to 6 short options" in platform.texts()[-1]
    await platform.inject(command("answer consultation 99: yes", user="UANA"))
    assert "no consultation 99" in platform.texts()[-1]
    await platform.inject(command("consult k8s: open question for all of you", user="UCOORD"))
    assert isinstance(platform.sent[-2], Post) and "open question" in platform.sent[-2].text


def test_deadlines_in_english_and_french() -> None:
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
    assert parse_deadline("friday", timezone="UTC", now=now) == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert parse_deadline("vendredi 12h", timezone="UTC", now=now) == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_deadline("wednesday", timezone="UTC", now=now).day == 2  # next week's, not today's
    assert parse_deadline("2026-12-04 at 09:30", timezone="Europe/Paris", now=now) == datetime(
        2026, 12, 4, 8, 30, tzinfo=UTC)
    assert parse_deadline("dans 10 jours", timezone="UTC", now=now).day == 5
