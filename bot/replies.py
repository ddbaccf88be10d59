"""Platform-neutral reply intents: what features return and adapters render.

Text uses a tiny markup every adapter can render: `**bold**`, `_italic_`, `` `code` ``,
`[label](url)` links (http(s) only) and lines starting with `- ` as a list. It is `Markup`: Steward's
own, with what people typed inside literal spans (bot/markup.py). Labels, titles and placeholders are
plain text on every platform.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.markup import Markup, hold, literal
from bot.types import ChannelId, MessageId, Platform, PlatformUserId


@dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """A message in a channel."""

    channel: ChannelId
    text: Markup


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyInThread:
    """A reply in the thread rooted at `thread`."""

    channel: ChannelId
    thread: MessageId
    text: Markup


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectMessage:
    """A private conversation between Steward and one member, optionally with one PNG image attached.

    Adapters that cannot upload files send the text alone (Slack: `files_upload_v2` is still to wire).
    """

    user: PlatformUserId
    text: Markup
    image: bytes | None = field(default=None, repr=False, compare=False)
    image_name: str = "chart.png"


@dataclass(frozen=True, slots=True, kw_only=True)
class Ephemeral:
    """An answer only `user` sees; adapters without ephemeral messages fall back to a DM."""

    channel: ChannelId
    user: PlatformUserId
    text: Markup
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
    text: Markup
    options: tuple[Option, ...]
    key: str
    thread: MessageId | None = None
    user: PlatformUserId | None = None  # set: only this member is asked (a DM or ephemeral prompt)
    # No one may see another's answer (an anonymous survey): a platform where a tap in the channel is visible to its
    # members (Matrix polls) asks each member of the channel in a direct message instead, and posts `private_note`
    # (if any) in the channel. Slack's buttons and the terminal are private already.
    private: bool = False
    private_note: Markup | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class React:
    """Steward adds an emoji reaction to a message."""

    channel: ChannelId
    message_id: MessageId
    emoji: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FormField:
    """One free-text field of a form; its `id` names its value in the answer."""

    id: str
    label: str
    placeholder: str = ""
    optional: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AskForm:
    """A small form (a Slack modal) where a form beats a chat dialogue.

    It answers the event `event_id` (Slack needs that interaction to open a modal). The answer comes
    back as one `ChoicePicked(key=key)` whose option is a JSON object of field values. When the form
    cannot be shown (a platform without forms, an expired Slack trigger, a failed `views.open`) the
    adapter sends `fallback` instead, e.g. the first question of the same dialogue in chat; without a
    fallback it raises `Unsupported`.
    """

    channel: ChannelId
    user: PlatformUserId
    key: str
    title: str
    fields: tuple[FormField, ...]
    event_id: str
    text: Markup = field(default_factory=Markup)  # a short introduction shown above the fields
    thread: MessageId | None = None
    fallback: Reply | None = None
    submit: str = "Send"  # the submit button, in the member's language


@dataclass(frozen=True, slots=True, kw_only=True)
class Prerendered:
    """A reply an adapter already rendered for its platform (carried over from an older outbox).

    Only the adapter of `platform` can send it; `body` is that adapter's own JSON.
    """

    platform: Platform
    body: str


Reply = Post | ReplyInThread | DirectMessage | Ephemeral | AskChoice | React | AskForm | Prerendered


@dataclass(frozen=True, slots=True)
class SentRef:
    """Where a reply landed, so features can link to it or thread under it later."""

    platform: Platform
    channel: ChannelId
    message_id: MessageId | None


LINK_SCHEME = "steward://message/"
CHANNEL_SCHEME = "steward://channel/"


def message_link(channel: ChannelId, message_id: MessageId) -> str:
    """A neutral link to a message; each adapter renders it as its platform's permalink."""
    return f"{LINK_SCHEME}{channel}/{message_id}"


def channel_link(label: str, channel: ChannelId) -> Markup:
    """A channel as people read it, `label` (e.g. `#k8s`), that each adapter can show its own way: Slack as the
    channel itself (`<#C2>`: every reader sees its current name, even one Steward never learned)."""
    return Markup("[{label}]({url})").format(label=label, url=CHANNEL_SCHEME + channel)


def parse_channel_link(url: str) -> ChannelId | None:
    """The channel of a neutral channel link, else None."""
    return url[len(CHANNEL_SCHEME):] or None if url.startswith(CHANNEL_SCHEME) else None


def parse_message_link(url: str) -> tuple[ChannelId, MessageId] | None:
    """(channel, message id) of a neutral message link, else None."""
    if not url.startswith(LINK_SCHEME):
        return None
    channel, _, message_id = url[len(LINK_SCHEME):].partition("/")  # channel ids hold no slash
    return (channel, message_id) if channel and message_id else None


_LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")


def resolve_links(reply: Reply, to_url: Callable[[ChannelId, MessageId], str]) -> Reply:
    """The reply with its neutral message links turned into the platform's URLs (adapters call this).

    A link's target may be a literal span (a value filled into `[label]({url})`): it is read as typed.
    """
    if isinstance(reply, React | AskForm | Prerendered) or LINK_SCHEME not in reply.text:
        return reply
    held = hold(reply.text)

    def swap(match: re.Match[str]) -> str:
        parsed = parse_message_link(held.reveal(match.group(1)))
        return f"]({to_url(*parsed)})" if parsed else match.group(0)

    return dataclasses.replace(reply, text=Markup(held.fill(_LINK_TARGET.sub(swap, held.text), literal)))
