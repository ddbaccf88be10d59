"""The reader's language, whoever triggered the message (issue 16, point 6): a French question keeps its follow-ups
in French, channel posts read the community's language, DMs the recipient's, and counts and numbers read French."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from bot.i18n import NARROW_NBSP, NBSP, decimal, percent, plural_count, signed_decimal
from bot.replies import AskChoice, DirectMessage, Ephemeral, Post, ReplyInThread
from rituals.setup import sync_config_rituals
from storage.db import Database
from storage.models import Consultation, Survey
from tests.clock import due_at
from tests.events import command, pick
from tests.routing.history import seed

Bot = tuple[Steward, RecordingAdapter]


@pytest.fixture
async def french_bot(db: Database, config: Config) -> AsyncIterator[Bot]:
    """The whole bot for the `k8s` community speaking French, its built-in rituals in place."""
    config = dataclasses.replace(config, communities=(dataclasses.replace(config.communities[0], locale="fr"),))
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    await sync_config_rituals(db, config)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    yield steward, platform
    await steward.stop()


async def test_a_question_typed_in_french_is_followed_up_in_french(bot: Bot) -> None:
    """No stated preference in an English community: the asker typed French, the choice they answer later (another
    event, which carries no text) is answered in French too, and the reasons count in French."""
    _steward, platform = bot
    await seed(platform)
    await platform.inject(command("qui connaît helm", user="UFRANK"))
    text = str(platform.sent[0].text)  # type: ignore[union-attr]
    assert "a répondu à" in text and "discussions semblables" in text and "similar" not in text
    choice = next(r for r in platform.sent if isinstance(r, AskChoice))
    assert choice.key.endswith("@fr") and choice.user == "UFRANK"
    platform.sent.clear()
    await platform.inject(pick(choice.key, "no", user="UFRANK"))
    assert platform.texts() == [f"D'accord, je ne demande à personne. Bonne chance{NARROW_NBSP}!"]


async def test_a_command_word_shared_by_both_languages_answers_in_the_communitys(french_bot: Bot) -> None:
    _steward, platform = french_bot
    await platform.inject(command("consultations", user="UCOORD"))
    assert platform.texts()[-1].startswith("Aucune consultation pour l'instant dans Kubernetes CoP")


async def test_a_french_member_opens_a_survey_in_an_english_community(bot: Bot) -> None:
    """The survey goes to the channel in the community's language; the confirmation to her in French."""
    _steward, platform = bot
    await platform.inject(command("langue fr", user="UCOORD"))
    platform.sent.clear()
    await platform.inject(command('sondage maintenant "Utile ?" échelle 1-5 pendant 2 jours', user="UCOORD"))
    posted = next(r for r in platform.sent if isinstance(r, AskChoice))
    assert str(posted.text).startswith("📋 Pulse survey, anonymous"), posted.text
    mine = [r for r in platform.sent if isinstance(r, Ephemeral)]
    assert str(mine[-1].text).startswith("Le sondage 1 est ouvert"), mine


async def test_built_in_rituals_and_schedules_read_french(french_bot: Bot) -> None:
    _steward, platform = french_bot
    await platform.inject(command("rituels", user="UCOORD"))
    text = platform.texts()[-1]
    assert f"Et ensuite{NARROW_NBSP}?" in text and "Anniversaires" in text and "Bilan des sponsors" in text
    for english in ("What next", "Anniversaries", "every", "Sponsor digest", " at "):
        assert english not in text, english


async def test_french_help_is_typeset_and_its_examples_stay_typeable(french_bot: Bot) -> None:
    _steward, platform = french_bot
    await platform.inject(command("aide", user="UCOORD"))
    text = platform.texts()[-1]
    assert f"- `aide`{NBSP}: ce que je peux faire pour vous" in text
    assert '`sondage maintenant "Comment était la clinique Helm ?" emoji; "Autre chose ?" texte pendant 2 jours`' \
        in text  # what a member types keeps plain spaces


async def test_contributions_count_in_french(french_bot: Bot) -> None:
    _steward, platform = french_bot
    await platform.inject(command("merci à <@UBRUNO> pour l'astuce sur le chart helm", user="UANA"))
    dm = next(r for r in platform.sent if isinstance(r, DirectMessage))
    assert str(dm.text).startswith("🙏 Uana vous a remercié") or "remercié" in str(dm.text), dm.text
    await platform.inject(command("mes contributions", user="UBRUNO"))
    text = platform.texts()[-1]
    assert "1 remerciement reçu" in text and "remerciements reçus" not in text and "2,0 points" in text, text


def test_a_score_takes_the_plural_of_the_number_as_shown() -> None:
    """CLDR: French counts 0 to 1.9 as one ("1,5 point"), English only an integer 1 ("1.5 points", "1.0 points")."""
    assert [plural_count(v, "fr") for v in (0.0, 1.0, 1.5, 1.96, 2.0, 24.0)] == [1, 1, 1, 2, 2, 2]  # 1.96 shows 2,0
    assert [plural_count(v, "en") for v in (0.0, 1.0, 1.5, 2.0)] == [2, 2, 2, 2]
    assert plural_count(1.0, "en", "0") == 1  # shown as "1"


def test_numbers_read_french() -> None:
    assert decimal(6.5, "fr") == "6,5" and decimal(6.5, "en") == "6.5"
    assert percent(1, 1, "fr") == f"100{NBSP}%" and percent(1, 1, "en") == "100%"
    assert signed_decimal(-0.5, "fr") == "-0,5" and signed_decimal(0.25, "en", "0") == "+0"


async def test_a_french_sponsor_gets_the_closing_dm_in_french_while_the_channel_stays_english(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    await platform.inject(command("langue fr", user="USPONSOR", direct=True))
    await platform.inject(command("consulter k8s : faut-il standardiser sur Helm ? jusqu'à vendredi, en choix : "
                                  "oui / non", user="USPONSOR", direct=True))
    ask = next(r for r in platform.sent if isinstance(r, AskChoice))
    assert str(ask.text).startswith("📣 **A sponsor asks the community**"), ask.text  # the community's language
    await platform.inject(pick(ask.key, "0", user="UANA"))
    async with steward.db.session() as session:
        consultation = (await session.exec(select(Consultation))).one()
    out = await due_at(steward, platform, consultation.deadline + timedelta(minutes=1))
    dm = next(r for r in out if isinstance(r, DirectMessage))
    assert dm.user == "USPONSOR" and "1 voix." in dm.text and "voice" not in dm.text, dm.text
    note = next(r for r in out if isinstance(r, ReplyInThread))
    assert "delivered to the sponsor" in note.text, note.text


async def test_survey_comments_reach_a_french_coordinator_in_french(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    await platform.inject(command("langue fr", user="UCOORD", direct=True))
    await platform.inject(command('sondage maintenant "Utile ?" échelle 1-5; "Autre chose ?" texte pendant 2 jours',
                                  user="UCOORD"))
    for i in range(5):
        await platform.inject(command(f"answer survey 1: more labs please {i}", user=f"U{i}", direct=True))
    async with steward.db.session() as session:
        survey = (await session.exec(select(Survey))).one()
    out = await due_at(steward, platform, survey.closes_at + timedelta(minutes=1))
    results = next(r for r in out if isinstance(r, Post) and "📊" in r.text)
    assert "📊 Results of the pulse survey" in results.text and "5 comments" in results.text, results.text
    dm = next(r for r in out if isinstance(r, DirectMessage))
    assert dm.user == "UCOORD" and dm.text.startswith(
        f"Commentaires du sondage «{NBSP}Utile ?{NBSP}» (anonymes){NBSP}:"), dm.text
