"""Issue 15's defects, each as a test: the question loop, reasons in the reader's language, no ghost members.

Every test here failed on the code before the change (declined questions escalated, coordinators were
told of their own questions, `why me?` explained the latest suggestion in the asker's language, a typed
`@nobody` became a member who was told and credited, Matrix pills were ignored, ✨ arrived as text, the
demo had no ledger, natural phrasings were not understood, reasons were stored pre-rendered).
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from adapters.console.adapter import ConsoleAdapter
from adapters.matrix.render import render as matrix_render
from adapters.matrix.translate import RoomView
from adapters.matrix.translate import translate as matrix_translate
from adapters.recording import RecordingAdapter
from adapters.slack.translate import Identity
from adapters.slack.translate import translate as slack_translate
from app.demo import ensure_demo
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.events import MessagePosted
from bot.features import build_router
from bot.replies import AskChoice, DirectMessage, Post, React
from bot.routing.escalation import JOB
from storage import outbox
from storage.db import Database, alembic_config
from storage.models import Contribution, Member, Question, RoutingRequest
from storage.types import utcnow
from tests.clock import due_at
from tests.conftest import BACKEND, create_pg_database, drop_pg_database
from tests.events import command, message, pick
from tests.routing.history import post, seed

Bot = tuple[Steward, RecordingAdapter]
ESCALATE = (JOB,)
COORDINATORS = ("recording:UCOORD", "recording:UCOORD2", "recording:UCOORD3")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Community k8s in channel C1, with three coordinators."""
    return Config(data_dir=tmp_path, communities=(CommunityConfig(
        slug="k8s", name="Kubernetes CoP", channels=("recording:C1",), coordinators=COORDINATORS),))


async def _ask(platform: RecordingAdapter, question: str, user: str = "UFRANK", **kw: object) -> AskChoice:
    platform.sent.clear()
    await platform.inject(command(question, user=user, **kw))  # type: ignore[arg-type]
    choice = next((r for r in platform.sent if isinstance(r, AskChoice)), None)
    assert choice is not None, platform.texts()
    return choice


def _dms(replies: list[object], user: str | None = None) -> list[DirectMessage]:
    return [r for r in replies if isinstance(r, DirectMessage) and (user is None or r.user == user)]


async def _walk_the_clock(steward: Steward, platform: RecordingAdapter) -> list[object]:
    now, sent = utcnow(), []
    for hours in (25, 50, 75):
        sent += await due_at(steward, platform, now + timedelta(hours=hours), ESCALATE)
    return sent


async def test_no_thanks_and_an_unanswered_offer_are_never_chased(bot: Bot) -> None:
    """`who knows about vault` → "No thanks": nobody is told "still waiting" at 24 h, nor the coordinators at 48 h."""
    steward, platform = bot
    await seed(platform, extra_helpers={u: "our helm upgrade is stuck" for u in ("UGINA", "UHUGO", "UIVY")})
    choice = await _ask(platform, "who knows about helm upgrades?")
    await platform.inject(pick(choice.key, "no", user="UFRANK"))
    await _ask(platform, "who knows about terraform state?", user="UGRACE")  # the offer is never answered
    assert await _walk_the_clock(steward, platform) == []


