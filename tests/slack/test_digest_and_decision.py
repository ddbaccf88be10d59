"""Through bolt's signed request pipeline: the digest's story links open the thread in the workspace, and a
consultation ends with the sponsor's answer posted in the channel where it was asked."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from adapters.slack.translate import choice_action_id
from bot.scheduling import run_due
from storage.models import Consultation
from tests.slack.conftest import Running, click, event_body, msg


def _now_ts(n: int) -> str:
    return f"{int(time.time()) - 600 + n}.{n:06d}"


async def test_the_digest_links_each_story_to_its_thread_in_the_workspace(running: Running) -> None:
    question = msg("How do we rotate the cluster certificates?", user="UBOB", ts=_now_ts(1))
    answer = msg("kubeadm certs renew all, then restart the control plane.", user="UANA", ts=_now_ts(2),
                 thread_ts=question["ts"])
    await running.slack.event(event_body(question))
    await running.slack.event(event_body(answer))
    await running.slack.event(event_body({"type": "reaction_added", "user": "UBOB", "reaction": "pray",
                                          "item_user": "UANA", "event_ts": _now_ts(3),
                                          "item": {"type": "message", "channel": "C1", "ts": answer["ts"]}}))
    await running.settle()
    await running.slack.event(event_body(msg(f"digest {datetime.now(UTC):%Y-%m}", user="USPONSOR",
                                             channel="DUSPONSOR", channel_type="im", ts=_now_ts(4))))
    await running.settle()
    digest = next(c for c in running.fake.called("chat.postMessage") if "digest for" in str(c.args.get("text")))
    assert digest["channel"] == "DUSPONSOR"
    assert f"https://acme.slack.com/archives/C1/p{question['ts'].replace('.', '')}" in digest["text"]
    assert "thanked by 1 person" in digest["text"] and "steward://" not in digest["text"]
    assert running.fake.uploads  # the chart went with it (files_upload_v2)


async def test_the_sponsor_answer_is_posted_where_the_consultation_was_asked(running: Running) -> None:
    await running.slack.event(event_body(msg("consult k8s: should we standardise on Helm? until friday, as a "
                                             "choice: yes / no", user="USPONSOR", channel="DUSPONSOR",
                                             channel_type="im")))
    await running.settle()
    async with running.steward.db.session() as session:
        consultation = (await session.exec(select(Consultation))).one()
    asked = next(m for m in running.fake.posted if m["channel"] == "C1")
    for i, user in enumerate(("UANA", "UBOB", "UCAT", "UDAN", "UEVE")):
        await running.slack.interaction(click(choice_action_id(f"consult:{consultation.id}", i % 2), str(i % 2),
                                              user=user))
    await running.settle()

    await run_due(running.steward, consultation.deadline + timedelta(minutes=1))
    await running.steward.delivery.idle()
    await running.settle()
    to_sponsor = [c for c in running.fake.called("chat.postMessage") if c["channel"] == "DUSPONSOR"]
    assert any("5 voices." in str(c["text"]) for c in to_sponsor)
    prompt = next(c for c in to_sponsor if c.args.get("blocks") and "What did you decide" in str(c["text"]))
    buttons = [e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["yes", "no", "Not decided yet"]

    status, _ = await running.slack.interaction(click(buttons[1]["action_id"], buttons[1]["value"], user="USPONSOR",
                                                      channel="DUSPONSOR"))
    assert status == 200
    await running.settle()
    answer = [c for c in running.fake.called("chat.postMessage") if c["channel"] == "C1"][-1]
    assert "The sponsor's answer to consultation 1" in answer["text"] and "&gt; no" in answer["text"]
    assert "5 voices (yes: 3, no: 2)" in answer["text"]
    assert f"archives/C1/p{asked['ts'].replace('.', '')}" in answer["text"]  # the consultation's thread
    async with running.steward.db.session() as session:
        assert (await session.exec(select(Consultation))).one().decision == "no"
