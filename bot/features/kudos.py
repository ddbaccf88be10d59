"""Kudos: `thanks @ana for the helm chart tip`, a 🙏 on a message, or a plain "thanks @ana …" in a channel.

Each kudos is a `thanked` ledger entry for the person thanked, with the giver and the reason; the
person is told by DM who thanked them and for what. Thanking oneself or a bot is refused kindly; the
same giver thanking the same person again within `KUDOS_WINDOW_HOURS` counts once (anti-gaming).
A mention must name a member (bot/mentioned.py): `thanks @nobody` is refused with the nearest names,
and nobody is created, told or credited.
A message not addressed to Steward counts when it *starts* with a thanks word and a mention
("thanks @ana for …", "merci @ana pour …"): Steward then only reacts ✨ (no reply in the channel).

Each kudos is a DM carrying the giver's words, so kudos are bounded: one message thanks at most
`kudos_max_people` (the first ones), one giver gives at most `kudos_per_hour` an hour, and the DM quotes the
reason as plain text with its web addresses replaced by 🔗 (it links to the original message instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from bot.commands import Argument, CommandSpec
from bot.config import CommunityConfig
from bot.context import Context
from bot.events import MessagePosted, ReactionAdded
from bot.i18n import N_, markup_translator
from bot.markup import Markup
from bot.mentioned import Unknown, member_named
from bot.replies import DirectMessage, React, message_link
from bot.reputation.mentions import Kudos, parse_kudos, thanks_in_message
from bot.reputation.topics import topics_of
from bot.reputation.weights import KUDOS_WINDOW_HOURS
from bot.router import Router
from storage.ledger import kudos_given_since, kudos_since, record
from storage.models import Member

router = Router()

THANKS = CommandSpec(
    key="thanks", summary=N_("thank colleagues: they are told, and it counts in their contributions"),
    forms={"en": ("thanks {kudos}", "thank you {kudos}", "kudos to {kudos}", "kudos {kudos}"),
           "fr": ("merci à {kudos}", "merci a {kudos}", "merci {kudos}", "bravo à {kudos}", "bravo {kudos}")},
    argument=Argument("kudos", N_("who and what for"), N_("@ana for the helm chart tip"), required=False,
                      max_length=1000))


@dataclass
class Outcome:
    """What happened to each person of one kudos."""

    thanked: list[Member]
    refused: list[Markup]  # translated sentences, one per refusal
    limited: list[Markup] = field(default_factory=list)  # said even for a channel's thanks: a limit applied


@router.command(THANKS)
async def thanks_command(ctx: Context) -> None:
    """`thanks @ana @bruno for …`: record, tell them, and confirm to the giver."""
    assert ctx.command is not None
    kudos = parse_kudos(ctx.command.argument)
    if not kudos.people:
        ctx.reply_privately(ctx._("You're welcome! To thank a colleague, mention them: `{usage}`",
                                  usage=THANKS.usage(ctx.locale, ctx._)))
        return
    if ctx.community is None or ctx.community.id is None:
        ctx.reply_privately(ctx._("I don't know which community this is. A coordinator can add this channel "
                                  "to Steward's config."))
        return
    event = ctx.event
    source = event.message_id if isinstance(event, MessagePosted) else event.event_id
    link = "" if event.is_direct or not isinstance(event, MessagePosted) else message_link(
        event.channel, event.message_id)
    outcome = await give(ctx, kudos, source=source, link=link)
    lines = list(outcome.refused)
    if outcome.thanked:
        lines.insert(0, ctx._("Thanks passed on to {names}: I told them, and it counts in their contributions.",
                              names=", ".join(_name(m) for m in outcome.thanked)))
    ctx.reply_privately(Markup("\n").join(lines))


@router.on(MessagePosted)
async def thanks_in_channel(ctx: Context) -> None:
    """A plain "thanks @ana for …" in a community channel counts too (Steward reacts, says nothing)."""
    event = ctx.event
    assert isinstance(event, MessagePosted)
    if ctx.command is not None or event.addressed or event.is_direct or ctx.community is None:
        return
    kudos = thanks_in_message(event.text)
    if kudos is None:
        return
    outcome = await give(ctx, kudos, source=event.message_id, link=message_link(event.channel, event.message_id))
    if outcome.thanked:
        ctx.send(React(channel=event.channel, message_id=event.message_id, emoji="sparkles"))
    if outcome.limited:
        ctx.reply_privately(Markup("\n").join(outcome.limited))


@router.on(ReactionAdded)
async def thanks_by_reaction(ctx: Context) -> None:
    """A kudos reaction (config `kudos_reactions`, default 🙏) thanks the message's author."""
    event = ctx.event
    assert isinstance(event, ReactionAdded)
    reactions = ctx.community_config.kudos_reactions if ctx.community_config else ("pray",)
    if event.emoji not in reactions or ctx.community is None or ctx.community.id is None:
        return
    stored = await ctx.message_row(event.message_id)
    author = event.message_author
    if stored is not None:
        member = await ctx.session.get(Member, stored.author_id)
        author = member.platform_user_id if member else author
    if not author:
        return
    reason = stored.text if stored is not None else ""
    await give(ctx, Kudos((author,), ""), source=f"r:{event.message_id}",
               link=message_link(event.channel, event.message_id), topic_text=reason,
               message_id=stored.id if stored else None, quiet=True)


