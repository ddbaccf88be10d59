"""The `me` page's privacy controls (opt out, forget me) take the one road: the web turns a confirmed form into
the neutral event the chat would have made — the member's own account, in one of the community's channels on
their platform — and hands it to the core, so the very feature that answers `opt out` or the "yes" of
`forget me` runs (tombstone, indexes, scrub, one transaction); its answer reaches them privately in chat too."""

from __future__ import annotations

import uuid

from bot.core import Steward
from bot.events import ChoicePicked, CommandInvoked, Event, Sender
from storage.communities import channels_of
from storage.models import Community, Member


async def home_channel(steward: Steward, community: Community, member: Member) -> str | None:
    """A channel of the community on the member's platform (where a private answer can reach them)."""
    async with steward.db.session() as session:
        channels = await channels_of(session, community.id or 0)
    return next((c.platform_id for c in channels if c.platform == member.platform), None)


def _base(community: Community, member: Member, channel: str) -> dict[str, object]:
    return {"event_id": f"web:{uuid.uuid4().hex}", "platform": member.platform, "channel": channel,
            "sender": Sender(id=member.platform_user_id, display_name=member.display_name),
            "community": community.slug}


def opt_out_event(community: Community, member: Member, channel: str) -> Event:
    """`opt out`, as the member would say it."""
    return CommandInvoked(text="opt out", **_base(community, member, channel))  # type: ignore[arg-type]


def forget_event(community: Community, member: Member, channel: str) -> Event:
    """The member's "yes" to `forget me` (the page asked for the confirmation)."""
    return ChoicePicked(key="forget:confirm", option="yes", **_base(community, member, channel))  # type: ignore[arg-type]


async def act(steward: Steward, event: Event) -> bool:
    """Hand the event to the core; True when it was handled."""
    return await steward.dispatch(event)
