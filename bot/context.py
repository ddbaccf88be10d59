"""One `Context` per dispatched event: the event, its community and member, a DB session, and replies.

Replies are queued, kept in the outbox with the event's effects and delivered after the commit, so a
handler that fails half-way sends nothing but a kind apology, and a crash loses nothing. A feature
that needs a message's platform id later tags the reply (`send(reply, tag=…)`) and reads the id back
from the outbox once it was sent (`storage.outbox.message_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import CommandSpec, ParsedCommand
from bot.config import CommunityConfig, Config
from bot.errors import Detail, Msgid
from bot.events import ChoicePicked, CommandInvoked, Event, MessagePosted, Scheduled
from bot.i18n import Translate, markup_plural_translator, markup_translator
from bot.markup import Markup
from bot.replies import DirectMessage, Ephemeral, Post, Reply, ReplyInThread
from bot.routing.registry import IndexUpdate
from bot.services import Services
from storage.members import add_member, ensure_member
from storage.messages import find_message
from storage.models import Community, Member, Message

AfterCommit = Callable[[], None]


def _translated(translate: Translate, value: object) -> object:
    """Translate a parameter that is itself a message (`Msgid`, `Detail`); other values stay."""
    if isinstance(value, Msgid):
        return translate(value)
    if isinstance(value, Detail):
        return translate(value.msgid, **value.params)
    return value


@dataclass
class Context:
    """Everything a handler needs, bound to one event."""

    event: Event
    session: AsyncSession
    config: Config
    community: Community | None = None
    community_config: CommunityConfig | None = None
    member: Member | None = None
    locale: str = "en"
    roles: frozenset[str] = frozenset({"member"})
    command: ParsedCommand | None = None
    commands: tuple[CommandSpec, ...] = ()
    outbox: list[Reply] = field(default_factory=list)
    tags: dict[int, str] = field(default_factory=dict)  # outbox index → the feature's name for that message
    elsewhere: dict[int, str] = field(default_factory=dict)  # outbox index → another platform to send it on
    services: Services | None = None
    messages: dict[str, Message | None] = field(default_factory=dict)  # stored rows looked up for this event
    after_commit_hooks: list[AfterCommit] = field(default_factory=list)
    claimed: bool = False  # the event id was claimed in this transaction (dedupe passed)
    member_looked_up: bool = False  # `member` is what the database said in this transaction (None: no row)
    tombstoned: bool | None = None  # the sender asked not to be kept (storage/tombstones.py); None: not looked up
    taken: bool = False  # a feature took this message as the answer to its own question: it is no command

    def _(self, msgid: str, /, **params: object) -> Markup:
        """Translate `msgid` into the member's language and fill its placeholders (each one a literal span)."""
        translate = markup_translator(self.locale)
        values = {k: _translated(translate, v) for k, v in params.items()}
        return translate(msgid, **values)

    def n_(self, singular: str, plural: str, n: int, /, **params: object) -> Markup:
        """ngettext in the member's language: the form for `n`, its placeholders filled (`{n}` with `n`)."""
        return markup_plural_translator(self.locale)(singular, plural, n, **params)

    def reply(self, text: Markup) -> None:
        """Answer where the member spoke: in the thread (or start one), in the DM, or privately."""
        self.outbox.append(self._here(text))

    def reply_privately(self, text: Markup) -> None:
        """Answer so only the member sees it (a DM or an ephemeral message)."""
        event = self.event
        if event.is_direct or isinstance(event, Scheduled):
            self.outbox.append(Post(channel=event.channel, text=text))
        else:
            self.outbox.append(Ephemeral(channel=event.channel, user=event.sender.id, text=text,
                                         thread=event.thread))

    def send(self, reply: Reply, tag: str | None = None) -> None:
        """Queue any reply intent, delivered after commit; a `tag` keeps its message id findable once sent."""
        if tag is not None:
            self.tags[len(self.outbox)] = tag
        self.outbox.append(reply)

    def send_on(self, platform: str, reply: Reply) -> None:
        """Queue a reply for another platform than the event's (e.g. a sponsor's DM on theirs)."""
        if platform != self.event.platform:
            self.elsewhere[len(self.outbox)] = platform
        self.outbox.append(reply)

    def discard_replies(self) -> None:
        """Drop every queued reply (a failed or refused handler answers something else instead)."""
        self.outbox, self.tags, self.elsewhere = [], {}, {}

    def direct(self, user: str, text: Markup) -> None:
        """Queue a direct message to another member of the same platform."""
        self.outbox.append(DirectMessage(user=user, text=text))

    def after_commit(self, hook: AfterCommit) -> None:
        """Run `hook` once the event's transaction has committed (e.g. update an in-memory index)."""
        self.after_commit_hooks.append(hook)

    @property
    def svc(self) -> Services:
        """The running Steward's services."""
        assert self.services is not None, "Context built without services"
        return self.services

    def update_index(self, op: IndexUpdate) -> None:
        """After commit, apply a change to the community's expertise index: at once when it is loaded,
        after the build when one is running, not at all otherwise (a build reads storage)."""
        if self.community is None or self.community.id is None or self.services is None:
            return
        self.after_commit(partial(self.services.expertise.update, self.community.id, op))

    async def message_row(self, platform_id: str) -> Message | None:
        """The stored message with this platform id in the event's channel, looked up once per event
        whatever the handlers (Slack's message ids are unique within a channel only)."""
        if platform_id not in self.messages:
            found = None
            if self.community is not None and self.community.id is not None:
                found = await find_message(self.session, self.community.id, platform_id, await self.channel_row_id())
            self.messages[platform_id] = found
        return self.messages[platform_id]

    async def channel_row_id(self) -> int | None:
        """The row id of the event's channel when Steward knows it (no query once the channel is known)."""
        if self.services is None or not self.event.channel or self.event.is_direct:
            return None  # direct messages are never stored
        ref = await self.services.directory.channel(self.session, self.event.platform, self.event.channel)
        return ref.id if ref is not None else None

    async def ensure_member(self) -> Member:
        """The sender's member row, created when a feature first needs to keep something."""
        if self.member is None:
            if self.community is None or self.community.id is None:
                raise LookupError("no community for this event")
            sender = self.event.sender
            make = add_member if self.member_looked_up else ensure_member  # no second look for the same row
            self.member = await make(self.session, self.community.id, self.event.platform, sender.id,
                                     display_name=sender.display_name, timezone=sender.timezone, is_bot=sender.is_bot,
                                     tombstoned=self.tombstoned)
        return self.member

    def _here(self, text: Markup) -> Reply:
        event = self.event
        if isinstance(event, CommandInvoked):
            return Ephemeral(channel=event.channel, user=event.sender.id, text=text, thread=event.thread)
        if event.is_direct:
            if event.thread:
                return ReplyInThread(channel=event.channel, thread=event.thread, text=text)
            return Post(channel=event.channel, text=text)
        if isinstance(event, MessagePosted):
            return ReplyInThread(channel=event.channel, thread=event.thread or event.message_id, text=text)
        if isinstance(event, ChoicePicked):
            return Ephemeral(channel=event.channel, user=event.sender.id, text=text, thread=event.thread)
        if event.thread:
            return ReplyInThread(channel=event.channel, thread=event.thread, text=text)
        return Post(channel=event.channel, text=text)
