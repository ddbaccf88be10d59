"""The ledger fed by live events: answers in question threads, accepted answers, resources, welcomes.

A reply counts as an answer when its thread's root is a question (it ends with "?", or Steward routed
it) or when the root's author marked it ✅; once per thread per member. A link with a comment is a
shared resource; a reply to a newcomer's first message (within 30 days of joining) welcomes them. Topics come from the
thread's root (bot/reputation/topics.py). Opted-out members and bots are never recorded. A note only
ever holds the member's own words (the title of what they shared): never the question's text, which
belongs to the asker and must go when the asker is forgotten.
Kudos live in bot/features/kudos.py; routed questions are also followed in follow_up.py (same keys).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import col, select

from bot.context import Context
from bot.events import MessagePosted, ReactionAdded
from bot.replies import message_link
from bot.reputation.rules import ACCEPT, is_question, is_shared_resource
from bot.reputation.topics import topics_of
from bot.router import Router
from storage.ledger import record
from storage.messages import find_message
from storage.models import Member, Message
from storage.routing import question_in_thread

router = Router()
NEWCOMER = timedelta(days=30)


def _title(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:200]


@router.on(MessagePosted)
async def contribution_from_message(ctx: Context) -> None:
    """Record answered / welcomed / shared entries for an ordinary community message."""
    event = ctx.event
    assert isinstance(event, MessagePosted)
    community = ctx.community
    if ctx.command is not None or event.is_direct or community is None or community.id is None:
        return
    member = ctx.member
    if member is None or member.id is None or member.opted_out or member.is_bot:
        return  # the indexing feature created the row of anyone indexable
    stored = await ctx.message_row(event.message_id)
    if stored is None:
        return
    link = message_link(event.channel, event.message_id)
    root = (await find_message(ctx.session, community.id, event.thread, stored.channel_id)
            if event.is_reply and event.thread else None)
    if root is not None and root.author_id != member.id:
        question = await question_in_thread(ctx.session, event.platform, event.channel, root.platform_id)
        topic = topics_of(root.text)
        if is_question(root.text) or question is not None:
            await record(ctx.session, community_id=community.id, member_id=member.id, kind="answered",
                         key=f"answered:{member.id}:{root.platform_id}", at=event.at, topic=topic,
                         message_id=stored.id, evidence_url=link)
        if await _first_message(ctx, root):
            await record(ctx.session, community_id=community.id, member_id=member.id, kind="welcomed",
                         key=f"welcomed:{member.id}:{root.author_id}", at=event.at, topic=topic,
                         message_id=stored.id, evidence_url=link)
    if is_shared_resource(event.text):
        await record(ctx.session, community_id=community.id, member_id=member.id, kind="shared",
                     key=f"shared:{member.id}:{event.message_id}", at=event.at,
                     topic=topics_of(root.text if root is not None else event.text), message_id=stored.id,
                     evidence_url=link, note=_title(event.text))


async def _first_message(ctx: Context, root: Message) -> bool:
    """True when `root` is a newcomer's first message: Steward saw them join (MemberJoined) at most
    `NEWCOMER_DAYS` before it, and it is their first message here. Members Steward never saw join
    (e.g. present before it was installed) are not newcomers, so veterans' first messages don't count."""
    author = await ctx.session.get(Member, root.author_id)
    if author is None or author.joined_at is None or root.posted_at - author.joined_at > NEWCOMER:
        return False
    stmt = select(func.count()).select_from(Message).where(
        col(Message.author_id) == root.author_id, col(Message.posted_at) < root.posted_at)
    return int((await ctx.session.exec(stmt)).one()) == 0


@router.on(ReactionAdded)
async def accepted_anywhere(ctx: Context) -> None:
    """The root author's ✅ on someone's reply, in any thread: an accepted answer (and an answer)."""
    event = ctx.event
    assert isinstance(event, ReactionAdded)
    community = ctx.community
    if event.emoji not in ACCEPT or community is None or community.id is None:
        return
    answer = await ctx.message_row(event.message_id)
    if answer is None or answer.thread_id is None:
        return
    root = await find_message(ctx.session, community.id, answer.thread_id, answer.channel_id)
    if root is None or answer.author_id == root.author_id:
        return
    asker = await ctx.session.get(Member, root.author_id)
    author = await ctx.session.get(Member, answer.author_id)
    if asker is None or asker.platform_user_id != event.sender.id or author is None or author.opted_out \
            or author.is_bot or author.id is None:
        return
    link, topic = message_link(event.channel, answer.platform_id), topics_of(root.text)
    for kind, key in (("accepted", f"accepted:{author.id}:{answer.platform_id}"),
                      ("answered", f"answered:{author.id}:{root.platform_id}")):
        await record(ctx.session, community_id=community.id, member_id=author.id, kind=kind, key=key,
                     at=event.at, topic=topic, message_id=answer.id, evidence_url=link)
