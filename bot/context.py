"""One `Context` per dispatched event: the event, its community and member, a DB session, and replies.

Replies are queued and delivered after the event's transaction commits, so a handler that fails
half-way sends nothing but a kind apology. `send_now` exists for the rare feature that needs the
platform's message id right away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import CommandSpec, ParsedCommand
from bot.config import CommunityConfig, Config
from bot.errors import Detail, Msgid
from bot.events import ChoicePicked, CommandInvoked, Event, MessagePosted
from bot.i18n import Translate, translator
from bot.replies import DirectMessage, Ephemeral, Post, Reply, ReplyInThread, SentRef
from bot.routing.registry import IndexUpdate
from bot.services import Services
from storage.members import ensure_member
from storage.messages import find_message
from storage.models import Community, Member, Message

SendNow = Callable[[str, Reply], Awaitable[SentRef]]
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
    send_now_fn: SendNow
    community: Community | None = None
    community_config: CommunityConfig | None = None
    member: Member | None = None
    locale: str = "en"
    roles: frozenset[str] = frozenset({"member"})
    command: ParsedCommand | None = None
    commands: tuple[CommandSpec, ...] = ()
    outbox: list[Reply] = field(default_factory=list)
    services: Services | None = None
    messages: dict[str, Message | None] = field(default_factory=dict)  # stored rows looked up for this event
    after_commit_hooks: list[AfterCommit] = field(default_factory=list)

    def _(self, msgid: str, /, **params: object) -> str:
        """Translate `msgid` into the member's language and fill its placeholders."""
        translate = translator(self.locale)
        values = {k: _translated(translate, v) for k, v in params.items()}
        return translate(msgid, **values)

    def reply(self, text: str) -> None:
        """Answer where the member spoke: in the thread (or start one), in the DM, or privately."""
        self.outbox.append(self._here(text))

    def reply_privately(self, text: str) -> None:
        """Answer so only the member sees it (a DM or an ephemeral message)."""
        event = self.event
        if event.is_direct:
            self.outbox.append(Post(channel=event.channel, text=text))
        elif event.platform == "console":
            self.outbox.append(Post(channel=event.channel, text=text))
        else:
            self.outbox.append(Ephemeral(channel=event.channel, user=event.sender.id, text=text,
                                         thread=event.thread))

    def send(self, reply: Reply) -> None:
        """Queue any reply intent, delivered after commit."""
        self.outbox.append(reply)

    def direct(self, user: str, text: str) -> None:
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

    async def send_now(self, reply: Reply) -> SentRef:
        """Deliver at once (inside the transaction) when the message id is needed immediately."""
        return await self.send_now_fn(self.event.platform, reply)

    async def message_row(self, platform_id: str) -> Message | None:
        """The stored message with this platform id, looked up once per event whatever the handlers."""
        if platform_id not in self.messages:
            found = None
            if self.community is not None and self.community.id is not None:
                found = await find_message(self.session, self.community.id, platform_id)
            self.messages[platform_id] = found
        return self.messages[platform_id]

    async def ensure_member(self) -> Member:
        """The sender's member row, created when a feature first needs to keep something."""
        if self.member is None:
            if self.community is None or self.community.id is None:
                raise LookupError("no community for this event")
            sender = self.event.sender
            self.member = await ensure_member(self.session, self.community.id, self.event.platform, sender.id,
                                              display_name=sender.display_name, timezone=sender.timezone,
                                              is_bot=sender.is_bot)
        return self.member

    def _here(self, text: str) -> Reply:
        event = self.event
        if isinstance(event, CommandInvoked):
            return Ephemeral(channel=event.channel, user=event.sender.id, text=text, thread=event.thread)
        if event.is_direct or event.platform == "console":
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
