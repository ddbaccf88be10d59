"""What one event costs the database, and what the process may remember between events (bot/directory.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, update
from sqlmodel import select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.core import Steward
from bot.directory import Directory
from storage import prepared
from storage.models import Community, Member, Message
from tests.events import command, message

Bot = tuple[Steward, RecordingAdapter]


@pytest.fixture
def statements(bot: Bot) -> Iterator[list[str]]:
    """Every statement the bot's engine sends from now on."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql.split()[0].upper())

    def note_prepared(sql: str) -> None:  # the hot statements skip SQLAlchemy's events (storage/prepared.py)
        seen.append(sql.split()[0].upper())

    sync = bot[0].db.engine.sync_engine
    sa_event.listen(sync, "before_cursor_execute", note)
    prepared.WATCHERS.append(note_prepared)
    yield seen
    prepared.WATCHERS.remove(note_prepared)
    sa_event.remove(sync, "before_cursor_execute", note)


async def test_a_known_channel_and_community_cost_no_query(bot: Bot, statements: list[str]) -> None:
    steward, platform = bot
    await platform.inject(command("help"))  # the first event of the process looks them up
    await steward.delivery.idle()
    statements.clear()
    await platform.inject(command("help", user="UBOB"))
    ours = [s for s in statements if s not in ("BEGIN", "COMMIT", "DELETE")]  # DELETE: the crossing out
    assert ours == ["INSERT", "SELECT", "INSERT"]  # the claim, the member, the kept reply


async def test_an_indexed_message_of_a_new_member_looks_them_up_once(bot: Bot, statements: list[str]) -> None:
    _, platform = bot
    await platform.inject(message("how do I roll back a helm release?", user="UNEW1"))
    statements.clear()
    await platform.inject(message("and how do I pin a chart version?", user="UNEW2"))
    assert statements.count("SELECT") == 1  # the member (none yet); the message is inserted without a look
    assert "SAVEPOINT" not in statements  # a failure rolls the whole transaction back instead (bot/core.py)


async def test_a_message_seen_twice_is_stored_once(bot: Bot) -> None:
    """Imported history and the live event of the same message: the insert finds it and adds nothing."""
    steward, platform = bot
    await platform.inject(message("how do I roll back a helm release?", message_id="1700.1", event_id="a"))
    await platform.inject(message("how do I roll back a helm release?", message_id="1700.1", event_id="b"))
    async with steward.db.session() as session:
        stored = (await session.exec(select(func.count()).select_from(Message))).one()
    assert stored == 1


async def test_members_are_never_remembered(bot: Bot) -> None:
    """Another process may forget or change a member: each event reads the row again."""
    steward, platform = bot
    await platform.inject(message("helm is great", user="UANA"))
    async with steward.db.session() as session:
        await session.exec(update(Member).where(Member.platform_user_id == "UANA").values(locale="fr"))  # type: ignore[call-overload]
    await platform.inject(command("help", user="UANA"))
    assert platform.texts()[-1].startswith("Bonjour\u202f! Je suis Steward")


async def test_community_rows_are_fresh_after_a_sync(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(command("help"))
    async with steward.db.session() as session:
        await session.exec(update(Community).values(name="Renamed CoP"))  # type: ignore[call-overload]
    await sync_communities(steward)  # the config wins again, and what this process kept is dropped
    kept = await _community(steward)
    assert kept is not None and kept.name == "Kubernetes CoP"


async def test_a_community_row_is_kept_for_its_ttl_only(bot: Bot) -> None:
    steward, _ = bot
    now = [0.0]
    directory = Directory(ttl=60.0, clock=lambda: now[0])
    async with steward.db.session() as session:
        first = await directory.community_by_slug(session, "k8s")
    async with steward.db.session() as session:
        await session.exec(update(Community).values(locale="fr"))  # type: ignore[call-overload]
    async with steward.db.session() as session:
        assert await directory.community_by_slug(session, "k8s") is first  # within the TTL: kept
    now[0] = 61.0
    async with steward.db.session() as session:
        again = await directory.community_by_slug(session, "k8s")
    assert again is not None and again.locale == "fr"


async def _community(steward: Steward) -> Community | None:
    async with steward.db.session() as session:
        return await steward.services.directory.community_by_slug(session, "k8s")


async def test_help_made_once_still_follows_who_asks(bot: tuple[Steward, RecordingAdapter]) -> None:
    """The help text is kept per language and role view (bot/features/help.py): a member asking right after
    a coordinator must not see the coordinators' commands, and the coordinator must still see them."""
    _steward, platform = bot
    for user, sees_coordinator_commands in (("UCOORD", True), ("UANA", False), ("UCOORD", True), ("UANA", False)):
        await platform.inject(command("help", user=user))
        text = platform.texts()[-1]
        assert text.startswith("Hi! I'm Steward")
        assert ("rotate calendar link" in text) is sees_coordinator_commands, (user, text)
    english = platform.texts()[-1]
    await platform.inject(command("aide", user="UCOORD"))  # the same view in another language is another text
    assert platform.texts()[-1].startswith("Bonjour") and platform.texts()[-1] != english
