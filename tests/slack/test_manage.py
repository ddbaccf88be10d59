"""A coordinator and a sponsor run the community and its surveys on Slack, through bolt's signed request
pipeline (issue 16, points 2 and 3): `settings`, `set`, `add coordinator`, `close survey`, `survey results`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from adapters.slack.translate import choice_action_id
from storage.communities import get_community
from storage.models import SettingsChange
from tests.slack.conftest import Running, click, event_body, msg


async def _say(running: Running, text: str, user: str = "UCOORD") -> str:
    await running.slack.command("/steward", text, user=user)
    await running.settle()
    return running.texts("chat.postEphemeral")[-1]


def _survey_buttons(running: Running) -> list[dict[str, Any]]:
    for call in reversed(running.fake.called("chat.postMessage")):
        for block in call.args.get("blocks") or []:
            elements = block.get("elements") or []
            if elements and str(elements[0].get("action_id", "")).startswith("choice|survey:"):
                return list(elements)
    raise AssertionError("no survey question was posted")


async def test_settings_from_slack_in_english_and_french(running: Running) -> None:
    shown = await _say(running, "settings", user="USPONSOR")
    assert shown.startswith("⚙️ Settings of *Kubernetes CoP*:") and "• Time zone: UTC (from the config file)" in shown
    changed = await _say(running, "set time zone Europe/Paris")
    assert changed.startswith("✅ Time zone: UTC → Europe/Paris.")
    assert (await _say(running, "add coordinator <@UANA>")).startswith("✅ Coordinators: ")
    assert "Europe/Paris" in await _say(running, "settings", user="UANA")  # Ana manages it now
    assert "Only this community's coordinators" in await _say(running, "set quotes on", user="USPONSOR")
    async with running.steward.db.session() as session:
        community = await get_community(session, "k8s")
        changes = (await session.exec(select(SettingsChange).order_by(SettingsChange.id))).all()  # type: ignore[arg-type]
    assert community is not None and community.timezone == "Europe/Paris"
    assert [(c.key, c.changed_by) for c in changes] == [("timezone", "slack:UCOORD"), ("coordinators", "slack:UCOORD")]
    assert '["slack:UCOORD", "slack:UANA"]' == changes[1].new_value

    await _say(running, "language fr", user="UANA")
    french = await _say(running, "réglages", user="UANA")
    assert french.startswith("⚙️ Réglages de la communauté *Kubernetes CoP*\u00a0:")
    assert "• Fuseau horaire\u00a0: Europe/Paris" in french
    assert "Rien n'a changé" in await _say(running, "ajouter coordinatrice <@UANA>", user="UANA")


async def test_close_a_survey_early_and_see_its_results_on_slack(running: Running) -> None:
    await _say(running, 'survey now "How was the clinic?" emoji')
    buttons = _survey_buttons(running)
    assert buttons[0]["action_id"] == choice_action_id("survey:1:0", 0)
    for i, value in enumerate(["5", "4", "5", "3", "5"]):
        button = next(b for b in buttons if b["value"] == value)
        status, _ = await running.slack.interaction(click(button["action_id"], value, user=f"UM{i}"))
        assert status == 200
    await running.settle()
    assert "still open" in await _say(running, "survey results 1", user="USPONSOR")
    assert "Only this community's coordinators" in await _say(running, "close survey 1", user="UM0")
    closed = await _say(running, "close survey 1")
    assert closed.startswith("Closed survey 1 “How was the clinic?”: its results are posted where it was asked.")
    posted = next(t for t in reversed(running.texts()) if "📊" in t)
    assert "Results of the pulse survey “How was the clinic?”: 5 people answered." in posted
    assert "• Average: 4.4" in posted
    again = await _say(running, "survey results 1", user="USPONSOR")
    assert "• Average: 4.4" in again and "Survey 1, closed " in again
    listing = await _say(running, "surveys", user="USPONSOR")
    assert "*Closed* (latest first)" in listing and "respondents: 5" in listing
    assert "already closed" in await _say(running, "clore sondage 1")


async def test_a_coordinator_runs_the_community_a_recurring_pulse_and_an_export_on_slack(running: Running) -> None:
    """`set purpose`, `add sponsor` / `remove sponsor`, `settings history`, a recurring pulse (its dates shown
    first), `surveys`, `export survey`, `who is core` (names for a coordinator, a count for a sponsor), `stats`."""
    assert (await _say(running, "set purpose Helping each other run Kubernetes")).startswith("✅ Purpose: ")
    added = await _say(running, "add sponsor <@UGRACE>")
    assert added.startswith("✅ Sponsors: ") and "Ugrace" in added  # her Slack name, not her id
    assert "Sponsors" in await _say(running, "remove sponsor <@UGRACE>")
    history = await _say(running, "settings history", user="USPONSOR")
    assert "Purpose" in history and "Sponsors" in history and "by Ucoord" in history

    dates = await _say(running, 'survey "How useful was this month?" scale 1-5 every month on the 1st at 10:00')
    assert "would open on these dates" in dates
    ask = running.fake.called("chat.postEphemeral")[-1]
    yes = next(b for b in ask["blocks"][-1]["elements"] if b["value"] == "yes")
    await running.slack.interaction(click(yes["action_id"], "yes", user="UCOORD"))
    await running.settle()
    assert "Saved" in running.texts("chat.postEphemeral")[-1]
    await _say(running, 'survey now "Was the clinic useful?" scale 1-5')
    buttons = _survey_buttons(running)
    for i, value in enumerate(["5", "4", "5", "3", "5"]):
        button = next(b for b in buttons if b["value"] == value)
        await running.slack.interaction(click(button["action_id"], value, user=f"UM{i}"))
    await running.settle()
    listing = await _say(running, "surveys", user="USPONSOR")
    assert "“How useful was this month?”: every month on the 1st at 10:00; next run " in listing
    assert "“Was the clinic useful?”: closes " in listing
    await _say(running, "close survey 1")
    exported = await _say(running, "export survey 1")
    assert '"survey","title","closed","respondents"' in exported and '"Was the clinic useful?"' in exported

    for n in range(8):  # Ana writes enough this month to be in the core group
        await running.slack.event(event_body(msg(f"Here is how we roll out Helm charts, step {n}.", user="UANA",
                                                 ts=f"{int(time.time()) - 60 + n}.{n:06d}")))
    await running.settle()
    month = f"{datetime.now(UTC):%Y-%m}"
    named = await _say(running, f"who is core {month}")
    assert "Uana" in named
    counted = await _say(running, f"who is core {month}", user="USPONSOR")
    assert "Uana" not in counted and "• Core: 1" in counted
    stats = await _say(running, "stats", user="USPONSOR")
    assert "• Active members: 6 (" in stats and "• Core group: 1 (" in stats  # Ana, and five who answered a survey
