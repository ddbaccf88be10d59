"""Platform-neutral events: what adapters hand to the core.

Every event carries a stable `event_id` built by the adapter from the platform's own id, so the
same platform event seen twice (a retry, a replayed sync) is recognised and has no second effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.types import ChannelId, MessageId, Platform, PlatformUserId


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sender:
    """Who caused an event, as the platform describes them."""

    id: PlatformUserId
    display_name: str = ""
    locale: str | None = None
    timezone: str | None = None
    is_bot: bool = False
    operator: bool = False  # the person running this Steward at its own terminal (manages an unconfigured community)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Common fields. `community` is set by the adapter when it knows it, else resolved from config."""

    event_id: str
    platform: Platform
    channel: ChannelId
    sender: Sender
    community: str | None = None
    thread: MessageId | None = None
    at: datetime = field(default_factory=_now)
    is_direct: bool = False
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted(Event):
    """A message: a thread root when `thread` is None or equals `message_id`, else a reply.

    `addressed` is True when the message speaks to Steward (a DM, a mention, a `!steward` prefix);
    `command_text` is then the text with the address stripped. `mentions` are the people the platform
    itself marks as mentioned (Slack `<@U…>`, Matrix pills and `m.mentions`), Steward excepted: real
    accounts, unlike a typed `@name`. `mention_names` are the names the platform gives them, when the adapter
    looked them up (a member first met through a mention is shown by name, not by id).
    """

    message_id: MessageId
    text: str
    addressed: bool = False
    command_text: str = ""
    mentions: tuple[PlatformUserId, ...] = ()
    mention_names: tuple[tuple[PlatformUserId, str], ...] = ()

    @property
    def is_reply(self) -> bool:
        """True for a reply inside a thread."""
        return self.thread is not None and self.thread != self.message_id


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEdited(Event):
    """A message's text changed."""

    message_id: MessageId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDeleted(Event):
    """A message was deleted (Slack) or redacted (Matrix)."""

    message_id: MessageId


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionAdded(Event):
    """An emoji reaction (normalised to a Slack-style name, e.g. `white_check_mark`, `+1`)."""

    message_id: MessageId
    emoji: str
    message_author: PlatformUserId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionRemoved(Event):
    """A reaction was taken back."""

    message_id: MessageId
    emoji: str
    message_author: PlatformUserId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(Event):
    """A member joined a channel (or the workspace, with `channel` empty)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft(Event):
    """A member left a channel (or the workspace)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandInvoked(Event):
    """An explicit command outside a message: a slash command such as `/steward help`."""

    text: str
    name: str = "steward"
    mentions: tuple[PlatformUserId, ...] = ()  # as MessagePosted's
    mention_names: tuple[tuple[PlatformUserId, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoicePicked(Event):
    """A member picked an option of a choice question (button, poll answer, numbered reply).

    `key` is the `AskChoice.key` the question was asked with; features route on its prefix.
    """

    key: str
    option: str
    message_id: MessageId | None = None


STEWARD = Sender(id="steward", display_name="Steward", is_bot=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scheduled(Event):
    """Something due because time passed: a ritual step, an escalation, a survey closing…

    It takes the same road as a chat event: its `event_id` (`<job>:<subject>`) is stable, so an
    occurrence fired twice (a restart, two schedulers) has one effect. `job` names the handler a
    feature registered with `Router.scheduled`; `subject` says which thing is due (a ritual step's
    key, a question id…). `platform` and `channel` say where its replies go.
    """

    job: str
    subject: str
    due_at: datetime


def scheduled(job: str, subject: str, *, platform: str, channel: str = "", community: str | None = None,
              due_at: datetime, now: datetime | None = None) -> Scheduled:
    """The event for `job` on `subject`, due at `due_at` (handled `now`)."""
    return Scheduled(event_id=f"{job}:{subject}", platform=platform or "none", channel=channel, community=community,
                     sender=STEWARD, at=now or _now(), job=job, subject=subject, due_at=due_at)
