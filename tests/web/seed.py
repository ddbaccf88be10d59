"""October 2026 in k8s, as tests/surveys/test_digest.py seeds it (its channel chosen by id: these tests have two
communities): a core member, question threads, thanks, a routed question, a meetup, a survey of 5 answers."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from storage.members import ensure_member
from storage.models import (
    Channel,
    Community,
    Contribution,
    Meetup,
    MeetupRsvp,
    Message,
    Question,
    Reaction,
    Ritual,
    SurveyAnswer,
)
from storage.preferences import set_quotes
from storage.surveys import close, create_survey
from tests.surveys.conftest import utc
from tests.web.conftest import Bot


async def seed(bot: Bot) -> None:
    """October 2026 in k8s: a core member, question threads, thanks, a routed question, a meetup, a survey."""
    steward, _platform = bot
    async with steward.db.session() as s:
        community = (await s.exec(select(Community).where(Community.slug == "k8s"))).one()
        channel = (await s.exec(select(Channel).where(Channel.platform_id == "C1"))).one()
        cid, chid = community.id or 0, channel.id or 0
        ana = await ensure_member(s, cid, "recording", "UANA", display_name="Ana")
        bob = await ensure_member(s, cid, "recording", "UBOB", display_name="Bob")
        robot = await ensure_member(s, cid, "recording", "UBOT", is_bot=True)
        others = [await ensure_member(s, cid, "recording", f"U{i}") for i in range(4)]
        await set_quotes(s, ana.id or 0, True)
        n = iter(range(1, 1000))

        def post(author: int, at: datetime, text: str, thread: str | None = None) -> Message:
            msg = Message(community_id=cid, channel_id=chid, author_id=author, platform_id=f"m{next(n)}",
                          thread_id=thread, text=text, posted_at=at)
            s.add(msg)
            return msg

        post(bob.id or 0, utc(2026, 9, 20, 9), "hello from september")
        q1 = post(bob.id or 0, utc(2026, 10, 2, 9), "How do I upgrade Helm charts safely? ")
        q2 = post(bob.id or 0, utc(2026, 10, 3, 9), "Anyone tried Argo rollouts?")
        await s.flush()
        answer = post(ana.id or 0, utc(2026, 10, 2, 9, 30), "Use helm diff first, then --atomic.", q1.platform_id)
        for day in range(9):
            post(ana.id or 0, utc(2026, 10, 5 + day, 12), f"tip {day}")
        post(robot.id or 0, utc(2026, 10, 6, 12), "beep")
        for i, member in enumerate(others):
            post(member.id or 0, utc(2026, 10, 10 + i, 8), "thanks all")
        await s.flush()
        for member in (bob, *others[:2]):
            s.add(Reaction(message_id=answer.id or 0, member_id=member.id or 0, emoji="pray",
                           at=utc(2026, 10, 2, 11)))
        s.add(Reaction(message_id=q2.id or 0, member_id=ana.id or 0, emoji="+1", at=utc(2026, 10, 3, 10)))
        s.add(Contribution(community_id=cid, member_id=ana.id or 0, kind="accepted", message_id=answer.id,
                           at=utc(2026, 10, 2, 10)))
        s.add(Question(community_id=cid, asker_id=bob.id or 0, platform="recording", channel="C1", thread="t1",
                       text="who knows helm?", asked_at=utc(2026, 10, 4), answered_at=utc(2026, 10, 4, 2)))
        s.add(Question(community_id=cid, asker_id=bob.id or 0, platform="recording", channel="C1", thread="t2",
                       text="who knows argo?", asked_at=utc(2026, 10, 5)))
        ritual = Ritual(community_id=cid, kind="meetup", title="Helm clinic", rrule="FREQ=MONTHLY",
                        dtstart="2026-01-13T16:00:00", timezone="UTC", status="active")
        s.add(ritual)
        await s.flush()
        meetup = Meetup(ritual_id=ritual.id or 0, starts_at=utc(2026, 10, 13, 16))
        s.add(meetup)
        await s.flush()
        for member in (ana, bob, others[0]):
            s.add(MeetupRsvp(meetup_id=meetup.id or 0, member_id=member.id or 0, attended=True))
        survey = await create_survey(s, community_id=cid, title="How useful?", platform="recording", channel="C1",
                                     questions='[{"text": "How useful?", "kind": "scale", "options": '
                                               '[["1","1"],["2","2"],["3","3"],["4","4"],["5","5"]]}]',
                                     closes_at=utc(2026, 10, 20), remind_at=None, opened_at=utc(2026, 10, 17))
        for i, value in enumerate(["4", "4", "5", "4", "4"]):
            s.add(SurveyAnswer(survey_id=survey.id or 0, question=0, token=f"t{i}", value=value))
        close(survey, utc(2026, 10, 20))
