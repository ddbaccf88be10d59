"""Setting up a ritual on Slack: `/steward schedule` opens a modal; its answers take the chat path."""

from __future__ import annotations

import json

import pytest

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.replies import AskChoice, AskForm
from tests.events import command
from tests.slack.conftest import Running, event_body, msg


async def test_schedule_opens_a_modal_whose_submission_shows_the_dry_run(running: Running) -> None:
    running.fake.trigger_ttl = 3.0  # as Slack: the modal opens well within it
    status, _ = await running.slack.command("/steward", "schedule", user="UCOORD")
    assert status == 200
    await running.settle()
    [opened] = running.fake.called("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "form|ritualform"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "title", "kind", "schedule", "time", "timezone", "channel", "text"]
    values = {"title": "Helm clinic", "kind": "", "schedule": "every 2nd tuesday", "time": "16:00",
              "timezone": "America/Montreal", "channel": "", "text": "Bring your Helm questions!"}
    submission = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "UCOORD", "name": "coord"},
                  "trigger_id": "9.9.x", "view": {**view, "id": "V1", "state": {"values": {
                      k: {"value": {"type": "plain_text_input", "value": v or None}} for k, v in values.items()}}}}
    status, text = await running.slack.interaction(submission)
    assert (status, text) == (200, "")
    await running.settle()
    dry_run = running.texts("chat.postEphemeral")[-1]
    assert "Helm clinic" in dry_run and "22:00 (Europe/Paris)" in dry_run  # 16:00 Montreal, in her time zone



async def test_the_form_speaks_french_and_takes_a_french_kind(running: Running) -> None:
    running.fake.trigger_ttl = 3.0
    await running.slack.command("/steward", "langue fr", user="UCOORD")
    await running.slack.command("/steward", "planifier", user="UCOORD")
    await running.settle()
    [opened] = running.fake.called("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    placeholders = {b["block_id"]: b["element"].get("placeholder", {}).get("text") for b in view["blocks"]
                    if b["type"] == "input"}
    assert placeholders["kind"] == "rencontre" and placeholders["schedule"] == "chaque 2e mardi"
    assert "meetup" not in json.dumps(view, ensure_ascii=False)
    values = {"title": "Atelier Helm", "kind": "Rencontre", "schedule": "chaque 2e mardi", "time": "16:00",
              "timezone": "Europe/Paris", "channel": "", "text": ""}
    submission = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "UCOORD", "name": "coord"},
                  "trigger_id": "9.9.x", "view": {**view, "id": "V1", "state": {"values": {
                      k: {"value": {"type": "plain_text_input", "value": v or None}} for k, v in values.items()}}}}
    assert await running.slack.interaction(submission) == (200, "")
    await running.settle()
    dry_run = running.texts("chat.postEphemeral")[-1]
    assert dry_run.startswith("Voici les prochaines dates de «\u00a0Atelier Helm\u00a0»")


def _asked_in_chat(running: Running) -> None:
    """The member got the chat dialogue's first question (the kind of ritual), not an apology."""
    assert running.fake.called("views.open") == []
    texts = running.texts("chat.postEphemeral")
    assert not any("Sorry" in t for t in texts)
    ask = running.fake.called("chat.postEphemeral")[-1]
    assert ask["text"] == "Let's set up a ritual. What kind?"
    buttons = ask["blocks"][-1]["elements"]
    assert [b["value"] for b in buttons] == ["meetup", "reminder"]
    assert buttons[0]["action_id"].startswith("choice|ritualguide|")


async def test_schedule_queued_behind_a_throttled_channel_asks_in_chat(running: Running) -> None:
    running.fake.trigger_ttl = 1.5  # Slack: ~3 s; shortened with the adapter's window to keep this test quick
    running.adapter.trigger_window = 1.0
    running.fake.rate_limit("chat.postMessage", times=1, retry_after=2, channel="C1")
    await running.slack.event(event_body(msg("<@UBOT> help")))  # its answer waits out Retry-After in C1…
    await running.slack.command("/steward", "schedule", user="UCOORD")  # …and C1's next event waits for it
    await running.settle()
    _asked_in_chat(running)
    assert len(running.fake.called("chat.postMessage")) == 1  # the help answer still went out


@pytest.mark.parametrize("error", ["expired_trigger_id", "invalid_trigger_id", "internal_error"])
async def test_schedule_asks_in_chat_when_the_modal_cannot_open(running: Running, error: str) -> None:
    running.fake.fail("views.open", error, times=4)  # internal_error is retried: it fails every try
    await running.slack.command("/steward", "schedule", user="UCOORD")
    await running.settle()
    _asked_in_chat(running)


async def test_a_member_cannot_open_the_ritual_form(running: Running) -> None:
    await running.slack.command("/steward", "schedule", user="UANA")
    await running.settle()
    assert running.fake.called("views.open") == []
    assert "coordinators" in running.texts("chat.postEphemeral")[-1]


async def test_without_forms_the_guided_dialogue_starts(bot: tuple[Steward, RecordingAdapter]) -> None:
    _steward, platform = bot
    await platform.inject(command("schedule", user="UCOORD"))
    assert not any(isinstance(r, AskForm) for r in platform.sent)
    first = platform.sent[-1]
    assert isinstance(first, AskChoice) and first.key == "ritualguide"


async def test_members_cannot_answer_a_coordinators_ritual_questions(bot: tuple[Steward, RecordingAdapter]) -> None:
    from tests.events import pick

    _steward, platform = bot
    await platform.inject(pick("ritualguide", "meetup", user="UANA"))
    assert platform.texts()[-1].startswith("Only this community's coordinators can do that.")
    await platform.inject(pick("ritualguide", "meetup", user="UCOORD"))
    assert platform.texts()[-1] == "How often?"
