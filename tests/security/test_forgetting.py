"""Forgetting that lasts: after `forget me` (or an `opt out`, even from someone Steward does not know yet),
no re-import, live message, second community or second process brings the person back, and no table of
the whole database still holds their platform id or their words (only their tombstone: a keyed hash)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlmodel import col

from adapters.recording import RecordingAdapter
from app.cli_import import import_slack_export
from app.runtime import sync_communities
from bot import reply_codec
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.events import ChoicePicked, MemberJoined, MessagePosted, ReactionAdded, Sender
from bot.features import build_router
from bot.replies import AskChoice, DirectMessage, Post
from storage import inbound, outbox
from storage.db import Database
from storage.models import (
    AgendaItem,
    Consultation,
    ConsultationVoice,
    Contribution,
    ExploreIdea,
    IntroPair,
    MatrixPoll,
    Meetup,
    MeetupRsvp,
    Member,
    MemberPreference,
    Message,
    Reaction,
    Ritual,
    Survey,
    SurveyAnswer,
    Tombstone,
)
from storage.surveys import answer_token
from storage.types import utcnow
from tests.routing.test_follow import FAST, eventually, top
from tests.slack_export import write_export

WORD = "zorblatt"  # a word only the forgotten person ever writes
Bot = tuple[Steward, RecordingAdapter]
_n = iter(range(1, 1_000_000))


def said(text: str, user: str, *, platform: str = "recording", channel: str = "C1", addressed: bool = False,
         direct: bool = False, thread: str | None = None) -> MessagePosted:
    """A message event on any platform (tests/events.py builds recording ones only)."""
    n = next(_n)
    return MessagePosted(event_id=f"sec-{n}", platform=platform, channel=channel, sender=Sender(id=user),
                         message_id=f"{1800000000 + n}.000100", text=text, addressed=addressed or direct,
                         command_text=text if (addressed or direct) else "", thread=thread, is_direct=direct,
                         at=datetime.now(UTC))


def picked(key: str, user: str, *, platform: str = "recording", channel: str = "C1") -> ChoicePicked:
    return ChoicePicked(event_id=f"sec-pick-{next(_n)}", platform=platform, channel=channel,
                        sender=Sender(id=user), key=key, option="yes")


async def forget(platform: RecordingAdapter, user: str, *, channel: str = "C1") -> None:
    """`forget me`, confirmed."""
    await platform.inject(said("forget me", user, platform=platform.platform, channel=channel, addressed=True))
    question = platform.sent[-1]
    assert isinstance(question, AskChoice), platform.texts()[-1]
    await platform.inject(picked(question.key, user, platform=platform.platform, channel=channel))
    assert any(done in platform.texts()[-1] for done in ("I've forgotten you", "je vous ai oublié"))


async def traces(db: Database, *needles: str) -> list[str]:
    """Every `table.column` of the whole database holding one of `needles` (case-insensitive).

    Structural: the tables and columns are read from the database itself, whatever created them, and
    every column is read as text; a column added tomorrow is scanned too.
    """
    async with db.engine.connect() as conn:
        layout = await conn.run_sync(lambda c: {t: [k["name"] for k in inspect(c).get_columns(t)]
                                                for t in inspect(c).get_table_names()})
        found = []
        for table, columns in sorted(layout.items()):
            for column in columns:
                for needle in needles:
                    n = (await conn.execute(text(
                        f'SELECT count(*) FROM "{table}" WHERE lower(CAST("{column}" AS TEXT)) LIKE :p'),
                        {"p": f"%{needle.lower()}%"})).scalar_one()
                    if n:
                        found.append(f"{table}.{column}: {needle}")
    return found


async def count(db: Database, stmt: object) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())  # type: ignore[call-overload]


async def messages_of(db: Database, user: str) -> int:
    return await count(db, select(func.count()).select_from(Message).join(Member, col(Member.id) == Message.author_id)
                       .where(col(Member.platform_user_id) == user))


async def member_rows(db: Database, user: str) -> int:
    return await count(db, select(func.count()).select_from(Member).where(col(Member.platform_user_id) == user))


# ---------------------------------------------------------------------------------------------------------
# A re-imported Slack export brings nobody back.


def synthetic_export(root: Path) -> Path:
    """A seeded Slack export (40 members, 3 channels, 20 days), plus days the tests add mentioning people."""
    return write_export(root, members=40, channels=3, days=20, per_day=50, seed=7)


def add_day(export: Path, channel: str, day: str, messages: list[dict[str, object]]) -> None:
    (export / channel / f"{day}.json").write_text(json.dumps(messages), encoding="utf-8")


@pytest.fixture
async def slack_bot(db: Database, config: Config) -> AsyncIterator[Bot]:
    """The whole bot on a recording adapter that calls itself "slack", the platform of the export."""
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter("slack")
    steward.add_adapter(platform)
    await steward.start_adapters()
    yield steward, platform
    await steward.stop()


def most_active(export: Path, n: int) -> list[tuple[str, int]]:
    """The `n` most active authors of an export, with their message counts."""
    return Counter(m["user"] for day in export.glob("*/*.json") for m in json.loads(day.read_text())).most_common(n)


async def test_forget_me_then_the_same_export_again_brings_none_of_them_back(
        db: Database, slack_bot: Bot, tmp_path: Path) -> None:
    _steward, platform = slack_bot
    export = synthetic_export(tmp_path)
    channel = json.loads((export / "channels.json").read_text())[0]
    [(author, written)] = most_active(export, 1)
    assert written > 300
    add_day(export, channel["name"], "2024-01-21", [
        {"type": "message", "user": "U0000002", "text": f"ask <@{author}> about it", "ts": "1705795300.0001",
         "reactions": [{"name": "pray", "users": [author], "count": 1}]}])
    await import_slack_export(db, export, "k8s", progress=False)
    assert await messages_of(db, author) == written
    total = await count(db, select(func.count()).select_from(Message))

    await forget(platform, author, channel=channel["id"])
    assert await messages_of(db, author) == await member_rows(db, author) == 0
    reactions = await count(db, select(func.count()).select_from(Reaction))

    again = await import_slack_export(db, export, "k8s", progress=False)  # `steward import`, the same export
    assert again.messages_new == 0
    assert await messages_of(db, author) == await member_rows(db, author) == 0
    assert await count(db, select(func.count()).select_from(Message)) == total - written
    assert await count(db, select(func.count()).select_from(Reaction)) == reactions  # theirs stay away
    assert await traces(db, author) == []  # not even a mention in someone else's message
    async with db.engine.connect() as conn:
        mentioned = (await conn.execute(select(Message.text).where(col(Message.text).like("ask %")))).scalar_one()
    assert mentioned == "ask <@forgotten> about it"  # the others' words stay

    # And a live message of theirs afterwards is not indexed either.
    await platform.inject(said("back with a question", author, platform="slack", channel=channel["id"]))
    assert await messages_of(db, author) == await member_rows(db, author) == 0


async def test_an_opt_out_before_any_import_keeps_them_out_of_it(db: Database, slack_bot: Bot, tmp_path: Path) -> None:
    _steward, platform = slack_bot
    export = synthetic_export(tmp_path)
    channel = json.loads((export / "channels.json").read_text())[0]
    [(shy, written)] = most_active(export, 1)
    # Steward does not know them yet: no member row, no community for a direct message but the only one.
    await platform.inject(said("opt out", shy, platform="slack", channel="DSHY", direct=True))
    add_day(export, channel["name"], "2024-01-21", [
        {"type": "message", "user": "U0000002", "text": f"ask <@{shy}|shy> about it", "ts": "1705795300.0001",
         "reactions": [{"name": "pray", "users": [shy], "count": 1}]}])
    summary = await import_slack_export(db, export, "k8s", progress=False)
    assert await messages_of(db, shy) == await member_rows(db, shy) == 0
    assert summary.messages_new == summary.messages_seen - written
    assert await traces(db, shy) == []


# ---------------------------------------------------------------------------------------------------------
# `opt out` from someone Steward does not know yet.


@pytest.fixture
def two_communities(config: Config) -> Config:
    """k8s lives in C1, ops in C2: a direct message names neither."""
    ops = CommunityConfig(slug="ops", name="Ops CoP", channels=("recording:C2",), coordinators=("recording:UCOORD",))
    return replace(config, communities=(*config.communities, ops))


@pytest.fixture
async def bot2(db: Database, two_communities: Config) -> AsyncIterator[Bot]:
    steward = Steward(db, two_communities, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    yield steward, platform
    await steward.stop()


async def test_opt_out_from_a_stranger_in_a_direct_message_is_kept_and_respected(bot2: Bot) -> None:
    steward, platform = bot2
    await platform.inject(said("opt out", "UNEW", channel="DNEW", direct=True))
    assert platform.texts()[-1].startswith("Done: I won't index your messages")
    assert await count(steward.db, select(func.count()).select_from(Tombstone)) == 1
    for channel in ("C2", "C1"):
        await platform.inject(said(f"a {WORD} tip", "UNEW", channel=channel))
    await platform.inject(MemberJoined(event_id="join-new", platform="recording", channel="C2",
                                       sender=Sender(id="UNEW")))
    assert await messages_of(steward.db, "UNEW") == await member_rows(steward.db, "UNEW") == 0
    await platform.inject(said("my data", "UNEW", channel="DNEW", direct=True))
    assert "only a note that you opted out" in platform.texts()[-1]

    await platform.inject(said("opt in", "UNEW", channel="DNEW", direct=True))
    await platform.inject(said(f"a {WORD} tip, again", "UNEW", channel="C2"))
    assert await messages_of(steward.db, "UNEW") == 1
    assert await count(steward.db, select(func.count()).select_from(Tombstone)) == 0


async def test_opt_out_in_one_community_holds_in_a_community_not_joined_yet(bot2: Bot) -> None:
    steward, platform = bot2
    await platform.inject(said("kubectl tip", "UANA", channel="C1"))
    await platform.inject(said("opt out", "UANA", channel="C1", addressed=True))
    await platform.inject(said(f"{WORD} in ops", "UANA", channel="C2"))
    assert await messages_of(steward.db, "UANA") == 1  # the k8s message she wrote before
    async with steward.db.engine.connect() as conn:
        rows = (await conn.execute(select(Member.community_id, Member.opted_out)
                                   .where(col(Member.platform_user_id) == "UANA"))).all()
    assert [tuple(r) for r in rows] == [(1, True)]  # no row at all in ops


# ---------------------------------------------------------------------------------------------------------
# Nothing left anywhere, and nothing collected again.


async def seed_everything(steward: Steward, platform: RecordingAdapter, who: str) -> None:
    """Quilla leaves a trace in every kind of row Steward keeps, through chat where it is short, else directly."""
    root = said(f"how do I tune {WORD} caches?", who)
    await platform.inject(root)
    answer = said(f"<@{who}> try the LRU setting", "UBRUNO", thread=root.message_id)
    await platform.inject(answer)
    await platform.inject(said(f"thanks, the {WORD} fix worked", who, thread=root.message_id))
    await platform.inject(ReactionAdded(event_id="r1", platform="recording", channel="C1", sender=Sender(id=who),
                                        message_id=answer.message_id, emoji="white_check_mark"))
    for command in (f"I know about {WORD}", f"who knows about {WORD} eviction?", f"kudos <@UBRUNO> for the {WORD} fix",
                    "language fr"):
        await platform.inject(said(command, who, addressed=True))
    await platform.inject(said(f"thanks <@{who}> for the tip", "UBRUNO"))  # kudos to her, in his words
    db = steward.db
    async with db.session() as session:
        quilla = (await session.exec(select(Member).where(col(Member.platform_user_id) == who))).one()[0]  # type: ignore[call-overload]
        bruno = (await session.exec(select(Member).where(col(Member.platform_user_id) == "UBRUNO"))).one()[0]  # type: ignore[call-overload]
        mine, ref, now = quilla.id or 0, f"recording:{who}", utcnow()
        later = now + timedelta(days=3)
        ritual = Ritual(community_id=1, kind="meetup", title="Monthly meetup", rrule="FREQ=MONTHLY",
                        dtstart="2026-01-01T16:00:00", timezone="UTC", created_by=ref)
        survey = Survey(community_id=1, title="Pulse", salt="ab" * 32, closes_at=later, created_by=ref)
        consultation = Consultation(community_id=1, asked_by=ref, question="Which CI?", deadline=later)
        session.add_all([ritual, survey, consultation, MemberPreference(member_id=mine, quotes=True),
                         MatrixPoll(event_id="$poll", room_id="!dm:example.org", key="forget:confirm", options="[]",
                                    user_id=who)])
        await session.flush()
        meetup = Meetup(ritual_id=ritual.id or 0, starts_at=now, notes_by=mine)
        session.add(meetup)
        await session.flush()
        token = answer_token(survey.salt, "recording", who)
        pair = sorted((mine, bruno.id or 0))
        session.add_all([MeetupRsvp(meetup_id=meetup.id or 0, member_id=mine),
                         IntroPair(member_a=pair[0], member_b=pair[1]),
                         AgendaItem(meetup_id=meetup.id or 0, member_id=mine, text=f"{WORD} demo"),
                         ExploreIdea(community_id=1, member_id=mine, text=f"{WORD} next"),
                         ConsultationVoice(consultation_id=consultation.id or 0, member_id=mine, text=f"{WORD} please"),
                         SurveyAnswer(survey_id=survey.id or 0, question=0, token=token, value=f"more {WORD}")])
        await inbound.put_many(session, "recording", steward.owner, [
            ("Ev-hers", json.dumps({"user": who, "text": f"my {WORD} plan"}))])
        await outbox.keep(session, steward.owner, "recording", "Ev-x", [
            outbox.Entry(f"dm:{who}", reply_codec.encode(DirectMessage(user=who, text="for you")), tag="intro:1"),
            outbox.Entry("C1", reply_codec.encode(Post(channel="C1", text=f"ask <@{who}> about caches")))])


async def test_after_forget_me_no_table_of_the_database_holds_their_id_or_words(bot: Bot) -> None:
    steward, platform = bot
    who = "UQUILLA"
    await seed_everything(steward, platform, who)
    await steward.delivery.idle()
    before = {t.split(".")[0] for t in await traces(steward.db, who, WORD)}
    assert before >= {"member", "message", "question", "declared_topic", "contribution", "agenda_item", "explore_idea",
                      "consultation_voice", "survey_answer", "ritual", "survey", "consultation", "matrix_poll",
                      "inbound_event", "outbox_reply"}, before  # the seed reached every kind of row

    await forget(platform, who)
    await steward.delivery.idle()
    assert await traces(steward.db, who, WORD) == []
    assert await count(steward.db, select(func.count()).select_from(Tombstone)) == 1  # a keyed hash, not her id
    # What she made for the community stays, unsigned; Bruno's answer to her still counts for him.
    assert await count(steward.db, select(func.count()).select_from(Ritual).where(col(Ritual.created_by) == "")) == 1
    assert await count(steward.db, select(func.count()).select_from(Consultation)
                       .where(col(Consultation.asked_by) == "")) == 1
    assert await count(steward.db, select(func.count()).select_from(Contribution)
                       .join(Member, col(Member.id) == Contribution.member_id)
                       .where(col(Member.platform_user_id) == "UBRUNO")) >= 1


async def test_after_forget_me_what_they_do_live_is_not_kept(bot: Bot) -> None:
    steward, platform = bot
    await seed_everything(steward, platform, "UQUILLA")
    await forget(platform, "UQUILLA")
    theirs = said(f"{WORD} again", "UQUILLA")
    await platform.inject(theirs)
    bruno = said("a question?", "UBRUNO")
    await platform.inject(bruno)
    await platform.inject(ReactionAdded(event_id="r-after", platform="recording", channel="C1",
                                        sender=Sender(id="UQUILLA"), message_id=bruno.message_id, emoji="+1"))
    await platform.inject(MemberJoined(event_id="join-after", platform="recording", channel="C1",
                                       sender=Sender(id="UQUILLA", display_name="Quilla")))
    await platform.inject(said("a reply in a thread", "UQUILLA", thread=bruno.message_id))
    await steward.delivery.idle()
    assert await traces(steward.db, "UQUILLA", WORD) == []
    platform.sent.clear()
    await platform.inject(said(f"who knows about {WORD}?", "UBRUNO", addressed=True))
    assert "Quilla" not in platform.texts()[-1] and "UQUILLA" not in platform.texts()[-1]

    await platform.inject(said("opt in", "UQUILLA", addressed=True))  # the way back
    await platform.inject(said(f"{WORD} is back", "UQUILLA"))
    assert await messages_of(steward.db, "UQUILLA") == 1


@pytest.fixture
async def other(db: Database, config: Config) -> AsyncIterator[Bot]:
    """A second Steward process on the same database."""
    own_db = Database(db.url)
    steward = Steward(own_db, config, build_router())
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    yield steward, platform
    await steward.stop()
    await own_db.dispose()


async def test_a_process_that_did_not_see_the_forget_neither_indexes_nor_suggests_them(bot: Bot, other: Bot) -> None:
    a, a_platform = bot
    b, b_platform = other
    for n in range(3):
        root = said(f"{WORD} cache question {n}?", "UBRUNO")
        await a_platform.inject(root)
        await a_platform.inject(said(f"set the {WORD} cache size to {n}", "UQUILLA", thread=root.message_id))
    b_index = await b.services.expertise.index(1)
    assert top(b_index, f"{WORD} cache")[0][0] == "UQUILLA"
    await b.services.expertise.start_following(FAST)
    try:
        await forget(a_platform, "UQUILLA")
        await eventually(lambda: "UQUILLA" not in [m for m, _ in top(b.services.expertise.loaded(1) or b_index,
                                                                      f"{WORD} cache")], "B forgets her")
        await b_platform.inject(said(f"{WORD} cache tip, again", "UQUILLA"))  # delivered to the other process
        root = said(f"{WORD} cache question 9?", "UBRUNO")
        await b_platform.inject(root)
        await b_platform.inject(said(f"{WORD} cache answer", "UQUILLA", thread=root.message_id))
        await b.services.expertise.catch_up()
        assert "UQUILLA" not in [m for m, _ in top(b.services.expertise.loaded(1) or b_index, f"{WORD} cache")]
    finally:
        await b.services.expertise.stop_following()
    assert await member_rows(a.db, "UQUILLA") == await messages_of(a.db, "UQUILLA") == 0


async def test_members_who_opted_out_before_tombstones_existed_get_one_on_upgrade(db: Database) -> None:
    from alembic import command
    from sqlalchemy import Boolean, Integer, String, column, insert, table

    from storage.db import alembic_config
    from storage.tombstones import is_tombstoned
    from storage.types import UTCDateTime

    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0012_index_follow"))
    old_community = table("community", column("id", Integer), column("slug", String), column("name", String),
                          column("locale", String), column("timezone", String), column("created_at", UTCDateTime()))
    async with db.session() as session:  # the table as it was then (the model has columns added since)
        await session.exec(insert(old_community).values(id=1, slug="k8s", name="", locale="en", timezone="UTC",
                                                        created_at=utcnow()))
        old_member = table("member", *(column(n, String) for n in ("platform", "platform_user_id", "display_name")),
                           *(column(n, Integer) for n in ("id", "community_id")),
                           *(column(n, Boolean) for n in ("opted_out", "is_bot", "deleted")),
                           column("created_at", UTCDateTime()))
        for n, (uid, out) in enumerate((("UOUT", True), ("UIN", False)), 1):
            await session.exec(insert(old_member).values(id=n, community_id=1, platform="slack", platform_user_id=uid,
                                                         display_name="", opted_out=out, is_bot=False, deleted=False,
                                                         created_at=utcnow()))
    await db.upgrade()
    async with db.engine.connect() as conn:
        assert await is_tombstoned(conn, "slack", "UOUT") and not await is_tombstoned(conn, "slack", "UIN")
    assert await traces(db, "UOUT") == ["member.platform_user_id: UOUT"]  # the hash holds no id


async def test_the_id_scrub_reaches_every_kind_of_text_column(bot: Bot) -> None:
    """sqlmodel's own `str` columns (AutoString) are text too: the structural scrub must not skip them."""
    from sqlmodel import select as model_select

    from storage.models import Channel, Community

    steward, platform = bot
    await platform.inject(said("a helm tip", "UANA"))
    async with steward.db.session() as session:
        community = (await session.exec(model_select(Community))).first()
        assert community is not None and community.id is not None
        session.add(Channel(community_id=community.id, platform="recording", platform_id="C-UANA-ROOM",
                            name="ops with <@UANA>"))  # a name (AutoString) that mentions her
    await forget(platform, "UANA")
    async with steward.db.session() as session:
        names = (await session.exec(model_select(Channel.name))).all()
    assert not any("UANA" in name for name in names), names