async def test_coordinators_away_capped_or_asking_are_not_told(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    await platform.inject(command("away until " + (utcnow().date() + timedelta(days=30)).isoformat(), user="UCOORD2"))
    await platform.inject(command("my cap 0", user="UCOORD3"))
    choice = await _ask(platform, "who knows about helm upgrades?", user="UCOORD")  # a coordinator asks
    await platform.inject(pick(choice.key, "ask", user="UCOORD"))
    sent = await _walk_the_clock(steward, platform)
    told = {d.user for d in _dms(sent)}
    assert not told & {"UCOORD", "UCOORD2", "UCOORD3"}
    async with steward.db.session() as session:
        assert (await session.exec(select(Question))).one().status == "escalated"  # `unanswered` still shows it


async def test_a_coordinator_is_told_once_and_why_me_says_why(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    choice = await _ask(platform, "who knows about helm upgrades?")
    await platform.inject(pick(choice.key, "ask", user="UFRANK"))
    sent = await _walk_the_clock(steward, platform)
    assert sorted(d.user for d in _dms(sent) if d.user.startswith("UCOORD")) == ["UCOORD", "UCOORD2", "UCOORD3"]
    platform.sent.clear()
    await platform.inject(command("why me", user="UCOORD2", direct=True))
    assert "you coordinate this community" in platform.texts()[-1]


@pytest.mark.parametrize("how", ["solved", "solved in the thread", "check mark", "solved by number"])
async def test_solved_stops_every_follow_up(bot: Bot, how: str) -> None:
    steward, platform = bot
    await seed(platform, extra_helpers={u: "our helm upgrade is stuck" for u in ("UGINA", "UHUGO", "UIVY")})
    choice = await _ask(platform, "who knows about helm upgrades?")
    ask = next(m for m in platform.sent if isinstance(m, AskChoice))
    await platform.inject(pick(choice.key, "ask", user="UFRANK"))
    assert ask.thread is not None
    if how == "solved":
        await platform.inject(command("solved", user="UFRANK", direct=True, channel="DFRANK"))
    elif how == "solved in the thread":
        said = message("Solved, thanks all!", user="UFRANK", thread=ask.thread)  # not addressed to Steward
        await platform.inject(said)
        assert React(channel="C1", message_id=said.message_id, emoji="white_check_mark") in platform.sent
    elif how == "check mark":
        answer = post("use --atomic", "UANA", thread=ask.thread)
        await platform.inject(answer)
        from tests.reputation.conftest import react

        await platform.inject(react(answer.message_id, "white_check_mark", user="UFRANK"))
    else:
        async with steward.db.session() as session:
            question_id = (await session.exec(select(Question.id))).one()
        await platform.inject(command(f"solved #{question_id}", user="UFRANK"))
    async with steward.db.session() as session:
        assert (await session.exec(select(Question))).one().status == "solved"
    assert await _walk_the_clock(steward, platform) == []


async def test_only_the_asker_may_say_solved(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    choice = await _ask(platform, "who knows about helm upgrades?")
    await platform.inject(pick(choice.key, "ask", user="UFRANK"))
    async with steward.db.session() as session:
        question_id = (await session.exec(select(Question.id))).one()
    platform.sent.clear()
    await platform.inject(command(f"solved {question_id}", user="UANA"))
    assert platform.texts() == ["Only the person who asked can mark it solved."]
    await platform.inject(command("solved lots", user="UFRANK"))
    assert "For example: `solved 12`" in platform.texts()[-1]


async def test_why_me_explains_the_question_asked_in_the_experts_language(bot: Bot) -> None:
    """A French asker, an English expert: the DM and `why me?` are in English, about the question she was asked."""
    steward, platform = bot
    await seed(platform)
    await platform.inject(command("langue fr", user="UFRANK"))
    choice = await _ask(platform, "qui connaît helm ?")
    await platform.inject(pick(choice.key, "ask", user="UFRANK"))
    [to_ana] = _dms(platform.sent, "UANA")
    assert "Why you: answered" in to_ana.text and "a répondu" not in to_ana.text
    choice = await _ask(platform, "who knows about helm charts?", user="UGRACE")  # Ana suggested, never asked
    await platform.inject(pick(choice.key, "no", user="UGRACE"))
    platform.sent.clear()
    await platform.inject(command("why me", user="UANA", direct=True))
    [answer] = platform.texts()
    assert answer.startswith("I asked you about “helm”. Why you: answered") and "helm charts" not in answer
    async with steward.db.session() as session:
        stored = (await session.exec(select(RoutingRequest.facts))).all()
    assert all(json.loads(f)[0]["kind"] in ("answered_threads", "declared", "regular_helper") for f in stored)


async def test_why_me_lists_the_questions_when_there_are_several_and_not_me_declines(bot: Bot) -> None:
    _steward, platform = bot
    await seed(platform)
    for user, question in (("UFRANK", "who knows about helm upgrades?"), ("UGRACE", "who knows about helm charts?")):
        choice = await _ask(platform, question, user=user)
        await platform.inject(pick(choice.key, "ask", user=user))
    platform.sent.clear()
    await platform.inject(command("pourquoi moi", user="UANA", direct=True))
    lines = platform.texts()[-1].splitlines()
    assert lines[0] == "Je vous ai sollicité·e pour ces questions (les plus récentes d'abord)\u00a0:"
    assert "helm charts" in lines[1] and "helm upgrades" in lines[2] and "a répondu à" in lines[1]
    await platform.inject(command("not me", user="UANA", direct=True))
    assert platform.texts()[-1] == "No problem: I won't ask you about “helm charts” again. Thanks for saying so!"
    await platform.inject(command("why me", user="UANA", direct=True))
    assert platform.texts()[-1].startswith("I asked you about “helm upgrades”.")


async def test_thanks_to_an_unknown_handle_makes_no_ghost(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(message("hello", user="UANA"))
    platform.sent.clear()
    await platform.inject(command("thanks @nobody for x", user="UBRUNO"))
    await platform.inject(command("thanks @uanna for the helm tip", user="UBRUNO"))
    await platform.inject(message("thanks @nobody for the review", user="UBRUNO"))  # in the channel, unaddressed
    assert _dms(platform.sent) == [] and not any(isinstance(r, React) for r in platform.sent)
    texts = platform.texts()
    assert texts[0] == "I don't know @nobody in this community, so I did nothing for them. Mention a member as " \
                       "your chat app suggests it."
    assert texts[1].endswith("Did you mean Uana (@UANA)?")
    async with steward.db.session() as session:
        names = set((await session.exec(select(Member.platform_user_id))).all())
        entries = (await session.exec(select(Contribution))).all()
    assert names == {"UANA", "UBRUNO"} and entries == []
    await platform.inject(command("leaderboard", user="UBRUNO"))
    assert "nobody" not in platform.texts()[-1]


async def test_a_host_with_a_typo_credits_nobody(bot: Bot) -> None:
    from tests.rituals.conftest import make_ritual

    steward, platform = bot
    ritual = await make_ritual(bot, '"Helm clinic" every 2nd tuesday at 16:00')
    await platform.inject(message("hi", user="UANA"))
    platform.sent.clear()
    await platform.inject(command(f"host of meetup {ritual.id}: @UANA @typo", user="UCOORD"))
    assert platform.texts() == ["I don't know @typo in this community, so I did nothing for them. Mention a member "
                                "as your chat app suggests it."]
    async with steward.db.session() as session:
        assert (await session.exec(select(Member).where(Member.platform_user_id == "typo"))).first() is None
        assert (await session.exec(select(Contribution))).all() == []


async def test_why_is_a_stranger_suggested_gives_the_nearest_names(bot: Bot) -> None:
    _steward, platform = bot
    await platform.inject(message("hi", user="UANA"))
    await platform.inject(command("why is @uana2 suggested for helm?", user="UBRUNO"))
    assert platform.texts()[-1].endswith("Did you mean Uana (@UANA)?")


def test_a_typed_slack_mention_is_not_one_slack_wrote() -> None:
    body = {"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": {
        "type": "message", "user": "UANA", "channel": "C1", "ts": "1.1", "channel_type": "channel",
        "text": "thanks &lt;@UFAKE&gt; and <@UBRUNO> and <@UBOT>"}}
    event = slack_translate(body, Identity(team_id="T1", bot_user_id="UBOT"))
    assert isinstance(event, MessagePosted)
    assert event.text.startswith("thanks <@UFAKE>") and event.mentions == ("UBRUNO",)


def test_matrix_pills_become_user_ids_and_mentions() -> None:
    room = RoomView(room_id="!r:x", own_user_id="@steward:x", display_names={"@bo:x": "Bo"})
    event = {"type": "m.room.message", "event_id": "$1", "sender": "@cy:x", "origin_server_ts": 1, "content": {
        "msgtype": "m.text", "body": "thanks Ana Souza and Bo for the helm tip",
        "format": "org.matrix.custom.html",
        "formatted_body": 'thanks <a href="https://matrix.to/#/@ana:x">Ana Souza</a> and Bo for the helm tip',
        "m.mentions": {"user_ids": ["@ana:x", "@bo:x"]}}}
    found = matrix_translate(event, room)
    assert isinstance(found, MessagePosted)
    assert found.text == "thanks @ana:x and @bo:x for the helm tip" and found.mentions == ("@ana:x", "@bo:x")
    assert found.mention_names == (("@bo:x", "Bo"),)  # the room's name for Bo; a pill's label is the sender's text


def test_the_sparkles_acknowledgement_is_a_real_matrix_reaction() -> None:
    out = matrix_render(React(channel="!r:x", message_id="$1", emoji="sparkles"))
    assert out.event_type == "m.reaction" and out.content["m.relates_to"]["key"] == "✨"


def _script(lines: list[str]) -> Iterator[str]:
    yield from lines
    raise EOFError


async def test_the_demo_has_a_reputation(db: Database, config: Config) -> None:
    await ensure_demo(db)
    steward = Steward(db, config, build_router())
    script, out = _script(["who knows about helm?", "2", "why is @ana suggested for helm?"]), io.StringIO()
    console = ConsoleAdapter("demo", "sam", read_line=lambda _prompt: next(script), out=out)
    steward.add_adapter(console)
    await steward.start_adapters()
    await console.run()
    await steward.stop()
    output = out.getvalue()
    assert "Ana Souza" in output.split("Past threads")[0]
    assert "I have no contributions" not in output
    assert "**Ana Souza** on “helm”" in output or "Ana Souza on “helm”:" in output
    assert "kudos received" in output or "accepted answer" in output


@pytest.mark.parametrize(("phrase", "start"), [
    ("anyone know about terraform?", "I found only one person who may know about “terraform”"),
    ("does anyone know terraform?", "I found only one person who may know about “terraform”"),
    ("quelqu'un connaît terraform ?",
     "J'ai trouvé 1 seule personne qui pourrait s'y connaître en «\u00a0terraform\u00a0»"),
])
async def test_natural_phrasings_route_like_who_knows(bot: Bot, phrase: str, start: str) -> None:
    _steward, platform = bot
    await seed(platform)
    await platform.inject(command(phrase, user="UFRANK"))
    assert platform.texts()[0].startswith(start)


async def test_unanswered_is_for_coordinators_and_lists_oldest_first_with_who_was_asked(bot: Bot) -> None:
    _steward, platform = bot
    await seed(platform)
    for user, question in (("UFRANK", "who knows about helm upgrades?"), ("UGRACE", "who knows about terraform?")):
        choice = await _ask(platform, question, user=user)
        await platform.inject(pick(choice.key, "ask", user=user))
    choice = await _ask(platform, "who knows about helm charts?", user="UIVY")
    await platform.inject(pick(choice.key, "no", user="UIVY"))  # browsing: not chased, not listed
    platform.sent.clear()
    await platform.inject(command("unanswered", user="UFRANK"))
    assert platform.texts()[-1].startswith("Only this community's coordinators")
    await platform.inject(command("unanswered", user="UCOORD"))
    lines = platform.texts()[-1].splitlines()
    assert lines[0] == "Open questions, oldest first:" and len(lines) == 3
    assert "Ufrank: “helm upgrades”; asked: Ana" in lines[1] and "Ugrace: “terraform”; asked: Bruno" in lines[2]


async def test_my_questions_and_search(bot: Bot) -> None:
    _steward, platform = bot
    await seed(platform)
    choice = await _ask(platform, "who knows about helm upgrades?")
    await platform.inject(pick(choice.key, "ask", user="UFRANK"))
    assert choice.thread is not None
    await platform.inject(post("helm upgrade --atomic rolls back a failed upgrade", "UANA", thread=choice.thread))
    await platform.inject(command("solved", user="UFRANK"))
    choice = await _ask(platform, "who knows about terraform drift?")
    await platform.inject(command("my questions", user="UFRANK", direct=True))
    lines = platform.texts()[-1].splitlines()
    assert lines[0] == "Your questions (latest first):"
    assert "“terraform drift”: not sent to anyone" in lines[1] and "“helm upgrades”: ✅ solved, asked Ana" in lines[2]
    await platform.inject(command("search helm upgrade", user="UGRACE"))
    found = platform.texts()[-1]
    assert found.startswith("Past answered threads on “helm upgrade”:")
    assert "Helm upgrade fails with a timeout" in found and "[helm upgrades](steward://message/C1/" in found
    await platform.inject(command("cherche quantum annealing", user="UGRACE"))
    assert platform.texts()[-1].startswith("Je n'ai trouvé aucune discussion résolue")


async def test_a_question_asked_in_a_dm_gets_a_thread_anyone_can_answer(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    choice = await _ask(platform, "who knows about helm upgrades?", direct=True, channel="DFRANK")
    assert [o.id for o in choice.options] == ["post", "ask", "no"]
    await platform.inject(dataclasses.replace(pick(choice.key, "post", user="UFRANK", channel="DFRANK"),
                                              is_direct=True))
    posted = next(r for r in platform.sent if isinstance(r, Post) and r.channel == "C1")
    assert "asks: “helm upgrades”" in posted.text
    await steward.delivery.idle()  # the post is crossed out of the outbox with its message id
    async with steward.db.session() as session:
        sent = await outbox.message_of(session, "question:" + choice.key.partition(":")[2])
    assert sent is not None
    platform.sent.clear()
    await platform.inject(post("use helm upgrade --atomic", "UANA", thread=sent[2]))
    [told] = _dms(platform.sent, "UFRANK")
    assert told.text.startswith("Ana answered your question “helm upgrades”")
    await platform.inject(command("solved", user="UFRANK", direct=True, channel="DFRANK"))
    assert platform.texts()[-1].startswith("Great: “helm upgrades” is marked solved")


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    if BACKEND == "postgres":
        url = create_pg_database("steward_migrate")
        yield url
        drop_pg_database(url)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"


@pytest.fixture
async def old_db(empty_url: str) -> AsyncIterator[Database]:
    """A database as the release before the question loop left it."""
    from alembic import command as alembic

    database = Database(empty_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda c: alembic.upgrade(alembic_config(c), "0012_index_follow"))
    yield database
    await database.dispose()


async def test_old_reasons_become_facts_read_in_the_readers_language(old_db: Database) -> None:
    now = utcnow().replace(tzinfo=None)  # as the UTC columns store it, bound raw here
    async with old_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO community (id, slug, name, locale, timezone, created_at) "
                                "VALUES (1, 'k8s', '', 'en', 'UTC', :now)"), {"now": now})
        for mid, uid in ((1, "UFRANK"), (2, "UANA"), (3, "UBRUNO")):
            await conn.execute(text("INSERT INTO member (id, community_id, platform, platform_user_id, display_name, "
                                    "opted_out, is_bot, deleted, created_at) VALUES (:id, 1, 'recording', :uid, '', "
                                    ":f, :f, :f, :now)"), {"id": mid, "uid": uid, "f": False, "now": now})
        for qid, status in ((1, "asked"), (2, "suggested")):
            await conn.execute(text("INSERT INTO question (id, community_id, asker_id, platform, channel, thread, "
                                    "is_direct, text, status, round, asked_at, next_step_at) VALUES (:id, 1, 1, "
                                    "'recording', 'C1', :t, :f, 'helm', 'open', 0, :now, :now)"),
                               {"id": qid, "t": f"t{qid}", "f": False, "now": now})
            await conn.execute(text("INSERT INTO routing_request (question_id, member_id, round, status, reason, at) "
                                    "VALUES (:q, 2, 0, :s, :r, :now)"),
                               {"q": qid, "s": status, "now": now, "r": "a répondu à 4 discussions semblables sur "
                                "helm, upgrade; 2 marquées comme la réponse; dernière réponse en mars 2026"})
        await conn.execute(text("INSERT INTO routing_request (question_id, member_id, round, status, reason, at) "
                                "VALUES (1, 3, 0, 'asked', 'something else entirely', :now)"), {"now": now})
    await old_db.upgrade()
    async with old_db.session() as session:
        questions = {q.id: q for q in (await session.exec(select(Question))).all()}
        requests = (await session.exec(select(RoutingRequest).order_by(col(RoutingRequest.id)))).all()
    assert questions[1].choice == "ask" and questions[1].next_step_at is not None
    assert questions[2].choice == "" and questions[2].next_step_at is None  # never sent out: never chased
    from bot.i18n import translator
    from bot.routing.explain import load, render

    first = load(requests[0].facts)
    assert first[0] == {"kind": "answered_threads", "n": 4, "topic": "helm, upgrade"}
    assert render(first, translator("en"), "en") == ("answered 4 similar threads on helm, upgrade; 2 marked as the "
                                                     "answer; last answer in March 2026")
    assert render(load(requests[2].facts), translator("en"), "en") == "something else entirely"


def test_the_reason_of_an_expert_reads_in_their_language_whoever_asked() -> None:
    """The same stored facts, two readers: each reads them in their own language."""
    from bot.i18n import translator
    from bot.routing.explain import render

    found = [{"kind": "answered_threads", "n": 4, "topic": "helm"}, {"kind": "declared", "topic": "helm"}]
    assert render(found, translator("en"), "en") == "answered 4 similar threads on helm; declared helm"
    assert render(found, translator("fr"), "fr") == "a répondu à 4 discussions semblables sur helm; a déclaré helm"
