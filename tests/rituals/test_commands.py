"""Coordinators manage rituals in chat (English and French); members are refused kindly."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.errors import ConfigError
from bot.replies import AskChoice
from storage.models import Ritual
from tests.events import command, pick
from tests.rituals.conftest import COORD, Bot, make_ritual


async def _ritual(bot: Bot, ritual_id: int) -> Ritual:
    async with bot[0].db.session() as session:
        ritual = await session.get(Ritual, ritual_id)
    assert ritual is not None
    return ritual


async def test_schedule_shows_three_dates_then_saves_on_yes(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    await platform.inject(command('schedule meetup "Helm clinic" every 2nd tuesday at 16:00 America/Montreal in #C1',
                                  user=COORD))
    ask = platform.sent[-1]
    assert isinstance(ask, AskChoice) and ask.user == COORD
    assert "Helm clinic" in ask.text and ask.text.count("\n- ") == 3 and "16:00" in ask.text
    ritual_id = int(ask.key.rsplit(":", 1)[1])
    assert (await _ritual(ritual_bot, ritual_id)).status == "draft"
    await platform.inject(pick(ask.key, "yes", user=COORD))
    saved = await _ritual(ritual_bot, ritual_id)
    assert saved.status == "active" and saved.rrule == "FREQ=MONTHLY;BYDAY=+2TU"
    assert saved.timezone == "America/Montreal" and saved.channel == "recording:C1"
    assert "Saved" in platform.texts()[-1]


async def test_french_form_and_no_keeps_nothing(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    await platform.inject(command('planifier rencontre "Clinique Helm" chaque 2e mardi à 16h00 Europe/Paris',
                                  user=COORD))
    ask = platform.sent[-1]
    assert isinstance(ask, AskChoice)
    assert ask.key.endswith("@fr")  # typed in French, no stated preference: the answer is handled in French
    await platform.inject(pick(ask.key, "no", user=COORD))
    async with steward.db.session() as session:
        assert await session.get(Ritual, int(ask.key.removesuffix("@fr").rsplit(":", 1)[1])) is None


async def test_bad_schedule_is_answered_with_the_form_and_an_example(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    await platform.inject(command('schedule meetup "Helm clinic" every blue moon at 16:00', user=COORD))
    answer = platform.texts()[-1]
    assert "blue" in answer and 'schedule meetup "Helm clinic" every 2nd tuesday at 16:00' in answer


async def test_bad_schedule_in_french_is_answered_wholly_in_french(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    await platform.inject(command('planifier rencontre "Clinique Helm" chaque lune bleue à 16h00', user=COORD))
    answer = platform.texts()[-1]
    assert answer.startswith("Je n'ai pas compris ce calendrier") and "«\u00a0lune\u00a0»" in answer, answer
    await platform.inject(command('planifier rencontre "Clinique Helm" chaque mardi à 16h00 Mars/Olympe', user=COORD))
    answer = platform.texts()[-1]
    assert "«\u00a0Mars/Olympe\u00a0» n'est pas un fuseau horaire" in answer and "is not" not in answer, answer


async def test_members_cannot_manage_rituals(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00')
    for text in ('schedule meetup "X" every friday at 10:00', "rituals", f"pause ritual {ritual.id}",
                 f"cancel ritual {ritual.id}", f"edit ritual {ritual.id} every friday at 10:00", "schedule"):
        await platform.inject(command(text, user="UANA"))
        assert "Only this community's coordinators" in platform.texts()[-1], text
    await platform.inject(pick(f"ritual:edit:{ritual.id}", "yes", user="UANA"))
    assert "Only this community's coordinators" in platform.texts()[-1]
    assert (await _ritual(ritual_bot, ritual.id or 0)).revision == ritual.revision


async def test_pause_resume_cancel_and_list(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00')
    await platform.inject(command(f"pause ritual {ritual.id}", user=COORD))
    paused = await _ritual(ritual_bot, ritual.id or 0)
    assert paused.status == "paused" and paused.revision > ritual.revision
    await platform.inject(command("rituals", user=COORD))
    assert "Helm clinic" in platform.texts()[-1] and "paused" in platform.texts()[-1]
    await platform.inject(command(f"resume ritual {ritual.id}", user=COORD))
    assert (await _ritual(ritual_bot, ritual.id or 0)).status == "active"
    await platform.inject(command(f"annuler rituel {ritual.id}", user=COORD))
    assert (await _ritual(ritual_bot, ritual.id or 0)).status == "cancelled"
    await platform.inject(command(f"pause ritual {ritual.id}", user=COORD))
    assert f"is cancelled. Say `resume ritual {ritual.id}`" in platform.texts()[-1]
    await platform.inject(command("pause ritual 99", user=COORD))
    assert "no ritual" in platform.texts()[-1]
    await platform.inject(command("pause ritual helm", user=COORD))
    assert "pause ritual 3" in platform.texts()[-1]


async def test_edit_shows_new_dates_and_applies_on_yes(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    ritual = await make_ritual(ritual_bot, '"Helm clinic" every 2nd tuesday at 16:00')
    await platform.inject(command(f"edit ritual {ritual.id} every last friday at 15:00", user=COORD))
    ask = platform.sent[-1]
    assert isinstance(ask, AskChoice) and "15:00" in ask.text
    assert (await _ritual(ritual_bot, ritual.id or 0)).rrule == "FREQ=MONTHLY;BYDAY=+2TU"  # not before yes
    await platform.inject(pick(ask.key, "yes", user=COORD))
    edited = await _ritual(ritual_bot, ritual.id or 0)
    assert edited.rrule == "FREQ=MONTHLY;BYDAY=-1FR" and edited.dtstart.endswith("15:00:00")


async def test_guided_dialogue_builds_the_same_ritual(ritual_bot: Bot) -> None:
    _, platform = ritual_bot
    await platform.inject(command("schedule", user=COORD))
    for answer in ("meetup", "second", "tuesday", "16:00"):
        ask = platform.sent[-1]
        assert isinstance(ask, AskChoice), platform.texts()[-1]
        assert answer in {o.id for o in ask.options}
        await platform.inject(pick(ask.key, answer, user=COORD))
    assert platform.texts()[-1].startswith("What is its title?")
    await platform.inject(command("Helm clinic", user=COORD))  # free text: the answer, not a command
    assert platform.texts()[-1].startswith("What should the announcement say")
    await platform.inject(command("Bring your Helm questions!", user=COORD))
    confirm = platform.sent[-1]
    assert isinstance(confirm, AskChoice) and confirm.key.startswith("ritual:confirm:")
    assert "“Helm clinic”" in confirm.text
    await platform.inject(pick(confirm.key, "yes", user=COORD))
    saved = await _ritual(ritual_bot, int(confirm.key.rsplit(":", 1)[1]))
    assert saved.rrule == "FREQ=MONTHLY;BYDAY=+2TU" and saved.status == "active"
    assert saved.title == "Helm clinic" and '"message": "Bring your Helm questions!"' in saved.settings


def test_config_rituals_are_checked_key_by_key() -> None:
    base = {"community": [{"slug": "k8s", "timezone": "America/Montreal",
                           "rituals": [{"title": "Helm clinic", "schedule": "every 2nd tuesday at 16:00"}]}]}
    config = parse_config(base)
    assert config.communities[0].rituals[0].title == "Helm clinic"
    bad = {"community": [{"slug": "k8s", "rituals": [{"title": "X", "schedule": "every blue moon at 16:00"}]}]}
    with pytest.raises(ConfigError) as err:
        parse_config(bad)
    assert err.value.key == "community[0].rituals[0].schedule" and "blue" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_config({"community": [{"slug": "k8s", "rituals": [{"title": "X", "schedule": "every day at 9:00",
                                                                  "remnders": [1]}]}]})
    assert err.value.key == "community[0].rituals[0].remnders" and "reminders" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_config({"steward": {"misfire_grace_time": "1h"}})
    assert err.value.key == "steward.misfire_grace_time"
