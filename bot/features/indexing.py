"""The community's memory: messages, edits, deletions, reactions and memberships seen live.

Imported history (`steward import`) writes the same tables through the same storage functions.
Direct messages, commands to Steward, and members who opted out are never indexed.
"""

from __future__ import annotations

from bot.context import Context
from bot.events import (
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.features.follow_up import index_live_message, index_live_reaction
from bot.router import Router
from storage import communities, messages
from storage.members import ensure_member, find_member
from storage.models import Community, Member

router = Router()


async def _indexable_sender(ctx: Context) -> Member | None:
    if ctx.community is None or ctx.event.is_direct or ctx.tombstoned:
        return None  # a tombstoned account (forgotten, or opted out) is not even given a row for this
    member = await ctx.ensure_member()
    return None if member.opted_out or member.is_bot else member


@router.on(MessagePosted)
async def index_message(ctx: Context) -> None:
    """Keep a community message so routing can learn who knows what."""
    event = ctx.event
    assert isinstance(event, MessagePosted)
    if ctx.command is not None or not event.text.strip():
        return
    member = await _indexable_sender(ctx)
    if member is None or ctx.community is None or ctx.community.id is None or member.id is None:
        return
    channel_id = await _channel_id(ctx, ctx.community, event.channel)
    stored, new = await messages.store_message(
        ctx.session, community_id=ctx.community.id, channel_id=channel_id, author_id=member.id,
        platform_id=event.message_id, text=event.text, posted_at=event.at, thread_id=event.thread)
    ctx.messages[event.message_id] = stored
    if new:
        index_live_message(ctx, event.message_id, event.thread, event.sender.id, event.text, event.at.timestamp())


async def _channel_id(ctx: Context, community: Community, platform_id: str) -> int:
    """The channel's row id, created on first need; known channels cost no query (`bot.directory`)."""
    platform = ctx.event.platform
    known = await ctx.svc.directory.channel(ctx.session, platform, platform_id)
    if known is not None:
        return known.id
    channel = await communities.ensure_channel(ctx.session, community, platform, platform_id)
    assert channel.id is not None and community.id is not None
    ctx.svc.directory.remember_channel(platform, platform_id, channel.id, channel.community_id)
    return channel.id


@router.on(MessageEdited)
async def index_edit(ctx: Context) -> None:
    """Follow edits so the memory says what the author finally meant."""
    event = ctx.event
    assert isinstance(event, MessageEdited)
    if ctx.community is not None and ctx.community.id is not None:
        if await messages.edit_message(ctx.session, ctx.community.id, event.message_id, event.text, event.at,
                                       await ctx.channel_row_id()):
            message_id, text = event.message_id, event.text
            ctx.update_index(lambda index: index.edit(message_id, text))


@router.on(MessageDeleted)
async def index_deletion(ctx: Context) -> None:
    """A deleted message is gone from Steward's memory too, routing's included."""
    event = ctx.event
    assert isinstance(event, MessageDeleted)
    if ctx.community is not None and ctx.community.id is not None:
        if await messages.delete_message(ctx.session, ctx.community.id, event.message_id, await ctx.channel_row_id()):
            message_id = event.message_id
            ctx.update_index(lambda index: index.remove(message_id))


@router.on(ReactionAdded)
@router.on(ReactionRemoved)
async def index_reaction(ctx: Context) -> None:
    """Reactions (✅, 👍, 🙏…) are evidence of helpful answers."""
    event = ctx.event
    assert isinstance(event, ReactionAdded | ReactionRemoved)
    if ctx.community is None or ctx.community.id is None:
        return
    message = await ctx.message_row(event.message_id)
    if message is None or message.id is None:
        return
    if isinstance(event, ReactionAdded):
        member = await _indexable_sender(ctx)
        if member is not None and member.id is not None:
            if await messages.add_reaction(ctx.session, message.id, member.id, event.emoji, event.at):
                index_live_reaction(ctx, event.message_id, event.emoji, event.sender.id)
    else:
        found = await find_member(ctx.session, ctx.community.id, event.platform, event.sender.id)
        if found is not None and found.id is not None:
            if await messages.remove_reaction(ctx.session, message.id, found.id, event.emoji):
                message_id, emoji, reactor = event.message_id, event.emoji, event.sender.id
                ctx.update_index(lambda index: index.remove_reaction(message_id, emoji, reactor))


@router.on(MemberJoined)
async def member_joined(ctx: Context) -> None:
    """Remember when someone joined (onboarding and anniversaries build on it)."""
    if ctx.community is None or ctx.community.id is None or (ctx.tombstoned and ctx.member is None):
        return  # someone who asked to be forgotten or opted out: not even their arrival is kept
    sender = ctx.event.sender
    member = await ensure_member(ctx.session, ctx.community.id, ctx.event.platform, sender.id,
                                 display_name=sender.display_name, timezone=sender.timezone,
                                 is_bot=sender.is_bot, joined_at=ctx.event.at, tombstoned=ctx.tombstoned)
    member.joined_at, member.left_at = member.joined_at or ctx.event.at, None
    ctx.member = member


@router.on(MemberLeft)
async def member_left(ctx: Context) -> None:
    """Departed members are never suggested; their history stays until they ask to be forgotten."""
    if ctx.member is not None:
        ctx.member.left_at = ctx.event.at
