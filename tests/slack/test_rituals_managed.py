"""A coordinator manages a meetup on Slack, through bolt's signed request pipeline (issue 16, point 1)."""

from __future__ import annotations

from tests.slack.conftest import Running, click, event_body, msg


async def _say(running: Running, text: str, user: str = "UCOORD") -> str:
    await running.slack.command("/steward", text, user=user)
    await running.settle()
    return running.texts("chat.postEphemeral")[-1]


async def _tap(running: Running, value: str, user: str = "UCOORD") -> str:
    ask = running.fake.called("chat.postEphemeral")[-1]
    button = next(b for b in ask["blocks"][-1]["elements"] if b["value"] == value)
    status, _ = await running.slack.interaction(click(button["action_id"], value, user=user))
    assert status == 200
    await running.settle()
    return running.texts("chat.postEphemeral")[-1]


async def test_list_edit_skip_move_agenda_and_answers_on_slack(running: Running) -> None:
    await _say(running, 'schedule meetup "Helm clinic" every 2nd tuesday at 16:00 America/Montreal')
    assert (await _tap(running, "yes")).startswith("Saved: ritual 1 “Helm clinic”")
    listing = await _say(running, "rituals")
    assert "every second Tuesday of the month at 16:00 (America/Montreal)" in listing and "next: " in listing
    assert "is now called “Helm and GitOps clinic”" in await _say(running, "rename ritual 1 Helm and GitOps clinic")

    await running.slack.event(event_body(msg("<@UBOT> add to agenda: our Helm 4 story")))
    await running.settle()
    assert "our Helm 4 story" in running.texts()[-1]
    await _say(running, "edit ritual 1 every last friday at 15:00")
    assert (await _tap(running, "yes")).startswith("Saved: ritual 1")
    agenda = await _say(running, "agenda", user="UANA")
    assert "Agenda of *Helm and GitOps clinic* on Fri" in agenda and "our Helm 4 story" in agenda

    details = await _say(running, "edit ritual 1 text: Bring your charts")
    assert "Bring your charts" in details
    skipped = await _say(running, "skip next meetup")
    assert skipped.startswith("Skipped “Helm and GitOps clinic” on Fri") and "agenda moves" in skipped
    moved = await _say(running, "move meetup 1 to thursday 18:00")
    # thursday 18:00 in the ritual's time zone (Montreal), shown in hers (Paris): six hours later
    assert moved.startswith("Moved “Helm and GitOps clinic” from Fri") and ", 00:00 (Europe/Paris)." in moved
    assert "Nobody has answered yet" in await _say(running, "who is coming", user="UANA")
    assert "Only this community's coordinators" in await _say(running, "skip next meetup", user="UANA")

    await _say(running, "language fr")
    french = await _say(running, "rituels")
    assert "le dernier vendredi de chaque mois à 15:00 (America/Montreal)" in french and "every" not in french
    assert "est sautée" in await _say(running, "sauter la prochaine rencontre 1")
