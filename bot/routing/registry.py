"""One in-memory expertise index per community, built from storage and kept current by live events.

The index is built lazily on first use (streamed from the database, a batch at a time, so the event
loop stays responsive) and then updated in place as messages, reactions and declarations arrive;
with `start_following`, also as other Steward processes on the same database store them.

With a snapshot folder, a large index is also saved to a file (bot/expertise/snapshot.py) and the
next process loads it instead of building, then catches up with storage: the messages and reactions
stored after it (imports log nothing else), the change log since its mark (edits, deletions, privacy
choices), the declared topics and who may be indexed at all. When the log no longer holds every
change since the mark, or a member was forgotten since, the file is not used: the index is built.
A following process saves its indexes again every few minutes and when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.expertise import ExpertiseIndex, Post, snapshot
from bot.metrics import INDEX_SECONDS
from bot.routing.follow import BATCH, INTERVAL, START_LOOKBACK, IndexFollower, message_op, start_cursor
from storage.db import Database
from storage.expertise import all_declared_topics, stream_posts, stream_reactions
from storage.index_changes import RETENTION, changes_after, latest_change
from storage.index_snapshots import (
    SavedIndex,
    advance_saved_index,
    change_high_water,
    drop_saved_index,
    indexable_members,
    last_message,
    last_reaction,
    oldest_change,
    record_saved_index,
    saved_indexes,
)
from storage.models import Member

log = logging.getLogger(__name__)

# The ranker reads the text of questions (thread roots) only; replies count through who wrote them.
INDEX_READS_REPLIES = False
RESTORE_SLICE = 2_000  # posts restored between two turns of the event loop
SNAPSHOT_MIN_POSTS = 20_000  # smaller indexes build in about a second: not worth a file
SAVE_EVERY = RETENTION.total_seconds() / 6  # a following process re-saves changed indexes this often
RESAVE_AFTER = 20_000  # a catch-up that read this many posts or changes saves the result at once
SUFFIX = ".idx"


class _Stale(Exception):
    """The saved index cannot be brought up to date from storage: build instead."""


@dataclass(frozen=True)
class _Extents:
    """What of storage an index has read: the messages and reactions up to these ids.

    Both tables only grow at the end (ids are handed out in order) except by deletions, which the
    change log records: what was stored after these ids is what a saved index has not seen.
    """

    messages: int
    reactions: int

    def meta(self) -> dict[str, int]:
        return {"messages": self.messages, "reactions": self.reactions}

    @classmethod
    def of(cls, meta: dict[str, Any]) -> _Extents:
        return cls(int(meta["messages"]), int(meta["reactions"]))

    @classmethod
    async def read(cls, conn: AsyncConnection, community_id: int) -> _Extents:
        return cls(await last_message(conn, community_id), await last_reaction(conn))


IndexUpdate = Callable[[ExpertiseIndex], object]  # a live change, applied to a community's index


class ExpertiseRegistry:
    """The expertise indexes of every community this process serves."""

    def __init__(self, db: Database, snapshots: Path | None = None, *,
                 snapshot_min_posts: int = SNAPSHOT_MIN_POSTS) -> None:
        self.db = db
        self.snapshots = snapshots  # the folder of saved index files (None: never save nor load)
        self.snapshot_min_posts = snapshot_min_posts
        self._saved: dict[int, SavedIndex] = {}  # the file each loaded index was saved to or loaded from
        self._extents: dict[int, _Extents] = {}  # what of storage each loaded index has read
        self._dirty: set[int] = set()  # changed since its file was written
        self._frozen: dict[int, list[IndexUpdate]] = {}  # updates held back while the index is being saved
        self._thawed = asyncio.Event()
        self._saver: asyncio.Task[None] | None = None
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
        a loaded index is rebuilt), else never. While the index is being saved, after the save."""
        self._dirty.add(community_id)
        index = self._indexes.get(community_id)
        if (frozen := self._frozen.get(community_id)) is not None:
            frozen.append(op)
        elif index is not None:
            try:
                op(index)
            except Exception:  # the index is a cache: a failed update must not fail the event
                log.exception("could not apply a live change to the expertise index of community %d", community_id)
        if (pending := self._pending.get(community_id)) is not None:
            pending.append(op)

    async def start_following(self, interval: float = INTERVAL, save_every: float = SAVE_EVERY) -> None:
        """Follow the changes other processes store, every `interval` seconds, until `stop_following`;
        with a snapshot folder, save changed indexes every `save_every` seconds and at the stop."""
        if self._follower is None:
            self._follower = IndexFollower(self, await start_cursor(self, self._built_since), interval)
            self._follower.start()
            if self.snapshots is not None:
                self._saver = asyncio.get_running_loop().create_task(self._keep_saved(save_every),
                                                                     name="expertise-index-saver")

    async def stop_following(self) -> None:
        """Stop following and abandon rebuilds in progress (shutdown); save what changed since its file."""
        saver, self._saver = self._saver, None
        if saver is not None:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
        follower, self._follower = self._follower, None
        if follower is not None:
            await follower.stop()
        for task in list(self._rebuilds.values()):
            task.cancel()
        await asyncio.gather(*self._rebuilds.values(), return_exceptions=True)
        if saver is not None and follower is not None:
            try:
                await self.save_all(follower.cursor.mark)
            except Exception:  # the next start builds, or loads an older file and catches up
                log.exception("could not save the expertise indexes at shutdown")

    async def catch_up(self) -> int:
        """Run one follower pass now (tests, benchmarks); returns the changes read."""
        assert self._follower is not None, "start_following first"
        return await self._follower.catch_up()

    def rebuild_later(self, community_id: int) -> None:
        """Soon, build a loaded index afresh and swap it in; the old one answers meanwhile.

        Its saved files are deleted now: a rebuild follows a forgotten member, whom they still name.
        """
        self._saved.pop(community_id, None)
        self._remove_files(community_id, keep=set())
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
        while community_id in self._frozen:  # being saved: the file must show one moment
            self._thawed.clear()
            await self._thawed.wait()
        index = self._indexes.get(community_id)
        if index is None:
            return
        self._dirty.add(community_id)
        async with self.db.reader() as conn:
            await _restore_into(conn, index, community_id, member)

    async def idle(self) -> None:
        """Wait for background restores (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _build(self, community_id: int) -> ExpertiseIndex:
        if self.snapshots is not None:
            try:
                loaded = await self._load(community_id)
            except Exception:  # a saved index is a cache: whatever goes wrong with it, build
                log.exception("could not load the saved expertise index of community %d: building it", community_id)
                loaded = None
            if loaded is not None:
                return loaded
        return await self._build_fresh(community_id)

    async def _build_fresh(self, community_id: int) -> ExpertiseIndex:
        started = time.perf_counter()
        index = ExpertiseIndex()
        index.bulk_load()
        posts = 0
        # The index is nobody else's until it is returned, so the CPU-heavy parts run in a worker
        # thread, a batch at a time: the event loop keeps answering (and acking) events meanwhile.
        async with self._consistent_reader() as conn:
            # Read first: what is logged later is applied after. The highest id ever handed out, not the
            # highest still logged (the log may be pruned empty); ids below it not yet committed are holes.
            since = max(await latest_change(conn), await change_high_water(conn))
            extents = await _Extents.read(conn, community_id)
            if self._follower is None:  # a follower started later begins where the first build did
                self._built_since = since if self._built_since is None else min(self._built_since, since)
            async for batch in stream_posts(conn, community_id, reply_text=INDEX_READS_REPLIES):
                await asyncio.to_thread(_add_posts, index, batch)
                posts += len(batch)
            async for reactions in stream_reactions(conn, community_id):
                await asyncio.to_thread(_add_reactions, index, reactions)
            declared = await all_declared_topics(conn, community_id)
        await asyncio.to_thread(_finish, index, declared)
        INDEX_SECONDS.labels("build").observe(time.perf_counter() - started)
        log.info("expertise index for community %d: built from %d posts in %.1f s", community_id, posts,
                 time.perf_counter() - started)
        self._extents[community_id] = extents
        old = self._saved.pop(community_id, None)  # that file is older than this index: stop vouching for it here
        self._dirty.discard(community_id)
        if posts >= self.snapshot_min_posts:
            await self._save_new(community_id, index, since, extents, replaces=old)
        return index

    @contextlib.asynccontextmanager
    async def _consistent_reader(self) -> AsyncIterator[AsyncConnection]:
        """A reader whose statements all see one moment (the change mark, the extents and the rows read
        then agree): SQLite's read transaction does; PostgreSQL needs REPEATABLE READ for it."""
        async with self.db.reader() as conn:
            if not self.db.is_sqlite:
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    # Saved indexes -------------------------------------------------------------------------------

    def _path(self, community_id: int, token: str) -> Path:
        assert self.snapshots is not None
        return self.snapshots / f"{community_id}-{token}{SUFFIX}"

    def _remove_files(self, community_id: int, keep: set[str]) -> None:
        """Delete the community's saved files but those named in `keep` (and leftovers of a crashed save)."""
        if self.snapshots is None or not self.snapshots.is_dir():
            return
        for path in self.snapshots.glob(f"{community_id}-*{SUFFIX}*"):
            token = path.name[len(f"{community_id}-"):].split(".")[0]
            if token not in keep or not path.name.endswith(SUFFIX):
                with contextlib.suppress(OSError):
                    path.unlink()

    async def _load(self, community_id: int) -> ExpertiseIndex | None:
        """The community's saved index brought up to date with storage, or None to build it."""
        started = time.perf_counter()
        async with self.db.reader() as conn:
            rows = await saved_indexes(conn, community_id)
        # Files no row vouches for go (a forgotten member's, a crashed save's). Another process's file
        # not vouched for yet may go too: it only means the next start builds.
        await asyncio.to_thread(self._remove_files, community_id, {r.token for r in rows})
        row = next((r for r in rows if self._path(community_id, r.token).is_file()), None)
        if row is None:
            return None
        path = self._path(community_id, row.token)
        try:
            index, meta = await asyncio.to_thread(snapshot.load, path)
            if meta.get("community_id") != community_id or meta.get("token") != row.token:
                raise snapshot.SnapshotError("it belongs to another community")
            extents = _Extents.of(meta)
        except (snapshot.SnapshotError, KeyError, TypeError, ValueError) as exc:
            log.warning("the saved expertise index of community %d (%s) cannot be used: %s; building it instead",
                        community_id, path, exc)
            async with self.db.engine.begin() as conn:
                await drop_saved_index(conn, row.token)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        loaded = time.perf_counter() - started
        try:
            mark, extents, work = await self._catch_up(community_id, index, row.mark, extents)
        except _Stale as why:
            # It can never be caught up again (the log only moves on), and it may name someone forgotten
            # since (a process that saved before following the forget): stop vouching for it, delete it.
            log.warning("the saved expertise index of community %d (%s) is out of date: %s; building it instead",
                        community_id, path, why)
            async with self.db.engine.begin() as conn:
                await drop_saved_index(conn, row.token)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        INDEX_SECONDS.labels("load").observe(time.perf_counter() - started)
        log.info("expertise index for community %d: loaded from %s in %.2f s, caught up with %d changes "
                 "and new posts in %.2f s", community_id, path, loaded, work, time.perf_counter() - started - loaded)
        self._extents[community_id] = extents
        self._saved[community_id] = row
        self._dirty.discard(community_id)
        if work >= RESAVE_AFTER:
            await self._save_new(community_id, index, mark, extents, replaces=self._saved.pop(community_id))
        elif work:
            self._dirty.add(community_id)  # a following process saves it within SAVE_EVERY
        return index

    async def _catch_up(self, community_id: int, index: ExpertiseIndex, mark: int, seen: _Extents
                        ) -> tuple[int, _Extents, int]:
        """Apply to a loaded index what storage changed since it was saved at `mark`.

        Returns the change mark the index is now current with, what of storage it has read and how
        many changes and posts it took (0: the file is as good as new). Raises _Stale when the
        storage cannot tell everything that changed.
        """
        work = 0
        async with self._consistent_reader() as conn:
            high = await change_high_water(conn)
            top = await latest_change(conn)
            if self._follower is None:  # a follower started later begins where this catch-up does
                self._built_since = top if self._built_since is None else min(self._built_since, top)
            if high < mark:
                raise _Stale(f"the change log ends at {high}, before the file's mark {mark} (another database?)")
            if high > mark and ((oldest := await oldest_change(conn)) is None or oldest > mark + 1):
                raise _Stale("changes made since were already pruned from the change log")
            now = await _Extents.read(conn, community_id)
            if high == mark and (now.messages < seen.messages or now.reactions < seen.reactions):
                raise _Stale("messages or reactions were removed without a trace in the change log")
            # What was appended (an import logs no changes), then what the log says changed.
            async for batch in stream_posts(conn, community_id, reply_text=INDEX_READS_REPLIES, after=seen.messages):
                await asyncio.to_thread(_add_posts, index, batch)
                work += len(batch)
            async for reactions in stream_reactions(conn, community_id, after=seen.reactions):
                await asyncio.to_thread(_add_reactions, index, reactions)
                work += len(reactions)
            restore: dict[str, None] = {}
            after = max(0, mark - START_LOOKBACK)  # and just below the mark: transactions that committed late
            while True:
                changes = await changes_after(conn, after, (), BATCH)
                for c in changes:
                    if c.community_id != community_id:
                        continue
                    if c.kind == "rebuild" and c.id > mark:
                        raise _Stale("a member was forgotten since")
                    if c.kind == "member" and c.member is not None and not c.member_forgotten:
                        if c.member_out:
                            index.forget_member(c.member)
                            restore.pop(c.member, None)
                        else:
                            restore[c.member] = None
                    elif c.platform_id is not None and c.kind != "rebuild":
                        message_op(c, c.platform_id)(index)
                    work += c.id > mark
                if changes:
                    after = changes[-1].id
                if len(changes) < BATCH:
                    break
            for member in restore:
                await _restore_into(conn, index, community_id, member)
            allowed = await indexable_members(conn, community_id)
            declared = await all_declared_topics(conn, community_id)
        # Whoever may not be indexed now is not, whatever the file says (opted out, forgotten, a bot).
        for name in set(index.members()) - allowed:
            index.forget_member(name)
            work += 1
        for member, topics in declared.items():
            index.declare(member, topics)
        return max(top, mark), now, work

    async def _save_new(self, community_id: int, index: ExpertiseIndex, mark: int, extents: _Extents, *,
                        replaces: SavedIndex | None) -> None:
        """Save an index nobody else is changing (a build's, or a frozen one) and vouch for the file
        (instead of `replaces`, whose file is deleted)."""
        if self.snapshots is None:
            return
        token = uuid.uuid4().hex
        path = self._path(community_id, token)
        meta = {"community_id": community_id, "token": token, "mark": mark, **extents.meta()}
        started = time.perf_counter()
        try:
            size = await asyncio.to_thread(snapshot.save, index, path, meta)
        except (OSError, snapshot.SnapshotError) as exc:
            log.warning("could not save the expertise index of community %d to %s: %s", community_id, path, exc)
            return
        saved, old = SavedIndex(token, mark), replaces
        try:
            async with self.db.engine.begin() as conn:
                await record_saved_index(conn, community_id, saved, old.token if old else None)
        except Exception:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self._saved[community_id] = saved
        if old is not None:
            with contextlib.suppress(OSError):
                self._path(community_id, old.token).unlink()
        log.info("expertise index for community %d saved to %s (%.0f MB, as of change %d) in %.2f s",
                 community_id, path, size / 1e6, mark, time.perf_counter() - started)

    async def save_all(self, mark: int | None = None) -> None:
        """Save each loaded index changed since its file was written; vouch for the others' files at the
        follower's current mark (nothing of their community changed meanwhile)."""
        if self.snapshots is None:
            return
        if mark is None:
            if self._follower is None:
                return  # without following, the mark of what this process applied is unknown
            mark = self._follower.cursor.mark
        for community_id in list(self._indexes):
            if community_id in self._pending or community_id in self._stale or community_id in self._rebuilds:
                continue  # a build is under way: it saves its own result
            saved = self._saved.get(community_id)
            if community_id in self._dirty or saved is None:
                await self._save_live(community_id, mark)
            elif saved.mark < mark:
                async with self.db.engine.begin() as conn:
                    still = await advance_saved_index(conn, saved.token, mark)
                if still:
                    self._saved[community_id] = SavedIndex(saved.token, mark)
                else:
                    self._saved.pop(community_id, None)
                    self._dirty.add(community_id)

    async def _save_live(self, community_id: int, mark: int) -> None:
        """Save a loaded index as of change `mark` (the follower's), holding its updates back meanwhile
        (questions are still answered)."""
        await self.idle()  # a restore in progress changes the index between its awaits
        index, extents = self._indexes.get(community_id), self._extents.get(community_id)
        if index is None or extents is None or community_id in self._frozen:
            return
        if index.size() < self.snapshot_min_posts:
            return
        if self._follower is not None:
            mark = self._follower.cursor.mark  # it may have moved during the wait
        self._frozen[community_id] = []
        self._dirty.discard(community_id)
        try:
            await self._save_new(community_id, index, mark, extents, replaces=self._saved.pop(community_id, None))
        finally:
            held = self._frozen.pop(community_id)
            self._thawed.set()
            for op in held:
                self.update(community_id, op)

    async def _keep_saved(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.save_all()
            except Exception:  # the database or the disk may be away for a while: try again later
                log.exception("could not save the expertise indexes")


async def _restore_into(conn: AsyncConnection, index: ExpertiseIndex, community_id: int, member: str) -> None:
    """Re-index one member's posts, the reactions to them and their declared topics."""
    member_id = (await conn.execute(select(Member.id).where(  # type: ignore[call-overload]
        Member.community_id == community_id, Member.platform_user_id == member))).scalar()
    fresh: set[str] = set()
    async for batch in stream_posts(conn, community_id, reply_text=INDEX_READS_REPLIES, author=member):
        for i, (platform_id, thread_id, author, text, at) in enumerate(batch, 1):
            if index.restore(Post(platform_id, thread_id or platform_id, author, text, at)):
                fresh.add(platform_id)
            if i % RESTORE_SLICE == 0:
                await asyncio.sleep(0)  # the index may be live: no worker thread, but short slices
    if fresh and member_id is not None:
        async for reactions in stream_reactions(conn, community_id, on_messages_of=member_id):
            for message_id, emoji, reactor in reactions:
                if message_id in fresh:
                    index.add_reaction(message_id, emoji, reactor)
    topics = (await all_declared_topics(conn, community_id, member)).get(member)
    if topics:
        index.declare(member, topics)


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
