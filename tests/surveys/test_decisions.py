"""Voice that comes back: after the summary the sponsor answers the community where it was asked (in words or
with a tap), `consultations` lists open and past ones with their outcome, and a sponsor silent for a week after
the summary is reminded once while the coordinators learn which consultation still waits."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.replies import AskChoice, DirectMessage, Post
from storage.models import Consultation
from tests.clock import due_at
from tests.events import command, pick
from tests.surveys.conftest import COORD, SPONSOR, Bot

ASK = "consult k8s: should we standardise on Helm? until friday, as a choice: yes / no / it depends"


async def _consultation(bot: Bot) -> Consultation:
    steward, _ = bot
    async with steward.db.session() as session:
        return (await session.exec(select(Consultation).order_by(Consultation.id.desc()))).first()  # type: ignore


async def _asked_and_closed(bot: Bot, ask: str = ASK, voices: tuple[str, ...] = ("0", "0", "1", "1", "1", "2")) \
        -> tuple[Consultation, list[object]]:
    """The sponsor asks, members tap, the deadline passes: the consultation and what the closing sent."""
    steward, platform = bot
    await platform.inject(command(ask, user=SPONSOR, direct=True))
    consultation = await _consultation(bot)
    tap = next((r for r in platform.sent if isinstance(r, AskChoice) and r.key == f"consult:{consultation.id}"), None)
    for i, option in enumerate(voices if tap else ()):
        await platform.inject(pick(f"consult:{consultation.id}", option, user=f"U{i}"))
    return consultation, list(await due_at(steward, platform, consultation.deadline + timedelta(minutes=1)))


async def test_the_sponsor_answers_and_the_community_reads_it_where_it_was_asked(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    consultation, out = await _asked_and_closed(survey_bot)
    summary = next(r for r in out if isinstance(r, DirectMessage))
    assert f"`decision on consultation {consultation.id}: …`" in summary.text
    prompt = next(r for r in out if isinstance(r, AskChoice))
    assert prompt.user == SPONSOR and prompt.key == f"decide:{consultation.id}"
    assert [o.label for o in prompt.options] == ["yes", "no", "it depends", "Not decided yet"]

    await platform.inject(command(f"decision on consultation {consultation.id}: Helm for new services; kustomize "
                                  "stays where it works", user="UANA", direct=True))
    assert "Only this community's sponsors" in platform.texts()[-1]
    before = len(platform.sent)
    await platform.inject(command(f"decision on consultation {consultation.id}: Helm for new services; kustomize "
                                  "stays where it works", user=SPONSOR, direct=True))
    post = next(r for r in platform.sent[before:] if isinstance(r, Post) and r.channel == "C1")
    assert "The sponsor's answer to consultation 1" in post.text and "should we standardise on Helm?" in post.text
    assert "> Helm for new services; kustomize stays where it works" in post.text
    assert "How the voices weighed: 6 voices (yes: 2, no: 3, it depends: 1)." in post.text
    assert "[The consultation's thread](steward://message/C1/" in post.text
    assert "closing the loop" in platform.texts()[-1]

    await platform.inject(command(f"decision on consultation {consultation.id}: no, actually", user=SPONSOR,
                                  direct=True))
    assert "You already answered consultation 1" in platform.texts()[-1]
    await platform.inject(pick(prompt.key, "0", user=SPONSOR))  # a late tap on the prompt changes nothing
    assert "You already answered consultation 1" in platform.texts()[-1]


async def test_a_tap_on_the_prompt_is_the_answer_and_few_voices_keep_counts_hidden(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    _, out = await _asked_and_closed(survey_bot, voices=("0", "1"))
    prompt = next(r for r in out if isinstance(r, AskChoice))
    await platform.inject(pick(prompt.key, "later", user=SPONSOR))
    assert "No hurry" in platform.texts()[-1]
    await platform.inject(pick(prompt.key, "0", user="UANA"))  # the prompt is the sponsor's
    assert "Only the sponsor who asked consultation 1" in platform.texts()[-1]
    before = len(platform.sent)
    await platform.inject(pick(prompt.key, "0", user=SPONSOR))
    post = next(r for r in platform.sent[before:] if isinstance(r, Post) and r.channel == "C1")
    assert "> yes" in post.text and "2 voices (counts by stance are shown from 5 voices on)" in post.text
    assert "yes: 1" not in post.text


async def test_no_answer_before_the_summary(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    await platform.inject(command(ASK, user=SPONSOR, direct=True))
    consultation = await _consultation(survey_bot)
    await platform.inject(command(f"decision on consultation {consultation.id}: yes", user=SPONSOR, direct=True))
    assert f"Consultation {consultation.id} is still open until" in platform.texts()[-1]
    await platform.inject(command("decision on consultation 99: yes", user=SPONSOR, direct=True))
    assert "There is no consultation 99" in platform.texts()[-1]
    await platform.inject(command("decision on consultation soon", user=SPONSOR, direct=True))
    assert "`decision on consultation 3: Helm for new services" in platform.texts()[-1]


async def test_consultations_lists_open_and_past_ones_with_their_outcome(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    first, _out = await _asked_and_closed(survey_bot)
    second, _out = await _asked_and_closed(survey_bot, "consult k8s: shall we record the clinics? until friday")
    await platform.inject(command(f"decision on consultation {first.id}: Helm it is", user=SPONSOR, direct=True))
    await platform.inject(command("consult k8s: which day suits the clinic? until friday", user=SPONSOR))
    await platform.inject(command("consultations", user="UANA"))
    listed = platform.texts()[-1]
    assert "**Consultations in Kubernetes CoP**" in listed
    assert "- 3, open until" in listed and "which day suits the clinic?" in listed and "0 voices so far" in listed
    assert "- 1, closed on" in listed and "(6 voices). Decided: “Helm it is”" in listed
    assert "- 2, closed on" in listed and "Waiting for the sponsor's answer." in listed
    assert "still waits for its sponsor's answer" not in listed  # the count of waiting ones is for coordinators
    await platform.inject(command("consultations", user=COORD))
    assert "1 consultation still waits for its sponsor's answer: 2." in platform.texts()[-1]
    assert second.id == 2


async def test_a_silent_sponsor_is_reminded_once_a_week_after_and_coordinators_are_told(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    consultation, _out = await _asked_and_closed(survey_bot)
    closed = consultation.deadline + timedelta(minutes=1)
    assert await due_at(steward, platform, closed + timedelta(days=6)) == []
    out = await due_at(steward, platform, closed + timedelta(days=7, minutes=1))
    to_sponsor = [r for r in out if isinstance(r, DirectMessage) and r.user == SPONSOR]
    assert len(to_sponsor) == 1 and "still waits for your answer" in to_sponsor[0].text
    assert any(isinstance(r, AskChoice) and r.user == SPONSOR for r in out)  # the one-tap answers again
    to_coordinators = [r for r in out if isinstance(r, DirectMessage) and r.user == COORD]
    assert len(to_coordinators) == 1 and "Consultation 1" in to_coordinators[0].text
    assert "7 days after the summary" in to_coordinators[0].text
    assert await due_at(steward, platform, closed + timedelta(days=30)) == []  # once


async def test_a_sponsor_who_answered_is_not_reminded(survey_bot: Bot) -> None:
    steward, platform = survey_bot
    consultation, _out = await _asked_and_closed(survey_bot)
    await platform.inject(command(f"decision on consultation {consultation.id}: Helm", user=SPONSOR, direct=True))
    assert await due_at(steward, platform, consultation.deadline + timedelta(days=8)) == []


async def test_in_french_the_channel_reads_the_community_language_and_the_sponsor_theirs(survey_bot: Bot) -> None:
    _steward, platform = survey_bot
    await platform.inject(command("language fr", user=SPONSOR))
    await platform.inject(command(ASK, user=SPONSOR))
    ask = next(r for r in platform.sent if isinstance(r, AskChoice))
    assert "A sponsor asks the community" in ask.text  # the community k8s speaks English
    assert "Je vous enverrai" in platform.texts()[-1]  # the sponsor reads French
    consultation = await _consultation(survey_bot)
    out = await due_at(_steward, platform, consultation.deadline + timedelta(minutes=1))
    summary = next(r for r in out if isinstance(r, DirectMessage))
    assert "0 voix." in summary.text and "Votre consultation" in summary.text
    prompt = next(r for r in out if isinstance(r, AskChoice))
    assert prompt.options[-1].label == "Pas encore décidé"
    await platform.inject(command(f"décision sur la consultation {consultation.id} : Helm", user=SPONSOR))
    post = next(r for r in platform.sent[::-1] if isinstance(r, Post) and r.channel == "C1")
    assert "The sponsor's answer to consultation" in post.text and "0 voices" in post.text
