"""`who knows about X?` in chat: suggestions with reasons, asking experts, answers, care and escalation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel import select as sm_select

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.events import MemberLeft, MessageDeleted, MessageEdited, ReactionAdded, ReactionRemoved, Sender
from bot.replies import AskChoice, DirectMessage, ReplyInThread
from bot.routing.escalation import JOB
from storage.models import Contribution, Member, Question, RoutingRequest
from storage.types import utcnow
from tests.clock import due_at
from tests.events import command, pick
from tests.routing.history import post, seed

ESCALATE = (JOB,)

Bot = tuple[Steward, RecordingAdapter]


async def _ask(platform: RecordingAdapter, text: str, user: str = "UFRANK") -> tuple[str, AskChoice | None]:
    platform.sent.clear()
    event = command(text, user=user)
    await platform.inject(event)
    answer = platform.sent[0]
    assert isinstance(answer, ReplyInThread) and answer.thread == event.message_id
    choice = next((r for r in platform.sent if isinstance(r, AskChoice)), None)
    return answer.text, choice


async def test_suggestions_follow_the_question_with_reasons_and_links(bot: Bot) -> None:
    _steward, platform = bot
    await seed(platform)
    text, choice = await _ask(platform, "who knows about rolling back a helm release?")
    lines = text.splitlines()
    # The same question was answered before: that thread comes first, then the people.
    assert lines[0] == "This past thread asks much the same:"
    assert "How do I roll back a helm release?" in lines[1] and "✅" in lines[1]
    assert "**Ana**" in lines[3]  # the helm answerer first
    assert "answered" in lines[3] and "marked as the answer" in lines[3] and "steward://message/C1/" in lines[3]
    assert "Past threads that may already answer it:" in text
    assert choice is not None and choice.user == "UFRANK" and choice.key.startswith("route:")
    text, _ = await _ask(platform, "who knows about terraform state locking?")
    assert "**Bruno**" in next(line for line in text.splitlines() if line.startswith("- **"))


async def test_asker_optout_departed_and_deleted_are_never_suggested(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    text, _ = await _ask(platform, "who knows about helm?", user="UANA")
    assert "**Ana**" not in text
    await platform.inject(command("opt out", user="UBRUNO"))
    await platform.inject(MemberLeft(event_id="left-chloe", platform="recording", channel="C1",
                                     sender=Sender(id="UCHLOE")))
    async with steward.db.session() as session:
        eve = (await session.exec(sm_select(Member).where(Member.platform_user_id == "UEVE"))).one()
        eve.deleted = True
    for question in ("who knows about terraform modules?", "who knows about helm or terraform?"):
        text, _ = await _ask(platform, question)
        for gone in ("**Bruno**", "**Chloe**", "**Eve**"):
            assert gone not in text


async def test_ask_them_sends_direct_messages_and_only_the_asker_can_choose(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    _text, choice = await _ask(platform, "who knows about helm upgrades?")
    assert choice is not None
    platform.sent.clear()
    await platform.inject(pick(choice.key, "ask", user="UANA"))
    assert platform.texts() == ["Only the person who asked can choose this."]
    platform.sent.clear()
    await platform.inject(pick(choice.key, "ask", user="UFRANK"))
    dms = [r for r in platform.sent if isinstance(r, DirectMessage)]
    assert {d.user for d in dms} >= {"UANA"} and all("helm upgrades" in d.text for d in dms)
    assert "steward://message/C1/" in dms[0].text
    assert platform.texts()[-1].startswith("Done: I asked")
    async with steward.db.session() as session:
        statuses = (await session.exec(sm_select(RoutingRequest.status))).all()
    assert set(statuses) == {"asked"}
    platform.sent.clear()
    await platform.inject(command("why me", user="UANA"))
    assert "helm upgrades" in platform.texts()[0] and "Why you:" in platform.texts()[0]


async def test_a_reply_in_the_thread_answers_the_question_and_the_askers_check_accepts_it(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    ask = command("who knows about helm upgrades?", user="UFRANK")
    await platform.inject(ask)
    await platform.inject(post("I'll look too", "UFRANK", thread=ask.message_id))  # the asker's own reply
    async with steward.db.session() as session:
        assert (await session.exec(sm_select(Question))).one().status == "open"
    reply = post("Use --atomic and --timeout 10m", "UANA", thread=ask.message_id)
    await platform.inject(reply)
    await platform.inject(ReactionAdded(event_id="acc", platform="recording", channel="C1", sender=Sender(id="UFRANK"),
                                        message_id=reply.message_id, emoji="white_check_mark"))
    async with steward.db.session() as session:
        question = (await session.exec(sm_select(Question))).one()
        kinds = (await session.exec(sm_select(Contribution.kind).where(  # the reply's entries (not the seed's)
            col(Contribution.evidence_url).endswith(reply.message_id)).order_by(col(Contribution.id)))).all()
    assert question.status == "solved" and question.answered_by is not None  # the asker's ✅ closes the loop
    assert list(kinds) == ["answered", "accepted"]


async def test_weekly_cap_and_availability(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    await platform.inject(command("away until " + (date.today() + timedelta(days=10)).isoformat(), user="UANA"))
    assert platform.texts()[-1].startswith("Enjoy!")
    text, _ = await _ask(platform, "who knows about helm rollbacks?")
    assert "**Ana**" not in text
    await platform.inject(command("back", user="UANA"))
    text, _ = await _ask(platform, "who knows about helm rollbacks?")
    assert "**Ana**" in text
    await platform.inject(command("my cap 1", user="UANA"))
    async with steward.db.session() as session:
        ana = (await session.exec(sm_select(Member).where(Member.platform_user_id == "UANA"))).one()
        request = (await session.exec(sm_select(RoutingRequest).where(RoutingRequest.member_id == ana.id))).one()
        request.status, request.at = "asked", utcnow() - timedelta(days=1)  # her last suggestion, asked
    text, _ = await _ask(platform, "who knows about helm charts?", user="UGRACE")
    assert "**Ana**" not in text  # one routed question this week already
    await platform.inject(command("my profile", user="UANA"))
    assert "this week: 1 of at most 1" in platform.texts()[-1]


@pytest.mark.parametrize("bad", ["away until tomorrow", "away until 2001-01-01", "my cap lots", "my cap 500",
                                 "i know about " + "x" * 70, "who knows about"])
async def test_bad_care_input_gets_the_right_form(bot: Bot, bad: str) -> None:
    _steward, platform = bot
    await platform.inject(command(bad, user="UANA"))
    reply = platform.texts()[-1]
    assert "For example: `" in reply


async def test_declared_topics_route_without_history(bot: Bot) -> None:
    _steward, platform = bot
    await seed(platform)
    await platform.inject(command("I know about kubernetes networking, cilium", user="UDAVID"))
    assert "cilium" in platform.texts()[-1]
    text, _ = await _ask(platform, "who knows about cilium?")
    assert "**David**" in text and "declared cilium" in text
    await platform.inject(command("forget topic cilium", user="UDAVID"))
    await platform.inject(command("my topics", user="UDAVID"))
    assert platform.texts()[-1] == "You told me you know about: kubernetes networking."
    text, _ = await _ask(platform, "who knows about cilium?")
    assert "**David**" not in text


async def test_spreading_prefers_the_less_solicited_of_near_equals(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform, extra_helpers={})
    for user in ("UGINA", "UHUGO"):  # two identical experts on vault
        root = post("How do we rotate vault tokens?", "UEVE")
        await platform.inject(root)
        await platform.inject(post("rotate vault tokens with a periodic role", user, thread=root.message_id))
    first, _ = await _ask(platform, "who knows about vault tokens?")
    leader = "Gina" if first.index("Gina") < first.index("Hugo") else "Hugo"
    async with steward.db.session() as session:
        loaded = (await session.exec(sm_select(Member).where(Member.platform_user_id == f"U{leader.upper()}"))).one()
        for n in range(2):  # the leader was solicited twice this week on other questions
            other_question = Question(community_id=loaded.community_id, asker_id=loaded.id or 0, platform="recording",
                                      channel="C1", thread=f"elsewhere-{n}", text="something else")
            session.add(other_question)
            await session.flush()
            session.add(RoutingRequest(question_id=other_question.id or 0, member_id=loaded.id or 0,
                                       status="suggested", at=utcnow()))
    second, _ = await _ask(platform, "who knows about vault tokens?", user="UIVY")
    other = "Hugo" if leader == "Gina" else "Gina"
    assert second.index(other) < second.index(leader)


async def test_escalation_next_candidates_then_coordinators(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform, extra_helpers={user: "our helm upgrade is stuck" for user in ("UGINA", "UHUGO", "UIVY")})
    _text, choice = await _ask(platform, "who knows about helm upgrades?")
    assert choice is not None
    await platform.inject(pick(choice.key, "ask", user="UFRANK"))  # only questions the asker sent out are chased
    now = utcnow()
    assert await due_at(steward, platform, now, ESCALATE) == []  # not due yet
    first = await due_at(steward, platform, now + timedelta(hours=25), ESCALATE)
    dms = [r for r in first if isinstance(r, DirectMessage)]
    assert dms and all("still waiting" in d.text for d in dms)
    assert any(isinstance(r, ReplyInThread) and r.text.startswith("Still open") for r in first)
    assert await due_at(steward, platform, now + timedelta(hours=25), ESCALATE) == []  # once, even looked at again
    second = await due_at(steward, platform, now + timedelta(hours=50), ESCALATE)
    assert [r.user for r in second if isinstance(r, DirectMessage)] == ["UCOORD"]
    assert await due_at(steward, platform, now + timedelta(days=10), ESCALATE) == []
    async with steward.db.session() as session:
        assert (await session.exec(sm_select(Question))).one().status == "escalated"
        asked = (await session.exec(select(func.count()).select_from(RoutingRequest).where(  # type: ignore[call-overload]
            col(RoutingRequest.round) == 1))).scalar_one()
    assert asked == len(dms)


async def test_answered_questions_are_not_escalated(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    ask = command("who knows about terraform drift?", user="UFRANK")
    await platform.inject(ask)
    await platform.inject(post("run plan with -refresh-only", "UBRUNO", thread=ask.message_id))
    assert await due_at(steward, platform, utcnow() + timedelta(days=3), ESCALATE) == []


async def test_nobody_known_yet(bot: Bot) -> None:
    _steward, platform = bot
    text, choice = await _ask(platform, "who knows about quantum annealing?")
    assert "I don't know yet who knows" in text and choice is None


async def test_live_messages_update_a_loaded_index(bot: Bot) -> None:
    _steward, platform = bot
    await seed(platform)
    await _ask(platform, "who knows about helm?")  # loads the index
    root = post("Which service mesh: linkerd or istio?", "UCHLOE")
    await platform.inject(root)
    await platform.inject(post("linkerd is simpler to run", "UGRACE", thread=root.message_id))
    text, _ = await _ask(platform, "who knows about linkerd?")
    assert "**Grace**" in text


async def test_a_loaded_index_follows_deletions_edits_and_taken_back_reactions(bot: Bot) -> None:
    steward, platform = bot
    roots = await seed(platform)
    await _ask(platform, "who knows about helm?")  # loads the index
    index = steward.services.expertise.loaded(1)
    assert index is not None
    root = post("Which service mesh: linkerd or istio?", "UCHLOE")
    answer = post("linkerd is simpler to run", "UGRACE", thread=root.message_id)
    for event in (root, answer):
        await platform.inject(event)
    text, _ = await _ask(platform, "who knows about linkerd?")
    assert "**Grace**" in text and "Which service mesh" in text
    # The question is edited: its old words no longer find it, its new ones do.
    await platform.inject(MessageEdited(event_id="edit-1", platform="recording", channel="C1",
                                        sender=Sender(id="UCHLOE"), message_id=root.message_id,
                                        text="Which service mesh: consul or istio?"))
    assert "**Grace**" not in (await _ask(platform, "who knows about linkerd?"))[0]
    assert "**Grace**" in (await _ask(platform, "who knows about consul?"))[0]
    # The answer is deleted: Grace answered nothing any more.
    await platform.inject(MessageDeleted(event_id="del-1", platform="recording", channel="C1",
                                         sender=Sender(id="UGRACE"), message_id=answer.message_id))
    assert "**Grace**" not in (await _ask(platform, "who knows about consul?"))[0]
    # A deleted question is never offered as a past thread again.
    helm_root = roots["How do I roll back a helm release?"]
    await platform.inject(MessageDeleted(event_id="del-2", platform="recording", channel="C1",
                                         sender=Sender(id="UCHLOE"), message_id=helm_root))
    assert "How do I roll back a helm release?" not in (await _ask(platform, "how to roll back a helm release?"))[0]
    # The index kept live ranks exactly as one built afresh from storage.
    steward.services.expertise.invalidate(1)
    rebuilt = await steward.services.expertise.index(1)
    for question in ("helm chart versions", "terraform modules", "consul istio"):
        assert [(s.member, round(s.score, 6)) for s in index.rank(question, asker=None)] == \
            [(s.member, round(s.score, 6)) for s in rebuilt.rank(question, asker=None)], question


async def test_taken_back_acceptance_is_forgotten_by_a_loaded_index(bot: Bot) -> None:
    steward, platform = bot
    root = post("How to pin helm chart versions?", "UCHLOE")
    answer = post("use a lock file for helm charts", "UANA", thread=root.message_id)
    for event in (root, answer):
        await platform.inject(event)
    await _ask(platform, "who knows about helm?")  # loads the index
    index = steward.services.expertise.loaded(1)
    assert index is not None
    ok = {"platform": "recording", "channel": "C1", "sender": Sender(id="UCHLOE"),
          "message_id": answer.message_id, "emoji": "white_check_mark"}
    await platform.inject(ReactionAdded(event_id="ok-1", **ok))
    assert index.threads_like("pin helm chart versions", top=1)[0].accepted
    await platform.inject(ReactionRemoved(event_id="ok-1-undo", **ok))
    assert not index.threads_like("pin helm chart versions", top=1)[0].accepted


async def test_french_answer(bot: Bot) -> None:
    _steward, platform = bot
    await seed(platform)
    text, choice = await _ask(platform, "qui connaît helm ?")
    # Only Ana answered about helm: said as such, nobody without evidence added to make three.
    assert text.startswith("J'ai trouvé 1 seule personne qui pourrait s'y connaître en «\u00a0helm\u00a0»\u00a0:")
    assert [line for line in text.splitlines() if line.startswith("- **")] == [text.splitlines()[1]]
    assert choice is not None and choice.options[0].label == "Demandez-leur"


async def test_reputation_breaks_ties_between_near_equal_experts(bot: Bot) -> None:
    steward, platform = bot
    await seed(platform)
    for user in ("UGINA", "UHUGO"):  # two identical experts on vault
        root = post("How do we rotate vault tokens?", "UEVE")
        await platform.inject(root)
        await platform.inject(post("rotate vault tokens with a periodic role", user, thread=root.message_id))
    first, _ = await _ask(platform, "who knows about vault tokens?")
    trailing = "Hugo" if first.index("Gina") < first.index("Hugo") else "Gina"
    async with steward.db.session() as session:
        member = (await session.exec(sm_select(Member).where(Member.platform_user_id == f"U{trailing.upper()}"))).one()
        for n in range(3):  # thanked three times by peers: a better standing in the ledger
            session.add(Contribution(community_id=member.community_id, member_id=member.id or 0, kind="thanked",
                                     key=f"test-kudos-{n}", at=utcnow()))
    second, _ = await _ask(platform, "who knows about vault tokens?", user="UIVY")
    leader = "Gina" if trailing == "Hugo" else "Hugo"
    assert second.index(trailing) < second.index(leader)
