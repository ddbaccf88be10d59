"""What every event resolves before its handlers run, remembered by this process: channels and communities.

Without it each event paid two SELECTs (its channel, then its community) for facts that hardly change.
Only what no other process can change under us is kept for good: a channel's row id and community
(`ensure_channel` never moves a channel and nothing deletes one), so a hit is always right and a miss
is asked again (another process may have added the channel since). Community rows change only when a
process syncs its configuration at start: they are kept `COMMUNITY_TTL` seconds, and dropped at once
when this process syncs (`forget_communities`). Members are not kept: another process may change one
(language, opt-out) or forget it, and a stale row must never be served.

Community rows are handed out detached (read-only by convention, as features treat `ctx.community`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import communities
from storage.models import Community

COMMUNITY_TTL = 60.0  # seconds: another process syncing a changed config is seen within this


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """The immutable facts of a channel row."""

    id: int
    community_id: int


class Directory:
    """This process's memory of channels and communities (one per `Services`)."""

    def __init__(self, ttl: float = COMMUNITY_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._channels: dict[tuple[str, str], ChannelRef] = {}
        self._by_id: dict[int, tuple[float, Community]] = {}
        self._by_slug: dict[str, tuple[float, Community]] = {}

    async def channel(self, session: AsyncSession, platform: str, platform_id: str) -> ChannelRef | None:
        """The channel known under this platform id (asked of the database until it exists)."""
        ref = self._channels.get((platform, platform_id))
        if ref is None:
            row = await communities.find_channel(session, platform, platform_id)
            if row is not None and row.id is not None:
                ref = self.remember_channel(platform, platform_id, row.id, row.community_id)
        return ref

    def remember_channel(self, platform: str, platform_id: str, channel_id: int, community_id: int) -> ChannelRef:
        """Keep a channel row's facts (they never change)."""
        ref = self._channels[(platform, platform_id)] = ChannelRef(channel_id, community_id)
        return ref

    async def community(self, session: AsyncSession, community_id: int) -> Community | None:
        """The community row with this id, fresh within `COMMUNITY_TTL`."""
        kept = self._fresh(self._by_id.get(community_id))
        if kept is None:
            kept = self._keep(await session.get(Community, community_id), session)
        return kept

    async def community_by_slug(self, session: AsyncSession, slug: str) -> Community | None:
        """The community named `slug`, fresh within `COMMUNITY_TTL`."""
        kept = self._fresh(self._by_slug.get(slug))
        if kept is None:
            kept = self._keep(await communities.get_community(session, slug), session)
        return kept

    def forget_communities(self) -> None:
        """Drop the kept community rows (this process just synced them from its configuration)."""
        self._by_id.clear()
        self._by_slug.clear()

    def _fresh(self, kept: tuple[float, Community] | None) -> Community | None:
        if kept is None or self._clock() - kept[0] > self._ttl:
            return None
        return kept[1]

    def _keep(self, community: Community | None, session: AsyncSession) -> Community | None:
        if community is None or community.id is None:
            return community
        session.expunge(community)  # shared by concurrent events: no session may own it
        entry = (self._clock(), community)
        self._by_id[community.id] = self._by_slug[community.slug] = entry
        return community
