"""One in-memory expertise index per community, built from storage and kept current by live events.

The index is built lazily on first use (streamed from the database, a batch at a time, so the event
loop stays responsive) and then updated in place as messages, reactions and declarations arrive;
with `start_following`, also as other Steward processes on the same database store them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import select

from bot.expertise import ExpertiseIndex, Post
from bot.metrics import INDEX_SECONDS
from bot.routing.follow import INTERVAL, IndexFollower, start_cursor
from storage.db import Database
from storage.expertise import all_declared_topics, stream_posts, stream_reactions
from storage.index_changes import latest_change
from storage.models import Member

log = logging.getLogger(__name__)

# The ranker reads the text of questions (thread roots) only; replies count through who wrote them.
INDEX_READS_REPLIES = False
RESTORE_SLICE = 2_000  # posts restored between two turns of the event loop


IndexUpdate = Callable[[ExpertiseIndex], object]  # a live change, applied to a community's index


class ExpertiseRegistry:
    """The expertise indexes of every community this process serves."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._indexes: dict[int, ExpertiseIndex] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._pending: dict[int, list[IndexUpdate]] = {}  # changes that arrived during a build
        self._follower: IndexFollower | None = None
        self._built_since: int | None = None  # change log mark of the first build before following
        self._rebuilds: dict[int, asyncio.Task[None]] = {}
        self._stale: set[int] = set()  # communities to build again once the running rebuild ends

    async def index(self, community_id: int) -> ExpertiseIndex:
        """The community's index, built from storage the first time it is needed."""
        found = self._indexes.get(community_id)
        if found is not None:
            return found
        async with self._locks.setdefault(community_id, asyncio.Lock()):
            if community_id not in self._indexes:
                await self._install(community_id)
            return self._indexes[community_id]

    async def _install(self, community_id: int) -> None:
        # The build reads a snapshot: changes committed meanwhile are kept and applied after.
        self._pending[community_id] = []
        try:
            index = await self._build(community_id)
        finally:
            pending = self._pending.pop(community_id)
        self._indexes[community_id] = index
        for op in pending:
            self.update(community_id, op)

    def loaded(self, community_id: int) -> ExpertiseIndex | None:
        """The index if it is already in memory (live updates only touch loaded indexes)."""
        return self._indexes.get(community_id)

    def building(self, community_id: int) -> bool:
        """True while the community's index is being built."""
        return community_id in self._pending

    def follows(self, community_id: int) -> bool:
        """True when changes to the community matter here: its index is loaded or being built."""
        return community_id in self._indexes or community_id in self._pending

    def update(self, community_id: int, op: IndexUpdate) -> None:
        """Apply a live change: now if the index is loaded, after the build if one runs (both while
        a loaded index is rebuilt), else never."""
        index = self._indexes.get(community_id)
        if index is not None:
            try:
                op(index)
            except Exception:  # the index is a cache: a failed update must not fail the event
                log.exception("could not apply a live change to the expertise index of community %d", community_id)
        if (pending := self._pending.get(community_id)) is not None:
            pending.append(op)

    async def start_following(self, interval: float = INTERVAL) -> None:
        """Follow the changes other processes store, every `interval` seconds, until `stop_following`."""
        if self._follower is None:
            self._follower = IndexFollower(self, await start_cursor(self, self._built_since), interval)
            self._follower.start()

    async def stop_following(self) -> None:
        """Stop following and abandon rebuilds in progress (shutdown)."""
        follower, self._follower = self._follower, None
        if follower is not None:
            await follower.stop()
        for task in list(self._rebuilds.values()):
            task.cancel()
        await asyncio.gather(*self._rebuilds.values(), return_exceptions=True)

    async def catch_up(self) -> int:
        """Run one follower pass now (tests, benchmarks); returns the changes read."""
        assert self._follower is not None, "start_following first"
        return await self._follower.catch_up()

    def rebuild_later(self, community_id: int) -> None:
        """Soon, build a loaded index afresh and swap it in; the old one answers meanwhile."""
        if community_id not in self._indexes:
            return
        self._stale.add(community_id)
        if community_id not in self._rebuilds:
            task = asyncio.get_running_loop().create_task(self._rebuild(community_id))
            self._rebuilds[community_id] = task
            task.add_done_callback(lambda _: self._rebuilds.pop(community_id, None))

    def rebuild_all_later(self) -> None:
        """Rebuild every loaded index (the change log may have been pruned past this process)."""
        for community_id in list(self._indexes):
            self.rebuild_later(community_id)

    async def _rebuild(self, community_id: int) -> None:
        async with self._locks.setdefault(community_id, asyncio.Lock()):
            while community_id in self._stale and community_id in self._indexes:
                self._stale.discard(community_id)
                try:
                    await self._install(community_id)
                except Exception:  # the old index keeps answering
                    log.exception("could not rebuild the expertise index of community %d", community_id)

    def invalidate(self, community_id: int) -> None:
        """Drop an index so the next use rebuilds it."""
        self._indexes.pop(community_id, None)

    def restore_later(self, community_id: int, member: str) -> None:
        """Soon, put a member who opted back in into the loaded index (from storage, their posts only)."""
        if community_id not in self._indexes:
            return  # the next build reads them with everyone else
        task = asyncio.get_running_loop().create_task(self.restore_member(community_id, member))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def restore_member(self, community_id: int, member: str) -> None:
        """Re-index one member's posts, the reactions to them and their declared topics."""
        index = self._indexes.get(community_id)
        if index is None:
            return
        async with self.db.reader() as conn:
            member_id = (await conn.execute(select(Member.id).where(  # type: ignore[call-overload]
                Member.community_id == community_id, Member.platform_user_id == member))).scalar()
            fresh: set[str] = set()
            async for batch in stream_posts(conn, community_id, reply_text=INDEX_READS_REPLIES, author=member):
                for i, (platform_id, thread_id, author, text, at) in enumerate(batch, 1):
                    if index.restore(Post(platform_id, thread_id or platform_id, author, text, at)):
                        fresh.add(platform_id)
                    if i % RESTORE_SLICE == 0:
                        await asyncio.sleep(0)  # the index is live: no worker thread, but short slices
            if fresh and member_id is not None:
                async for reactions in stream_reactions(conn, community_id, on_messages_of=member_id):
                    for message_id, emoji, reactor in reactions:
                        if message_id in fresh:
                            index.add_reaction(message_id, emoji, reactor)
            topics = (await all_declared_topics(conn, community_id, member)).get(member)
        if topics:
            index.declare(member, topics)

    async def idle(self) -> None:
        """Wait for background restores (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _build(self, community_id: int) -> ExpertiseIndex:
        started = time.perf_counter()
        index = ExpertiseIndex()
        index.bulk_load()
        posts = 0
        # The index is nobody else's until it is returned, so the CPU-heavy parts run in a worker
        # thread, a batch at a time: the event loop keeps answering (and acking) events meanwhile.
        async with self.db.reader() as conn:
            if self._follower is None:  # a follower started later begins where the first build did
                since = await latest_change(conn)
                self._built_since = since if self._built_since is None else min(self._built_since, since)
            async for batch in stream_posts(conn, community_id, reply_text=INDEX_READS_REPLIES):
                await asyncio.to_thread(_add_posts, index, batch)
                posts += len(batch)
            async for reactions in stream_reactions(conn, community_id):
                await asyncio.to_thread(_add_reactions, index, reactions)
            declared = await all_declared_topics(conn, community_id)
        await asyncio.to_thread(_finish, index, declared)
        INDEX_SECONDS.labels("build").observe(time.perf_counter() - started)
        log.info("expertise index for community %d: %d posts in %.1f s", community_id, posts,
                 time.perf_counter() - started)
        return index


def _add_posts(index: ExpertiseIndex, batch: Sequence[tuple[str, str | None, str, str, float]]) -> None:
    for platform_id, thread_id, author, text, at in batch:
        index.add(Post(platform_id, thread_id or platform_id, author, text, at))


def _add_reactions(index: ExpertiseIndex, reactions: Sequence[tuple[str, str, str]]) -> None:
    for message_id, emoji, reactor in reactions:
        index.add_reaction(message_id, emoji, reactor)


def _finish(index: ExpertiseIndex, declared: dict[str, list[str]]) -> None:
    for member, topics in declared.items():
        index.declare(member, topics)
    index.loaded()
    index.calibrate()  # seconds on a large community: the reason this runs off the event loop