async def give(ctx: Context, kudos: Kudos, *, source: str, link: str, topic_text: str | None = None,
               message_id: int | None = None, quiet: bool = False) -> Outcome:
    """Record a kudos from the sender to each person, refusing self, bots, opted-out and repeats."""
    assert ctx.community is not None and ctx.community.id is not None
    giver = await ctx.ensure_member()
    assert giver.id is not None
    own = ctx.svc.own_ids.get(ctx.event.platform) if ctx.services else None
    outcome = Outcome([], [])
    since = ctx.event.at - timedelta(hours=KUDOS_WINDOW_HOURS)
    limits = ctx.community_config or CommunityConfig(slug="")
    people = kudos.people[:limits.kudos_max_people]
    if len(kudos.people) > len(people):
        outcome.limited.append(ctx._("I pass thanks on to at most {n} people per message, so I thanked only the "
                                     "first {n}. Thank the others in another message!", n=len(people)))
    budget = limits.kudos_per_hour - await kudos_given_since(ctx.session, giver.id, ctx.event.at - timedelta(hours=1))
    for uid in people:
        found = None if uid == own else await member_named(ctx, uid)
        if isinstance(found, Unknown):  # a typo or a stranger: no member is made, told or credited
            outcome.refused.append(found.told(ctx))
            continue
        if found is not None and found.platform_user_id == ctx.event.sender.id:
            outcome.refused.append(ctx._("Thanking yourself doesn't count, but I'm glad you're proud of it!"))
            continue
        if found is None or found.is_bot:
            outcome.refused.append(ctx._("Kudos are for people: bots (me included) don't collect them. "
                                         "Thank you anyway!"))
            continue
        receiver = found
        assert receiver.id is not None
        if receiver.opted_out:
            outcome.refused.append(ctx._("{name} opted out, so I keep no record for them: tell them directly!",
                                         name=_name(receiver)))
            continue
        if await kudos_since(ctx.session, giver.id, receiver.id, since):
            outcome.refused.append(ctx._("You already thanked {name} in the last {hours} hours: I count it once, "
                                         "but do tell them again!", name=_name(receiver), hours=KUDOS_WINDOW_HOURS))
            continue
        if budget <= 0:
            outcome.limited.append(ctx._("That's a lot of thanks in one hour ({n}): I pass more on after a short "
                                         "break, so please thank {name} again later.", n=limits.kudos_per_hour,
                                         name=_name(receiver)))
            break
        added = await record(ctx.session, community_id=ctx.community.id, member_id=receiver.id, kind="thanked",
                             key=f"thanked:{receiver.id}:{giver.id}:{source}", at=ctx.event.at,
                             topic=topics_of(topic_text if topic_text is not None else kudos.reason),
                             message_id=message_id, evidence_url=link, note=kudos.reason, giver_id=giver.id)
        if added:
            budget -= 1
            outcome.thanked.append(receiver)
            _tell(ctx, giver, receiver, kudos.reason, link)
    if quiet:
        outcome.refused.clear()
        outcome.limited.clear()
    outcome.refused += outcome.limited
    return outcome


_WEB_ADDRESS = re.compile(r"<?\b(?:https?://|www\.)[^\s<>]*>?", re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*(<?\b(?:https?://|www\.)[^)\s]*>?)?\s*\)", re.IGNORECASE)


def quoted_reason(reason: str) -> str:
    """The reason as the DM quotes it: plain text (a literal span) where each web address became 🔗."""
    return _WEB_ADDRESS.sub("🔗", _MARKDOWN_LINK.sub(lambda m: f"{m.group(1)} 🔗", reason))


def _tell(ctx: Context, giver: Member, receiver: Member, reason: str, link: str) -> None:
    """DM the person thanked, in their language: the giver's words quoted, no link of theirs."""
    _ = markup_translator(receiver.locale or (ctx.community.locale if ctx.community else ctx.locale))
    where = _(" ([see]({link}))", link=link) if link else Markup()
    if reason:
        text = _("🙏 {giver} thanked you for: {reason}{where}", giver=_name(giver), reason=quoted_reason(reason),
                 where=where)
    else:
        text = _("🙏 {giver} thanked you for your message{where}", giver=_name(giver), where=where)
    ctx.send(DirectMessage(user=receiver.platform_user_id, text=text + Markup(" ") + _(
        "Say `my contributions` to see everything you're credited with.")))


def _name(member: Member) -> str:
    return member.display_name or member.platform_user_id

