"""A small community history built through the live path (events → indexing), for routing tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from adapters.recording import RecordingAdapter
from bot.events import MessagePosted, ReactionAdded, Sender

_n = itertools.count(1)
START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

TOPICS = {
    "helm": ("UANA", ["How do I roll back a helm release?", "Helm chart values precedence is confusing",
                      "Pinning helm chart versions across environments", "Helm upgrade fails with a timeout"]),
    "terraform": ("UBRUNO", ["Terraform state locking in S3", "How to structure terraform modules?",
                             "Terraform plan shows drift on every run", "Importing existing resources in terraform"]),
}


def post(text: str, user: str, *, thread: str | None = None, at: datetime | None = None,
         channel: str = "C1") -> MessagePosted:
    """A message event with a fresh id."""
    n = next(_n)
    mid = f"{1790000000 + n}.000{n:03d}"
    return MessagePosted(event_id=f"h-{mid}", platform="recording", channel=channel,
                         sender=Sender(id=user, display_name=user[1:].title()), message_id=mid, text=text,
                         thread=thread, at=at or START + timedelta(hours=n))


async def seed(platform: RecordingAdapter, extra_helpers: dict[str, str] | None = None) -> dict[str, str]:
    """Threads on helm answered by Ana (✅ by the askers), on terraform by Bruno; returns root ids by title."""
    roots: dict[str, str] = {}
    askers = itertools.cycle(["UCHLOE", "UDAVID", "UEVE"])
    for _topic, (expert, questions) in TOPICS.items():
        for question in questions:
            asker = next(askers)
            root = post(question, asker)
            await platform.inject(root)
            answer = post(f"Here is what worked for me: {question.lower()}", expert, thread=root.message_id)
            await platform.inject(answer)
            await platform.inject(ReactionAdded(event_id=f"ok-{answer.message_id}", platform="recording",
                                                channel="C1", sender=Sender(id=asker),
                                                message_id=answer.message_id, emoji="white_check_mark"))
            roots[question] = root.message_id
    for user, text in (extra_helpers or {}).items():  # one answered thread each
        root = post(text, "UEVE")
        await platform.inject(root)
        await platform.inject(post("I can help with that", user, thread=root.message_id))
    platform.sent.clear()
    return roots
