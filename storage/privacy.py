"""What Steward keeps about a person, and forgetting it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, func, update
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Contribution, InboundEvent, Member, Message, OutboxReply, Reaction
from storage.surveys import forget_open_answers
from storage.types import utcnow


@dataclass(frozen=True)
class KeptData:
    """A summary of what is stored about one membership."""

    community_id: int
    display_name: str
    locale: str | None
    timezone: str | None
    opted_out: bool
    messages: int
    reactions: int
    contributions: int


async def kept_data(session: AsyncSession, member: Member) -> KeptData:
    """Counts of the main rows tied to `member`."""
    assert member.id is not None

    async def count(stmt: object) -> int:
        return int((await session.exec(stmt)).one())  # type: ignore[call-overload]

    mid = member.id
    return KeptData(
        community_id=member.community_id, display_name=member.display_name, locale=member.locale,
        timezone=member.timezone, opted_out=member.opted_out,
        messages=await count(select(func.count()).select_from(Message).where(col(Message.author_id) == mid)),
        reactions=await count(select(func.count()).select_from(Reaction).where(col(Reaction.member_id) == mid)),
        contributions=await count(
            select(func.count()).select_from(Contribution).where(col(Contribution.member_id) == mid)),
    )


def member_references(*, nullable: bool = False) -> list[tuple[Table, str]]:
    """Every (table, column) pointing at member.id, children first, so new feature tables are covered.

    With `nullable`, only the `ON DELETE SET NULL` references (rows that belong to someone else and
    merely mention the member); without it, only the references whose rows belong to the member.
    """
    refs: list[tuple[Table, str]] = []
    for table in reversed(SQLModel.metadata.sorted_tables):
        for fk in table.foreign_keys:
            if fk.column.table.name == "member" and fk.column.name == "id":
                if (fk.ondelete == "SET NULL") == nullable:
                    refs.append((table, fk.parent.name))
    return refs


async def forget_member(session: AsyncSession, member: Member) -> None:
    """Delete every row that references the member; anonymise the member row itself.

    The row stays (so counts such as anonymous survey turnout stay right) but no longer names anyone:
    the platform id becomes a random token, so the person starts afresh if they come back.
    """
    await _scrub_waiting(session, member.platform, member.platform_user_id)
    await forget_open_answers(session, member.community_id, member.platform, member.platform_user_id)
    mine = select(Message.id).where(col(Message.author_id) == member.id)
    await session.exec(delete(Reaction).where(col(Reaction.message_id).in_(mine)))
    await session.exec(delete(Contribution).where(col(Contribution.message_id).in_(mine)))
    for table, column in member_references(nullable=True):
        await session.exec(update(table).where(table.c[column] == member.id).values({column: None}))
    for table, column in member_references():
        await session.exec(delete(table).where(table.c[column] == member.id))
    member.platform_user_id = f"forgotten:{uuid.uuid4().hex}"
    member.display_name = ""
    member.timezone = member.locale = member.away_until = member.weekly_cap = None
    member.opted_out = True
    member.forgotten_at = utcnow()
    await session.flush()


async def _scrub_waiting(session: AsyncSession, platform: str, platform_user_id: str) -> None:
    """Deliveries and replies still waiting that carry the person's platform id go too: an event they
    caused not handled yet (its payload holds their words), a reply still to be sent to them.
    Handled events keep only their id, sent replies only their message id: nothing to scrub there."""
    quoted = json.dumps(platform_user_id)  # how the id appears inside a stored JSON payload
    inbound: Any = InboundEvent.__table__  # type: ignore[attr-defined]
    replies: Any = OutboxReply.__table__  # type: ignore[attr-defined]
    await session.exec(delete(inbound).where(inbound.c.platform == platform, inbound.c.payload.is_not(None),
                                             inbound.c.payload.contains(quoted, autoescape=True)))
    await session.exec(delete(replies).where(replies.c.platform == platform, replies.c.payload.is_not(None),
                                             replies.c.payload.contains(quoted, autoescape=True)))
