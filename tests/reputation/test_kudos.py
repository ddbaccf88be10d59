"""Kudos: the command (one or several people), refusals, the anti-gaming window, reactions, plain messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from bot.replies import DirectMessage, React
from storage.db import Database
from tests.events import command, message
from tests.reputation.conftest import ledger, react

Bot = tuple[Steward, RecordingAdapter]


def _dms(platform: RecordingAdapter) -> dict[str, str]:
    return {r.user: r.text for r in platform.sent if isinstance(r, DirectMessage)}


async def test_thanking_several_people_tells_each_of_them(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(command("thanks <@UBRUNO> and <@UCHLOE> for the helm chart tip!", user="UANA"))
    dms = _dms(platform)
    assert set(dms) == {"UBRUNO", "UCHLOE"}
    assert "Uana thanked you for: the helm chart tip" in dms["UBRUNO"] and "steward://message/C1/" in dms["UBRUNO"]
    assert platform.texts()[-1].startswith("Thanks passed on to UBRUNO, UCHLOE")
    assert await ledger(steward) == [("UBRUNO", "thanked", "chart helm tip"), ("UCHLOE", "thanked", "chart helm tip")]


async def test_french_form_and_the_receivers_language(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(command("langue fr", user="UBRUNO"))
    platform.sent.clear()
    await platform.inject(command("merci à <@UBRUNO> pour la revue du chart", user="UANA"))
    assert "vous a remercié" in _dms(platform)["UBRUNO"]
    assert [k for _u, k, _t in await ledger(steward)] == ["thanked"]


async def test_self_bots_and_repeats_are_refused_kindly(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(command("thanks <@UANA> for my own tip", user="UANA"))
    assert "Thanking yourself doesn't count" in platform.texts()[-1]
    await platform.inject(command("thanks <@steward> for the help", user="UANA"))
    assert "Kudos are for people" in platform.texts()[-1]
    await platform.inject(command("thanks <@UBRUNO> for the tip", user="UANA"))
    platform.sent.clear()
    await platform.inject(command("thanks <@UBRUNO> for another tip", user="UANA"))  # within 24 h
    assert "already thanked UBRUNO" in platform.texts()[-1] and not _dms(platform)
    await platform.inject(command("thanks <@UBRUNO> for the tip", user="UCHLOE"))  # someone else may
    assert [(u, k) for u, k, _t in await ledger(steward)] == [("UBRUNO", "thanked"), ("UBRUNO", "thanked")]


async def test_repeat_after_the_window_counts_again(bot: Bot) -> None:
    steward, platform = bot
    first = command("thanks <@UBRUNO> for the tip", user="UANA")
    await platform.inject(replace(first, at=first.at - timedelta(hours=25)))
    await platform.inject(command("thanks <@UBRUNO> for today's tip", user="UANA"))
    assert len(await ledger(steward, "UBRUNO")) == 2


async def test_thanks_without_anyone_is_answered_kindly(bot: Bot) -> None:
    _steward, platform = bot
    await platform.inject(command("thanks!", user="UANA"))
    assert platform.texts()[-1].startswith("You're welcome!")


async def test_opted_out_people_are_not_recorded(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(command("opt out", user="UBRUNO"))
    await platform.inject(command("kudos <@UBRUNO> for the tip", user="UANA"))
    assert "opted out" in platform.texts()[-1]
    assert await ledger(steward) == []


async def test_pray_reaction_thanks_the_author(bot: Bot) -> None:
    steward, platform = bot
    tip = message("pin helm chart versions in a lock file", user="UBRUNO")
    await platform.inject(tip)
    await platform.inject(react(tip.message_id, "pray", user="UANA"))
    await platform.inject(react(tip.message_id, "pray", user="UBRUNO"))  # their own message: refused silently
    await platform.inject(react(tip.message_id, "+1", user="UCHLOE"))  # not a kudos reaction
    assert [(u, k) for u, k, _t in await ledger(steward)] == [("UBRUNO", "thanked")]
    assert "UANA thanked you for your message" in _dms(platform)["UBRUNO"]


async def test_kudos_reactions_are_configurable(db: Database, config: Config) -> None:
    custom = replace(config, communities=(replace(config.communities[0], kudos_reactions=("raised_hands",)),))
    steward = Steward(db, custom, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    tip = message("use kubectl debug for distroless pods", user="UBRUNO")
    await platform.inject(tip)
    await platform.inject(react(tip.message_id, "pray", user="UANA"))
    await platform.inject(react(tip.message_id, "raised_hands", user="UCHLOE"))
    assert [(u, k) for u, k, _t in await ledger(steward)] == [("UBRUNO", "thanked")]
    await steward.stop()


async def test_plain_thanks_in_the_channel_counts_and_steward_only_reacts(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(message("thanks <@UBRUNO> for the quick fix on the ingress", user="UANA"))
    await platform.inject(message("no thanks <@UCHLOE>", user="UANA"))
    assert [(u, k) for u, k, _t in await ledger(steward)] == [("UBRUNO", "thanked")]
    assert any(isinstance(r, React) and r.emoji == "sparkles" for r in platform.sent)
    assert set(_dms(platform)) == {"UBRUNO"}
