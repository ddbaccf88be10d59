"""The question loop through Slack's signed request pipeline (bolt), with only Slack's Web API faked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.routing.escalation import JOB
from bot.scheduling import run_due
from storage.models import Contribution, Member, Question
from storage.types import utcnow
from tests.slack.conftest import Running, click, event_body, msg


def _react(user: str, ts: str, emoji: str, channel: str = "C1", author: str | None = None) -> dict[str, Any]:
    return {"type": "reaction_added", "user": user, "reaction": emoji, "item_user": author,
            "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": ts}


async def _say(running: Running, text: str, *, user: str, channel: str = "C1", thread: str | None = None,
               direct: bool = False) -> dict[str, Any]:
    extra = {"thread_ts": thread} if thread else {}
    event = msg(text, user=user, channel=channel, channel_type="im" if direct else "channel", **extra)
    assert (await running.slack.event(event_body(event)))[0] == 200
    await running.settle()
    return event


async def _history(running: Running) -> None:
    """Ana answers helm questions (✅ by the askers), Bruno terraform ones."""
    for expert, asker, question in (("UANA", "UCHLOE", "How do I roll back a helm release?"),
                                    ("UANA", "UDAVID", "Helm upgrade fails with a timeout?"),
                                    ("UANA", "UCHLOE", "Pinning helm chart versions across environments?"),
                                    ("UBRUNO", "UDAVID", "Terraform state locking in S3?"),
                                    ("UBRUNO", "UCHLOE", "How to structure terraform modules?")):
        root = await _say(running, question, user=asker)
        answer = await _say(running, f"Here is what worked for me: {question.lower()}", user=expert,
                            thread=root["ts"])
        await running.slack.event(event_body(_react(asker, answer["ts"], "white_check_mark", author=expert)))
    await running.settle()


def _buttons(running: Running, method: str = "chat.postEphemeral") -> dict[str, str]:
    """Option value → action id of the latest choice question."""
    asked = [c for c in running.fake.called(method) if "blocks" in c.args and "elements" in str(c.args["blocks"])]
    elements = asked[-1]["blocks"][-1]["elements"]
    return {b["value"]: b["action_id"] for b in elements}


def _posted(running: Running, channel: str) -> list[str]:
    return [str(c["text"]) for c in running.fake.called("chat.postMessage") if c["channel"] == channel]


async def test_ask_why_me_answer_solved_my_questions_search_in_french_and_english(running: Running) -> None:
    await _history(running)
    await _say(running, "<@UBOT> langue fr", user="UFRANK")
    ask = await _say(running, "<@UBOT> qui connaît helm ?", user="UFRANK")
    assert "J'ai trouvé 1 seule personne qui pourrait" in _posted(running, "C1")[-1]  # only Ana answered
    await running.slack.interaction(click(_buttons(running)["ask"], "ask", user="UFRANK"))
    await running.settle()
    [to_ana] = _posted(running, "DUANA")
    assert "Why you: answered" in to_ana and "a répondu" not in to_ana  # Ana reads English, whoever asked

    await _say(running, "why me?", user="UANA", channel="DUANA", direct=True)
    assert _posted(running, "DUANA")[-1].startswith("I asked you about “helm”. Why you: answered")

    await _say(running, "use helm rollback, then --atomic on the next upgrade", user="UANA", thread=ask["ts"])
    solved = await _say(running, "résolu, merci !", user="UFRANK", thread=ask["ts"])  # not addressed to Steward
    assert any(c["name"] == "white_check_mark" and c["timestamp"] == solved["ts"]
               for c in running.fake.called("reactions.add"))
    await _say(running, "mes questions", user="UFRANK", channel="DUFRANK", direct=True)
    assert "«\u00a0helm\u00a0»\u00a0: ✅ résolue, demandée à" in _posted(running, "DUFRANK")[-1]

    await _say(running, "<@UBOT> search helm upgrade", user="UGRACE")
    found = _posted(running, "C1")[-1]
    assert found.startswith("Past answered threads on “helm upgrade”:") and "Helm upgrade fails with a timeout" in found
    await _say(running, "<@UBOT> unanswered", user="UCOORD")
    assert running.texts("chat.postEphemeral")[-1].startswith("No open question")
    before = len(running.fake.called("chat.postMessage"))
    await run_due(running.steward, utcnow() + timedelta(days=3), (JOB,))
    await running.settle()
    assert len(running.fake.called("chat.postMessage")) == before  # solved: nobody is chased


async def test_a_dm_question_is_posted_in_the_channel_and_no_thanks_is_never_chased(running: Running) -> None:
    await _history(running)
    await _say(running, "who knows about helm upgrades?", user="UGRACE", channel="DUGRACE", direct=True)
    buttons = _buttons(running, "chat.postMessage")
    assert list(buttons) == ["post", "ask", "no"]
    await running.slack.interaction(click(buttons["post"], "post", user="UGRACE", channel="DUGRACE"))
    await running.settle()
    [post] = [p for p in running.fake.posted if p["channel"] == "C1" and "asks: “helm upgrades”" in (p["text"] or "")]
    assert "Done: I posted your question in the community channel" in _posted(running, "DUGRACE")[-1]
    await _say(running, "helm upgrade --atomic --timeout 10m", user="UANA", thread=post["ts"])
    assert _posted(running, "DUGRACE")[-1].startswith("Uana answered your question “helm upgrades”")
    await _say(running, "solved", user="UGRACE", channel="DUGRACE", direct=True)
    assert _posted(running, "DUGRACE")[-1].startswith("Great: “helm upgrades” is marked solved")

    await _say(running, "<@UBOT> who knows about terraform modules?", user="UFRANK")
    await running.slack.interaction(click(_buttons(running)["no"], "no", user="UFRANK"))
    await running.settle()
    before = len(running.fake.called("chat.postMessage"))
    await run_due(running.steward, utcnow() + timedelta(days=3), (JOB,))
    await running.settle()
    assert len(running.fake.called("chat.postMessage")) == before
    async with running.steward.db.session() as session:
        statuses = {q.text: (q.status, q.choice) for q in (await session.exec(select(Question))).all()}
    assert statuses == {"helm upgrades": ("solved", "post"), "terraform modules": ("open", "no")}


async def test_kudos_with_slack_mentions_and_no_ghosts(running: Running) -> None:
    await _say(running, "hello all", user="UANA")
    thanks = await _say(running, "thanks <@UANA> for the helm chart tip", user="UBRUNO")
    assert any(c["name"] == "sparkles" and c["timestamp"] == thanks["ts"] for c in running.fake.called("reactions.add"))
    await _say(running, "<@UBOT> thanks @nobody for x", user="UBRUNO")
    await _say(running, "<@UBOT> thanks &lt;@UFAKE&gt; for y", user="UBRUNO")  # typed, not a Slack mention
    refused = running.texts("chat.postEphemeral")
    assert refused[-2].startswith("I don't know @nobody in this community")
    assert refused[-1].startswith("I don't know @UFAKE in this community")
    async with running.steward.db.session() as session:
        people = set((await session.exec(select(Member.platform_user_id))).all())
        thanked = (await session.exec(select(Contribution.member_id).where(Contribution.kind == "thanked"))).all()
    assert not people & {"nobody", "UFAKE"} and len(thanked) == 1
    assert _posted(running, "DUFAKE") == [] and _posted(running, "Dnobody") == []
