"""Helpers for reputation tests: reactions, joins and reading the ledger."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlmodel import col, select

from bot.core import Steward
from bot.events import MemberJoined, ReactionAdded, Sender
from storage.models import Contribution, Member

_ids = itertools.count(1)


def react(message_id: str, emoji: str, *, user: str, author: str | None = None) -> ReactionAdded:
    """`user` reacts with `emoji` on a message of channel C1."""
    return ReactionAdded(event_id=f"react-{next(_ids)}", platform="recording", channel="C1",
                         sender=Sender(id=user), message_id=message_id, emoji=emoji, message_author=author)


def joined(user: str) -> MemberJoined:
    """`user` joins channel C1 now."""
    return MemberJoined(event_id=f"join-{next(_ids)}", platform="recording", channel="C1",
                        sender=Sender(id=user, display_name=user.title()), at=datetime.now(UTC))


async def ledger(steward: Steward, user: str | None = None) -> list[tuple[str, str, str | None]]:
    """(member's platform id, kind, topic) of every entry, oldest first."""
    async with steward.db.session() as session:
        stmt = (select(Member.platform_user_id, Contribution.kind, Contribution.topic)
                .join(Member, col(Member.id) == col(Contribution.member_id)).order_by(col(Contribution.id)))
        if user is not None:
            stmt = stmt.where(col(Member.platform_user_id) == user)
        return [(u, k, t) for u, k, t in (await session.exec(stmt)).all()]


async def member_id(steward: Steward, user: str) -> int:
    """The member id of a platform user in community k8s."""
    async with steward.db.session() as session:
        member = (await session.exec(select(Member).where(Member.platform_user_id == user))).one()
        assert member.id is not None
        return member.id
