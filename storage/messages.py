"""Queries on messages and reactions: the community's searchable memory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import index_changes, limits
from storage.models import Message, Reaction


async def find_message(session: AsyncSession, community_id: int, platform_id: str,
                       channel_id: int | None = None) -> Message | None:
    """The stored message with this platform id (in this channel, when known), if any.

    A message is keyed by its channel too: Slack's ids (`ts`) are unique within a channel only."""
    stmt = select(Message).where(Message.community_id == community_id, Message.platform_id == platform_id)
    if channel_id is not None:
        stmt = stmt.where(Message.channel_id == channel_id)
    return (await session.exec(stmt)).first()


async def store_message(session: AsyncSession, *, community_id: int, channel_id: int, author_id: int,
                        platform_id: str, text: str, posted_at: datetime,
                        thread_id: str | None = None) -> tuple[Message, bool]:
    """Store a message once; returns it and whether it is new (the same message imported or seen before
    adds nothing). One statement for a new message: no look before the insert."""
    root = thread_id if thread_id and thread_id != platform_id else None
    conn = await session.connection()
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = (insert(Message).values(community_id=community_id, channel_id=channel_id, author_id=author_id,
                                   platform_id=platform_id, thread_id=root, text=text, posted_at=posted_at)
            .on_conflict_do_nothing(index_elements=["community_id", "platform_id", "channel_id"]).returning(Message))
    new: Message | None = (await session.exec(stmt)).scalars().first()
    if new is not None:
        await index_changes.message_changed(session, new, "posted")
        return new, True
    existing = await find_message(session, community_id, platform_id, channel_id)
    assert existing is not None, "a conflicting message is there"
    return existing, False


async def edit_message(session: AsyncSession, community_id: int, platform_id: str, text: str,
                       at: datetime, channel_id: int | None = None) -> Message | None:
    """Apply an edit; None when the message is unknown (not indexed)."""
    message = await find_message(session, community_id, platform_id, channel_id)
    if message is not None:
        message.text, message.edited_at = text, at
        await index_changes.message_changed(session, message, "edited")
    return message


async def delete_message(session: AsyncSession, community_id: int, platform_id: str,
                         channel_id: int | None = None) -> bool:
    """Delete a message and its reactions; False when it was unknown."""
    message = await find_message(session, community_id, platform_id, channel_id)
    if message is None:
        return False
    await session.exec(delete(Reaction).where(col(Reaction.message_id) == message.id))
    await index_changes.message_changed(session, message, "deleted")
    await session.delete(message)
    return True


async def add_reaction(session: AsyncSession, message_id: int, member_id: int, emoji: str,
                       at: datetime) -> bool:
    """Record a reaction once; False when it was already there. A long (Matrix) key is cut to its column."""
    emoji = limits.fit(emoji, limits.EMOJI_LENGTH)
    stmt = select(Reaction).where(Reaction.message_id == message_id, Reaction.member_id == member_id,
                                  Reaction.emoji == emoji)
    if (await session.exec(stmt)).first() is not None:
        return False
    session.add(Reaction(message_id=message_id, member_id=member_id, emoji=emoji, at=at))
    await session.flush()
    await index_changes.reaction_changed(session, message_id, member_id, emoji)
    return True


async def remove_reaction(session: AsyncSession, message_id: int, member_id: int, emoji: str) -> bool:
    """Forget a reaction; False when there was none."""
    emoji = limits.fit(emoji, limits.EMOJI_LENGTH)
    stmt = select(Reaction).where(Reaction.message_id == message_id, Reaction.member_id == member_id,
                                  Reaction.emoji == emoji)
    reaction = (await session.exec(stmt)).first()
    if reaction is None:
        return False
    await session.delete(reaction)
    await index_changes.reaction_changed(session, message_id, member_id, emoji)
    return True


async def count_messages(session: AsyncSession, community_id: int) -> int:
    """How many messages a community has indexed."""
    stmt = select(func.count()).select_from(Message).where(Message.community_id == community_id)
    return int((await session.exec(stmt)).one())
