"""Importing a community's history: neutral records → storage, streamed, idempotent, with a summary."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.history import HistoryChannel, HistoryMessage, HistoryUser, SkippedFile
from bot.replies import LINK_SCHEME
from bot.reputation.mentions import mentions
from storage import bulk
from storage.communities import ensure_community
from storage.db import Database
from storage.ledger_import import LedgerSummary, derive_contributions
from storage.privacy import scrub_id
from storage.tombstones import matcher
from storage.types import utcnow

log = logging.getLogger(__name__)

BATCH = 5000  # messages per transaction: a crash loses at most one batch, and re-importing restores it


@dataclass
class ImportSummary:
    """What an import did; printed at the end and returned to callers."""

    files: int = 0
    messages_seen: int = 0
    messages_new: int = 0
    reactions_new: int = 0
    members: int = 0
    channels: int = 0
    seconds: float = 0.0
    skipped: list[SkippedFile] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)  # records left out, by reason ("messages with a bad ts")
    ledger: LedgerSummary = field(default_factory=LedgerSummary)  # contributions derived after the import

    @property
    def rate(self) -> float:
        """Messages read per second."""
        return self.messages_seen / self.seconds if self.seconds else 0.0


class HistoryImport:
    """Writes one community's history in batched transactions; safe to run again (nothing is added twice)."""

    def __init__(self, db: Database, community: str, platform: str, kudos: Sequence[str] = ("pray",)) -> None:
        self.db, self.slug, self.platform, self.kudos = db, community, platform, tuple(kudos)
        self.summary = ImportSummary()
        self._community_id = 0
        self._members: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self._opted_out: set[int] = set()
        self._buried: Callable[[str], bool] = lambda _uid: False  # accounts that asked not to be kept
        self._any_buried = False
        self._pending: list[HistoryMessage] = []
        self._writer: asyncio.Task[None] | None = None
        self._started = time.perf_counter()

    async def begin(self, users: Iterable[HistoryUser], channels: Iterable[HistoryChannel], *,
                    large: bool = False) -> None:
        """Create the community, its members and channels; a `large` import on SQLite defers some indexes.

        Accounts with a tombstone (they said `forget me` or `opt out`) are left out whole: no member row,
        no message, no reaction, and their id is taken out of the mentions in others' messages.
        """
        async with self.db.session() as session:
            community = await ensure_community(session, self.slug)
            assert community.id is not None
            self._community_id = community.id
        async with self.db.engine.connect() as conn:
            self._buried, self._any_buried = await matcher(conn, self.platform)
        rows = [{"platform_user_id": u.id, "display_name": u.display_name, "timezone": u.timezone,
                 "is_bot": u.is_bot, "deleted": u.deleted, "created_at": utcnow()}
                for u in users if not self._buried(u.id)]
        async with self.db.engine.begin() as conn:
            self._members = await bulk.upsert_members(conn, self._community_id, self.platform, rows)
            self._channels = await bulk.upsert_channels(conn, self._community_id, self.platform,
                                                        [(c.id, c.name) for c in channels])
            self._opted_out = await bulk.opted_out_ids(conn, self._community_id)
            if large and self.db.is_sqlite:
                await bulk.drop_secondary_indexes(conn)  # rebuilt in finish(), or at the next start
        self.summary.members, self.summary.channels = len(self._members), len(self._channels)

    async def add(self, messages: list[HistoryMessage]) -> None:
        """Queue one file's messages; they are written in batches of about `BATCH` messages."""
        self.summary.files += 1
        self.summary.messages_seen += len(messages)
        self._pending.extend(messages)
        if len(self._pending) >= BATCH:
            await self._flush_in_background()

    async def _flush_in_background(self) -> None:
        # The database works in its driver's thread while we parse the next files: wait for the
        # previous batch only when the next one is ready (at most one batch in flight).
        await self._wait_for_writer()
        batch, self._pending = self._pending, []
        self._writer = asyncio.create_task(self._write(batch))

    async def _wait_for_writer(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await writer

    async def flush(self) -> None:
        """Store everything queued, and wait until it is committed."""
        await self._wait_for_writer()
        batch, self._pending = self._pending, []
        await self._write(batch)

    async def _write(self, messages: list[HistoryMessage]) -> None:
        """Store messages and their reactions in one transaction."""
        if not messages:
            return
        async with self.db.engine.begin() as conn:
            await self._ensure_people(conn, messages)
            rows: list[tuple[object, ...]] = []
            for m in messages:
                author = self._members.get(m.user)
                channel = self._channels.get(m.channel)
                if author is None or author in self._opted_out or channel is None:
                    continue  # no row: a tombstoned account's
                rows.append((self._community_id, channel, author, m.id, m.thread, self._unmention(m.text), m.at))
            # Keyed by (channel, id): Slack's ts is unique within a channel only.
            inserted = await bulk.insert_messages(conn, self._community_id, rows)
            reactions = [(message_id, self._members[user], emoji, m.at)
                         for m in messages if (message_id := inserted.get((self._channels.get(m.channel, 0), m.id)))
                         for emoji, users in m.reactions for user in dict.fromkeys(users)
                         if user in self._members and self._members[user] not in self._opted_out]
            await bulk.insert_reactions(conn, reactions)
        self.summary.messages_new += len(inserted)
        self.summary.reactions_new += len(reactions)

    async def _ensure_people(self, conn: AsyncConnection, messages: list[HistoryMessage]) -> None:
        # Exports can mention people missing from users.json (guests, shared channels): keep them too.
        unknown = {m.user for m in messages if m.user not in self._members}
        unknown |= {u for m in messages for _e, users in m.reactions for u in users if u not in self._members}
        unknown = {u for u in unknown if not self._buried(u)}
        if unknown:
            rows = [{"platform_user_id": u, "display_name": u, "created_at": utcnow()} for u in sorted(unknown)]
            self._members = await bulk.upsert_members(conn, self._community_id, self.platform, rows)

    def _unmention(self, text: str) -> str:
        """Others' words stay, but not the id of a tombstoned account they mention."""
        if not self._any_buried or "@" not in text:
            return text
        for uid in mentions(text):
            if self._buried(uid):
                text = scrub_id(text, uid)
        return text

    async def finish(self, skipped: list[SkippedFile], problems: Mapping[str, int] | None = None) -> ImportSummary:
        """Write what is still queued, refresh the planner's statistics, and close the summary (with the
        files and the records the reader left out)."""
        await self.flush()
        if self.db.is_sqlite:
            async with self.db.engine.begin() as conn:
                await bulk.restore_indexes(conn)
        self.summary.seconds = time.perf_counter() - self._started  # the ledger pass reports its own time
        self.summary.ledger = await derive_ledger(self.db, self._community_id, self.kudos)
        if self.summary.messages_new:
            # After a bulk load the query planner knows nothing of the new rows: without fresh
            # statistics, PostgreSQL picks sequential scans and `who` gets several times slower.
            async with self.db.engine.begin() as conn:
                await bulk.analyze(conn)
        self.summary.skipped = list(skipped)
        self.summary.problems = {reason: n for reason, n in (problems or {}).items() if n}
        return self.summary


async def derive_ledger(db: Database, community_id: int, kudos: Sequence[str] = ("pray",)) -> LedgerSummary:
    """The post-import pass: answered / accepted / shared / thanked contributions from the stored history."""
    from bot.reputation.rules import ACCEPT, TRAILING, is_shared_resource
    from bot.reputation.topics import topics_of

    async with db.engine.begin() as conn:
        return await derive_contributions(conn, community_id, accept=ACCEPT, trailing=TRAILING,
                                          is_shared=is_shared_resource, topics_of=topics_of, kudos=kudos,
                                          link=LINK_SCHEME)
