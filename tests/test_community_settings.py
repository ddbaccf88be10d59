"""The community from chat (issue 16, point 3): `settings` and its changes, roles, `who is core`, `stats`,
and how chat changes and the config file relate across restarts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.community_settings import effective
from bot.config import Config
from bot.core import Steward
from bot.digest.report import month_bounds, shift
from bot.events import Sender
from bot.features import build_router
from rituals.setup import sync_config_rituals
from storage.communities import ensure_channel, get_community
from storage.db import Database
from storage.members import ensure_member
from storage.messages import store_message
from storage.models import Ritual, SettingsChange
from tests.events import command

COORD, SPONSOR = "UCOORD", "USPONSOR"
Bot = tuple[Steward, RecordingAdapter]


async def _say(bot: Bot, text: str, user: str = COORD, **kw: object) -> str:
    _, platform = bot
    await platform.inject(command(text, user=user, **kw))
    return platform.texts()[-1]


async def _community_tz(steward: Steward) -> str:
    async with steward.db.session() as session:
        community = await get_community(session, "k8s")
    assert community is not None
    return community.timezone


async def test_settings_show_each_value_and_where_it_comes_from(bot: Bot) -> None:
    """Before: `settings` was "I didn't get that"."""
    shown = await _say(bot, "settings", user=SPONSOR)
    assert shown.startswith("⚙️ Settings of **Kubernetes CoP**:")
    assert "- Time zone: UTC (from the config file)" in shown
    assert "- Survey threshold (fewest answers shown): 5 (from the config file)" in shown
    assert "- Sponsors: USPONSOR (from the config file)" in shown
    assert "Only this community's sponsors and coordinators" in await _say(bot, "settings", user="UANA")


async def test_a_change_is_logged_with_who_made_it_and_the_rituals_follow(bot: Bot, config: Config) -> None:
    steward, _ = bot
    await sync_config_rituals(steward.db, config)
    answer = await _say(bot, "set time zone europe/paris")
    assert answer.startswith("✅ Time zone: UTC → Europe/Paris.")
    assert await _community_tz(steward) == "Europe/Paris"
    async with steward.db.session() as session:
        system = (await session.exec(select(Ritual).where(Ritual.source == "system"))).all()
    assert system and {r.timezone for r in system} == {"Europe/Paris"}  # built-in moments at 10:00 Paris time now
    assert "- Time zone: Europe/Paris (changed by Ucoord on " in await _say(bot, "settings")
    history = await _say(bot, "settings history", user=SPONSOR)
    assert "Time zone UTC → Europe/Paris, by Ucoord" in history
    assert "already Europe/Paris" in await _say(bot, "set timezone Europe/Paris")
    assert "not a time zone I know" in await _say(bot, "set time zone Mars/Olympus")
    assert "Which setting?" in await _say(bot, "set colour blue")
    assert "Only this community's coordinators" in await _say(bot, "set time zone UTC", user=SPONSOR)
    assert await _community_tz(steward) == "Europe/Paris"


async def test_a_restart_keeps_chat_changes_and_a_config_edit_wins_again(db: Database, config: Config) -> None:
    """The config file seeds; chat overrides and persists; `steward run` never reverts it silently; a later
    edit of the same key in the file wins (and is logged as the config file's change)."""
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    bot = (steward, platform)
    await _say(bot, "set time zone Europe/Paris")
    await _say(bot, "set purpose We help each other run Kubernetes well")
    await _say(bot, "add coordinator <@UANA>")
    await sync_communities(steward)  # a restart with the same config file
    assert await _community_tz(steward) == "Europe/Paris"
    shown = await _say(bot, "settings", user="UANA")  # Ana is a coordinator now, after the restart too
    assert "“We help each other run Kubernetes well”" in shown and "- Coordinators: Ucoord, UANA (changed by" in shown
    await steward.stop()

    edited = dataclasses.replace(config, communities=(dataclasses.replace(
        config.communities[0], timezone="America/Montreal", purpose="Kubernetes, together"),))
    steward = Steward(db, edited, build_router())
    await sync_communities(steward)  # the operator edited those two keys in the file: the file wins for them
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    bot = (steward, platform)
    assert await _community_tz(steward) == "America/Montreal"
    shown = await _say(bot, "settings")
    assert "- Time zone: America/Montreal (changed by the config file on " in shown
    assert "“Kubernetes, together”" in shown and "UANA" in shown  # coordinators: untouched in the file, kept
    history = await _say(bot, "settings history")
    assert "Time zone Europe/Paris → America/Montreal, by the config file" in history
    await steward.stop()


async def test_coordinators_and_sponsors_are_managed_in_chat(bot: Bot) -> None:
    assert "Only this community's" in await _say(bot, "add coordinator <@UANA>", user="UANA")
    assert (await _say(bot, "add coordinator <@UANA>")).startswith("✅ Coordinators: Ucoord, UANA.")
    assert "⚙️" in await _say(bot, "settings", user="UANA")  # she is a coordinator now
    assert (await _say(bot, "add sponsor <@UGRACE>", user="UANA")).startswith("✅ Sponsors: USPONSOR, UGRACE.")
    assert "Core group" in await _say(bot, "who is core", user="UGRACE")
    assert "already listed" in await _say(bot, "add sponsor <@UGRACE>")
    assert "is not a sponsor here" in await _say(bot, "remove sponsor <@UCOORD>")
    assert "I don't know @UBOB" in await _say(bot, "remove sponsor <@UBOB>")
    assert (await _say(bot, "remove coordinator <@UCOORD>", user="UANA")).startswith("✅ Coordinators: UANA.")
    assert "Only this community's sponsors and coordinators" in await _say(bot, "settings history")  # not any more
    assert "at least one coordinator" in await _say(bot, "remove coordinator <@UANA>", user="UANA")
    assert "Mention who" in await _say(bot, "add coordinator Ana", user="UANA")


async def test_a_sponsor_added_in_chat_gets_the_monthly_digest(db: Database, config: Config) -> None:
    unsponsored = dataclasses.replace(config, communities=(dataclasses.replace(config.communities[0], sponsors=()),))
    steward = Steward(db, unsponsored, build_router())
    await sync_communities(steward)
    await sync_config_rituals(db, unsponsored)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()

    async def digest_ritual() -> Ritual | None:
        async with db.session() as session:
            return (await session.exec(select(Ritual).where(Ritual.source_key == "system:digest"))).first()

    assert await digest_ritual() is None
    await _say((steward, platform), "add sponsor <@UGRACE>")
    ritual = await digest_ritual()
    assert ritual is not None and ritual.status == "active"
    await sync_config_rituals(db, unsponsored)  # a restart keeps it: the sponsor set in chat is a setting
    assert (ritual := await digest_ritual()) is not None and ritual.status == "active"
    await steward.stop()


async def test_leaderboard_quotes_and_threshold_follow_chat(bot: Bot) -> None:
    steward, _ = bot
    assert "no leaderboard" in await _say(bot, "leaderboard", user="UANA")
    assert (await _say(bot, "set leaderboard levels")).startswith("✅ Leaderboard: off → levels.")
    assert "no leaderboard" not in await _say(bot, "leaderboard", user="UANA")
    assert (await _say(bot, "set quotes on")).startswith("✅ Quotes by default: off → on.")
    assert "whole number from 3 to 1000" in await _say(bot, "set survey threshold 2")
    await _say(bot, "set survey threshold 7")
    async with steward.db.session() as session:
        community = await get_community(session, "k8s")
    assert community is not None
    cc = effective(steward.config, community)
    assert cc is not None and (cc.leaderboard, cc.quotes, cc.survey_min_answers) == ("levels", True, 7)


async def _activity(steward: Steward, month_start: datetime, counts: dict[str, int]) -> None:
    """`counts[user]` messages by each user in the month starting at `month_start`."""
    async with steward.db.session() as session:
        community = await get_community(session, "k8s")
        assert community is not None and community.id is not None
        channel = await ensure_channel(session, community, "recording", "C1")
        for user, n in counts.items():
            member = await ensure_member(session, community.id, "recording", user, display_name=user.title())
            for i in range(n):
                await store_message(session, community_id=community.id, channel_id=channel.id or 0,
                                    author_id=member.id or 0, platform_id=f"{user}.{i}", text=f"note {i}",
                                    posted_at=month_start + timedelta(days=1, hours=i))


async def test_who_is_core_names_for_coordinators_counts_for_sponsors(bot: Bot) -> None:
    """Before: `who is core` was "I didn't get that"."""
    steward, platform = bot
    last = shift(datetime.now(UTC).date().replace(day=1), -1)
    start, _end = month_bounds(last, "UTC")
    await _activity(steward, start, {"UANA": 9, "UBOB": 8, "UZOE": 2, "UOUT": 10})
    await platform.inject(command("opt out", user="UOUT"))
    coordinator = await _say(bot, "who is core")
    assert "members with at least 8 messages and contributions that month" in coordinator
    assert "- Core: Uana, Ubob" in coordinator and "Uout" not in coordinator
    assert "opted out or forgotten" in coordinator and "- Periphery (the other active members): 1" in coordinator
    sponsor = await _say(bot, "who is core", user=SPONSOR)
    assert "- Core: 3" in sponsor and "Uana" not in sponsor and "Ubob" not in sponsor
    assert "Only this community's sponsors" in await _say(bot, "who is core", user="UANA")
    assert "- Core: nobody" in await _say(bot, f"who is core {shift(last, -1):%Y-%m}")
    assert "year-month" in await _say(bot, "who is core last spring")


async def test_stats_sets_this_month_next_to_the_last(bot: Bot) -> None:
    steward, _ = bot
    last = shift(datetime.now(UTC).date().replace(day=1), -1)
    await _activity(steward, month_bounds(last, "UTC")[0], {"UANA": 3, "UBOB": 1})
    shown = await _say(bot, "stats", user=SPONSOR)
    assert shown.startswith("📈 **Kubernetes CoP** in numbers, ")
    assert f"- Active members: 0 ({last:%B %Y}: 2)" in shown
    assert "- Members known: 2; channels: 1; active rituals: 0" in shown
    assert "Only this community's sponsors" in await _say(bot, "stats", user="UANA")


async def test_in_french_with_french_typography(bot: Bot) -> None:
    await _say(bot, "langue fr")
    shown = await _say(bot, "réglages")
    assert shown.startswith("⚙️ Réglages de la communauté **Kubernetes CoP**\u00a0:")
    assert "- Fuseau horaire\u00a0: UTC (fichier de configuration)" in shown
    changed = await _say(bot, "régler fuseau Europe/Paris")
    assert changed.startswith("✅ Fuseau horaire\u00a0: UTC → Europe/Paris.")
    assert "Europe/Paris, par Ucoord" in await _say(bot, "historique des réglages")
    assert "Noyau de la communauté Kubernetes CoP en" in await _say(bot, "qui est le noyau")
    assert "en chiffres" in await _say(bot, "statistiques")
    assert "Quel réglage\u202f?" in await _say(bot, "régler couleur bleu")


async def test_the_terminal_runs_a_local_community_until_it_has_coordinators(db: Database, tmp_path: object) -> None:
    """A community no config file names: the person at the terminal is its coordinator until coordinators are
    set in chat; from then on only they are."""
    from app.runtime import ensure_local_community

    steward = Steward(db, Config(data_dir=tmp_path), build_router())  # type: ignore[arg-type]
    await ensure_local_community(steward, "guild")
    async with db.session() as session:  # Bruno is someone this community knows
        guild = await get_community(session, "guild")
        assert guild is not None and guild.id is not None
        await ensure_member(session, guild.id, "console", "bruno", display_name="Bruno")
    platform = RecordingAdapter("console")
    steward.add_adapter(platform)
    await steward.start_adapters()

    async def say(text: str, user: str) -> str:
        event = command(text, user=user, direct=True)
        await platform.inject(dataclasses.replace(event, platform="console", community="guild",
                                                  sender=Sender(id=user, display_name=user.title(), operator=True)))
        return platform.texts()[-1]

    assert "initial value" in await say("settings", "sam")
    assert "I don't know @brunno" in await say("add coordinator @brunno", "sam")  # a typo names no one
    assert (await say("add coordinator @bruno", "sam")).startswith("✅ Coordinators: Bruno.")
    assert "Only this community's" in await say("settings", "sam")  # sam is no longer in charge
    assert "⚙️" in await say("settings", "bruno")
    async with db.session() as session:
        change = (await session.exec(select(SettingsChange))).one()
    assert (change.key, change.changed_by, change.new_value) == ("coordinators", "console:sam", '["console:bruno"]')
    await steward.stop()
