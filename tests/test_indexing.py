"""Live messages, edits, deletions, reactions and memberships reach the community's memory."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.events import MemberJoined, MemberLeft, MessageDeleted, MessageEdited, ReactionAdded, ReactionRemoved, Sender
from storage.models import Member, Message, Reaction
from tests.events import command, message


def _ev(cls: type, n: str, user: str = "UANA", **kw: object) -> object:
    return cls(event_id=f"{cls.__name__}-{n}", platform="recording", channel="C1", sender=Sender(id=user), **kw)


async def _messages(steward: Steward) -> list[Message]:
    async with steward.db.session() as session:
        return list((await session.exec(select(Message).order_by(col(Message.id)))).all())


async def test_message_lifecycle(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    await platform.inject(message("root question about helm", message_id="1.1"))
    await platform.inject(message("an answer", user="UBRUNO", thread="1.1", message_id="1.2"))
    stored = await _messages(steward)
    assert [(m.platform_id, m.thread_id) for m in stored] == [("1.1", None), ("1.2", "1.1")]
    assert stored[0].posted_at.tzinfo is not None

    await platform.inject(_ev(MessageEdited, "e", message_id="1.2", text="a better answer"))  # type: ignore[arg-type]
    assert (await _messages(steward))[1].text == "a better answer"

    await platform.inject(_ev(ReactionAdded, "r1", message_id="1.2", emoji="white_check_mark"))  # type: ignore[arg-type]
    await platform.inject(_ev(ReactionAdded, "r2", user="UCHLOE", message_id="1.2", emoji="+1"))  # type: ignore[arg-type]
    await platform.inject(_ev(ReactionRemoved, "r3", user="UCHLOE", message_id="1.2", emoji="+1"))  # type: ignore[arg-type]
    async with steward.db.session() as session:
        assert [r.emoji for r in (await session.exec(select(Reaction))).all()] == ["white_check_mark"]

    await platform.inject(_ev(MessageDeleted, "d", message_id="1.2"))  # type: ignore[arg-type]
    assert [m.platform_id for m in await _messages(steward)] == ["1.1"]
    async with steward.db.session() as session:
        assert (await session.exec(select(Reaction))).all() == []


async def test_what_is_not_indexed(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    await platform.inject(command("help"))  # a command to Steward
    await platform.inject(message("a private word", direct=True, channel="D1"))  # a DM
    await platform.inject(message("elsewhere", channel="C-UNKNOWN"))  # a channel of no community
    await platform.inject(message("   "))  # nothing said
    assert await _messages(steward) == []


async def test_membership_changes(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    joined_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    await platform.inject(_ev(MemberJoined, "j", user="UNEW", at=joined_at))  # type: ignore[arg-type]
    await platform.inject(_ev(MemberLeft, "l", user="UNEW"))  # type: ignore[arg-type]
    async with steward.db.session() as session:
        member = (await session.exec(select(Member).where(Member.platform_user_id == "UNEW"))).one()
    assert member.joined_at == joined_at and member.left_at is not None and member.left_at > joined_at


async def test_steward_ignores_its_own_and_other_bots_messages(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    own = message("help", addressed=True, user="steward")
    await platform.inject(own)
    other_bot = message("beep", addressed=True)
    await platform.inject(other_bot.__class__(**{**{f: getattr(other_bot, f) for f in other_bot.__dataclass_fields__},
                                                "sender": Sender(id="UBOT", is_bot=True)}))
    assert platform.sent == [] and await _messages(steward) == []
