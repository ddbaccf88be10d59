"""Following routed questions: answers in the thread, the asker's ✅ (solved), and the index kept current."""

from __future__ import annotations

import re

from bot.context import Context
from bot.events import MessagePosted, ReactionAdded
from bot.expertise import Post
from bot.i18n import markup_translator
from bot.replies import DirectMessage, React, message_link
from bot.reputation.topics import topics_of
from bot.router import Router
from storage.ledger import record
from storage.models import Member
from storage.routing import open_question_in_thread, question_in_thread
from storage.types import utcnow

router = Router()

ACCEPT = {"white_check_mark", "heavy_check_mark", "ballot_box_with_check"}  # = bot.reputation.rules.ACCEPT
# The asker's own reply in the thread that closes it, without addressing Steward ("solved, thanks!").
SOLVED_WORDS = re.compile(r"^\W*(?:it[’']?s\s+|c[’']?est\s+)?(?:solved|r[ée]solue?)\b", re.IGNORECASE)


@router.on(MessagePosted)
async def answer_in_thread(ctx: Context) -> None:
    """A reply by someone else in a routed question's thread answers it, and counts as a contribution;
    the asker's own "solved" there closes it."""
    event = ctx.event
    assert isinstance(event, MessagePosted)
    community = ctx.community
    if ctx.command is not None or not event.is_reply or community is None or community.id is None:
        return
    question = await open_question_in_thread(ctx.session, event.platform, event.channel, event.thread or "")
    if question is None or (ctx.tombstoned and ctx.member is None):
        return  # an account that asked not to be kept gets no row for a passing reply
    member = await ctx.ensure_member()
    if member.id == question.asker_id:
        if SOLVED_WORDS.match(event.text):
            question.status, question.solved_at, question.next_step_at = "solved", event.at, None
            ctx.send(React(channel=event.channel, message_id=event.message_id, emoji="white_check_mark"))
        return
    if member.opted_out:
        return
    if question.status != "answered":
        question.status, question.answered_at, question.answered_by = "answered", event.at, member.id
        question.next_step_at = None
        if question.choice == "post":  # asked in a DM: the asker may not be watching the channel
            asker = await ctx.session.get(Member, question.asker_id)
            if asker is not None:
                _ = markup_translator(asker.locale or community.locale)
                ctx.send(DirectMessage(user=asker.platform_user_id, text=_(
                    "{name} answered your question “{question}” ([see the thread]({link})). Say `solved` when it "
                    "is.", name=member.display_name or member.platform_user_id, question=question.text,
                    link=message_link(event.channel, question.thread))))
    stored = await ctx.message_row(event.message_id)
    await record(ctx.session, community_id=community.id, member_id=member.id or 0, kind="answered",
                 key=f"answered:{member.id}:{event.thread}", message_id=stored.id if stored else None, at=event.at,
                 evidence_url=message_link(event.channel, event.message_id), topic=topics_of(question.text))


@router.on(ReactionAdded)
async def accepted_answer(ctx: Context) -> None:
    """The asker's ✅ on a reply in their question's thread marks the accepted answer."""
    event = ctx.event
    assert isinstance(event, ReactionAdded)
    if event.emoji not in ACCEPT or ctx.community is None or ctx.community.id is None:
        return
    message = await ctx.message_row(event.message_id)
    if message is None or message.thread_id is None:
        return
    question = await question_in_thread(ctx.session, event.platform, event.channel, message.thread_id)
    asker = await ctx.session.get(Member, question.asker_id) if question else None
    if question is None or asker is None or asker.platform_user_id != event.sender.id:
        return
    if message.author_id == question.asker_id:
        return
    if question.status != "solved":  # the asker's ✅ on an answer closes the loop, as `solved` does
        question.answered_at = question.answered_at or event.at
        question.answered_by = question.answered_by or message.author_id
        question.status, question.solved_at, question.next_step_at = "solved", event.at, None
    await record(ctx.session, community_id=ctx.community.id, member_id=message.author_id, kind="accepted",
                 key=f"accepted:{message.author_id}:{message.platform_id}", message_id=message.id,
                 at=event.at or utcnow(), evidence_url=message_link(event.channel, event.message_id),
                 topic=topics_of(question.text))  # no note: the question's words are the asker's


def index_live_message(ctx: Context, message_id: str, thread: str | None, author: str, text: str,
                       at: float) -> None:
    """After commit, add a newly stored message to the community's expertise index."""
    post = Post(message_id, thread or message_id, author, text, at)
    ctx.update_index(lambda index: index.add(post))


def index_live_reaction(ctx: Context, message_id: str, emoji: str, reactor: str) -> None:
    """After commit, count a reaction in the community's expertise index."""
    ctx.update_index(lambda index: index.add_reaction(message_id, emoji, reactor))
