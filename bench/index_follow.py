"""What one pass of the expertise index follower costs: idle, and after another process stored messages.

    python -m bench.index_follow [--base 2000 --new 1000 --rounds 5 --idle 200] [--url URL]

A SQLite file in a temporary folder unless --url names a database (it must be empty: the bench
migrates it and fills it). Process B holds the index and follows; process A (a second `Database` on
the same file, as a second Steward would) stores messages through the same storage functions as live
events: half thread roots, half replies, a ✅ on every fourth reply. Queries are counted on B's engine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.routing.registry import ExpertiseRegistry
from storage.communities import ensure_channel, ensure_community
from storage.db import Database
from storage.members import ensure_member
from storage.messages import add_reaction, store_message

WORDS = ("helm", "terraform", "rollback", "release", "state", "locking", "modules", "upgrade", "chart", "drift",
         "provider", "ingress", "network", "policy", "pods", "eviction", "nodes", "autoscaler", "secrets", "vault")
START = datetime(2026, 1, 1, tzinfo=UTC)


class Seed:
    """Ids of what the writer needs: the community, its channel and ten members."""

    def __init__(self, community: int, channel: int, members: list[int]) -> None:
        self.community, self.channel, self.members = community, channel, members
        self.n = 0


async def setup(db: Database) -> Seed:
    """One community, one channel, ten members."""
    async with db.session() as session:
        community = await ensure_community(session, "bench")
        channel = await ensure_channel(session, community, "slack", "C1")
        members = [await ensure_member(session, community.id or 0, "slack", f"U{i}") for i in range(10)]
        return Seed(community.id or 0, channel.id or 0, [m.id or 0 for m in members])


async def write(db: Database, seed: Seed, count: int) -> None:
    """`count` messages as live events store them: roots and replies in turn, one transaction each."""
    root = ""
    for _ in range(count):
        seed.n += 1
        n = seed.n
        author = seed.members[n % len(seed.members)]
        text = " ".join(WORDS[(n * k) % len(WORDS)] for k in (1, 3, 7, 11))
        async with db.session() as session:
            is_root = n % 2 == 1
            message, _ = await store_message(
                session, community_id=seed.community, channel_id=seed.channel, author_id=author,
                platform_id=f"m{n}", text=text, posted_at=START + timedelta(minutes=n),
                thread_id=None if is_root else root)
            if is_root:
                root = f"m{n}"
            elif n % 8 == 0:
                await add_reaction(session, message.id or 0, seed.members[(n + 1) % len(seed.members)],
                                   "white_check_mark", START + timedelta(minutes=n + 1))


def count_queries(db: Database) -> list[int]:
    """A one-item counter of the statements B's engine sends."""
    counter = [0]

    def seen(*_: Any) -> None:
        counter[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    return counter


async def run(url: str, base: int, new: int, rounds: int, idle: int) -> None:
    """Print the figures as a Markdown table."""
    writer, follower_db = Database(url), Database(url)
    await writer.upgrade()
    seed = await setup(writer)
    await write(writer, seed, base)
    registry = ExpertiseRegistry(follower_db)
    await registry.index(seed.community)
    await registry.start_following(interval=3600)  # passes are driven by hand below
    await registry.catch_up()
    await asyncio.sleep(0.1)  # the follower's own first pass, started with it, is over
    queries = count_queries(follower_db)

    idle_times, idle_queries = [], []
    for _ in range(idle):
        before, started = queries[0], time.perf_counter()
        await registry.catch_up()
        idle_times.append(time.perf_counter() - started)
        idle_queries.append(queries[0] - before)

    busy_times, busy_queries = [], []
    for _ in range(rounds):
        await write(writer, seed, new)
        before, started = queries[0], time.perf_counter()
        read = await registry.catch_up()
        busy_times.append(time.perf_counter() - started)
        busy_queries.append(queries[0] - before)
        assert read >= new, read
    await registry.stop_following()
    await writer.dispose()
    await follower_db.dispose()

    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return f"{statistics.median(values) * 1000:.2f} ms (p95 {p95 * 1000:.2f} ms)"

    print(f"| pass | time, median | statements (median, max) |\n|---|---|---|\n"
          f"| idle (no new change), {idle} passes | {ms(idle_times)} | "
          f"{statistics.median(idle_queries):.0f}, {max(idle_queries)} |\n"
          f"| {new} new messages (+{new // 8} ✅), {rounds} rounds | {ms(busy_times)} | "
          f"{statistics.median(busy_queries):.0f}, {max(busy_queries)} |")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=2_000, help="messages stored before the index is built")
    parser.add_argument("--new", type=int, default=1_000, help="messages stored by A between two passes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=int, default=200, help="idle passes timed")
    parser.add_argument("--url", help="an empty database (default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(url, args.base, args.new, args.rounds, args.idle))


if __name__ == "__main__":
    main()
