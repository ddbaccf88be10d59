"""One in-memory expertise index per community, built from storage and kept current by live events.

The index is built lazily on first use (streamed from the database, a batch at a time, so the event
loop stays responsive) and then updated in place as messages, reactions and declarations arrive.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.expertise import ExpertiseIndex, Post
from storage.db import Database
from storage.expertise import all_declared_topics, stream_posts, stream_reactions

log = logging.getLogger(__name__)

# The ranker reads the text of questions (thread roots) only; replies count through who wrote them.
INDEX_READS_REPLIES = False


class ExpertiseRegistry:
    """The expertise indexes of every community this process serves."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._indexes: dict[int, ExpertiseIndex] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def index(self, community_id: int) -> ExpertiseIndex:
        """The community's index, built from storage the first time it is needed."""
        found = self._indexes.get(community_id)
        if found is not None:
            return found
        async with self._locks.setdefault(community_id, asyncio.Lock()):
            if community_id not in self._indexes:
                self._indexes[community_id] = await self._build(community_id)
            return self._indexes[community_id]

    def loaded(self, community_id: int) -> ExpertiseIndex | None:
        """The index if it is already in memory (live updates only touch loaded indexes)."""
        return self._indexes.get(community_id)

    def invalidate(self, community_id: int) -> None:
        """Drop an index so the next use rebuilds it (e.g. after someone opts back in)."""
        self._indexes.pop(community_id, None)

    async def _build(self, community_id: int) -> ExpertiseIndex:
        started = time.perf_counter()
        index = ExpertiseIndex()
        posts = 0
        async with self.db.reader() as conn:
            async for batch in stream_posts(conn, community_id, reply_text=INDEX_READS_REPLIES):
                for platform_id, thread_id, author, text, at in batch:
                    index.add(Post(platform_id, thread_id or platform_id, author, text, at))
                posts += len(batch)
                await asyncio.sleep(0)  # let other events through between batches
            async for reactions in stream_reactions(conn, community_id):
                for message_id, emoji, reactor in reactions:
                    index.add_reaction(message_id, emoji, reactor)
                await asyncio.sleep(0)
            for member, topics in (await all_declared_topics(conn, community_id)).items():
                index.declare(member, topics)
        index.calibrate()
        log.info("expertise index for community %d: %d posts in %.1f s", community_id, posts,
                 time.perf_counter() - started)
        return index
