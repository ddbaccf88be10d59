"""`team …` through bolt's real signed pipeline: the member's words come back as text (Slack's escaping), never a
mention or a channel-wide ping; the French form answers in French for a member who chose it."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Member
from tests.slack.conftest import Running, event_body, msg


async def test_a_team_set_in_slack_is_kept_and_answered_as_text(running: Running) -> None:
    await running.slack.event(event_body(msg("<@UBOT> team <!here> R&D <b>ops</b>")))
    await running.settle()
    [reply] = [c for c in running.fake.calls if c.method in ("chat.postEphemeral", "chat.postMessage")]
    text = reply["text"]
    assert "Noted: your team is “&lt;!here&gt; R&amp;D &lt;b&gt;ops&lt;/b&gt;”." in text, text
    assert "<!here>" not in text and "<b>" not in text
    async with running.steward.db.session() as session:
        ana = (await session.exec(select(Member).where(Member.platform_user_id == "UANA"))).one()
    assert ana.team == "<!here> R&D <b>ops</b>"  # kept as typed; escaped where it is shown
    await running.slack.event(event_body(msg("<@UBOT> langue fr", ts="1700000001.000200")))
    await running.slack.event(event_body(msg("<@UBOT> mon équipe", ts="1700000002.000200")))
    await running.settle()
    texts = [c["text"] for c in running.fake.calls if c.method in ("chat.postEphemeral", "chat.postMessage")]
    assert "Votre équipe\u00a0: «\u00a0&lt;!here&gt; R&amp;D" in texts[-1], texts[-1]
