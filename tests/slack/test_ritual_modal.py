"""Setting up a ritual on Slack: `/steward schedule` opens a modal; its answers take the chat path."""

from __future__ import annotations

import json

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.replies import AskChoice, AskForm
from tests.events import command
from tests.slack.conftest import Running


async def test_schedule_opens_a_modal_whose_submission_shows_the_dry_run(running: Running) -> None:
    status, _ = await running.slack.command("/steward", "schedule", user="UCOORD")
    assert status == 200
    await running.settle()
    [opened] = running.fake.called("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "form|ritualform"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "title", "kind", "schedule", "time", "timezone", "channel"]
    values = {"title": "Helm clinic", "kind": "", "schedule": "every 2nd tuesday", "time": "16:00",
              "timezone": "America/Montreal", "channel": ""}
    submission = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "UCOORD", "name": "coord"},
                  "trigger_id": "9.9.x", "view": {**view, "id": "V1", "state": {"values": {
                      k: {"value": {"type": "plain_text_input", "value": v or None}} for k, v in values.items()}}}}
    status, text = await running.slack.interaction(submission)
    assert (status, text) == (200, "")
    await running.settle()
    dry_run = running.texts("chat.postEphemeral")[-1]
    assert "Helm clinic" in dry_run and "22:00 (Europe/Paris)" in dry_run  # 16:00 Montreal, in her time zone


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
