"""Platform-neutral reply intents: what features return and adapters render.

Text uses a tiny markup every adapter can render: `**bold**`, `_italic_`, `` `code` ``,
`[label](url)` links and lines starting with `- ` as a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.types import ChannelId, MessageId, Platform, PlatformUserId


@dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """A message in a channel."""

    channel: ChannelId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyInThread:
    """A reply in the thread rooted at `thread`."""

    channel: ChannelId
    thread: MessageId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectMessage:
    """A private conversation between Steward and one member, optionally with one PNG image attached.

    Adapters that cannot upload files send the text alone (Slack: `files_upload_v2` is still to wire).
    """

    user: PlatformUserId
    text: str
    image: bytes | None = field(default=None, repr=False, compare=False)
    image_name: str = "chart.png"


@dataclass(frozen=True, slots=True, kw_only=True)
class Ephemeral:
    """An answer only `user` sees; adapters without ephemeral messages fall back to a DM."""

    channel: ChannelId
    user: PlatformUserId
    text: str
    thread: MessageId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """One answer of a choice question: `id` comes back in `ChoicePicked.option`."""

    id: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AskChoice:
    """A question answered with one tap (buttons, a poll, numbered reactions)."""

    channel: ChannelId
    text: str
    options: tuple[Option, ...]
    key: str
    thread: MessageId | None = None
    user: PlatformUserId | None = None  # set: only this member is asked (a DM or ephemeral prompt)


@dataclass(frozen=True, slots=True, kw_only=True)
class React:
    """Steward adds an emoji reaction to a message."""

    channel: ChannelId
    message_id: MessageId
    emoji: str


Reply = Post | ReplyInThread | DirectMessage | Ephemeral | AskChoice | React


@dataclass(frozen=True, slots=True)
class SentRef:
    """Where a reply landed, so features can link to it or thread under it later."""

    platform: Platform
    channel: ChannelId
    message_id: MessageId | None


LINK_SCHEME = "steward://message/"


def message_link(channel: ChannelId, message_id: MessageId) -> str:
    """A neutral link to a message; each adapter renders it as its platform's permalink."""
    return f"{LINK_SCHEME}{channel}/{message_id}"


def parse_message_link(url: str) -> tuple[ChannelId, MessageId] | None:
    """(channel, message id) of a neutral message link, else None."""
    if not url.startswith(LINK_SCHEME):
        return None
    channel, _, message_id = url[len(LINK_SCHEME):].rpartition("/")
    return (channel, message_id) if channel and message_id else None
