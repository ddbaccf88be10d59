"""Database round trips per event, in-process: what one event costs the database, statement by statement.

    python -m bench.round_trips [--postgres] [--events 20] [--show]

Three kinds of events, each sent one at a time (after a warm-up) so every statement belongs to one event:
  - slack-help:    a signed `app_mention` "<@UBOT> help" through the real Slack adapter (HTTP, a fake Slack
                   Web API on loopback): inbox write before the ack, the event's transaction, the reply,
                   its crossing out;
  - slack-message: a plain channel `message` through the same adapter, indexed (no reply);
  - matrix-help:   `!steward help` as the Matrix adapter hands it to the core (a neutral event on the
                   recording adapter under the platform name "matrix": that adapter's own database work is
                   one sync-token write per sync batch, not per event, and is listed apart).

Counted with SQLAlchemy's engine events: every statement sent (savepoints included), BEGIN, COMMIT and
ROLLBACK, and on PostgreSQL the pool's pre-ping. On SQLite the physical figure is the number of calls
through aiosqlite's thread (cursor, execute, fetch, close: each one a hop and a wake-up of the loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite.core
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.recording import RecordingAdapter
from adapters.slack.adapter import SlackAdapter
from adapters.slack.pacing import Limits
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config, SlackConfig
from bot.core import Steward
from bot.events import MessagePosted, Sender
from bot.features import build_router
from storage import prepared
from storage.db import Database
from tests.slack.conftest import ENV, event_body, sign
from tests.slack.fake_slack import FakeSlack

QUIET = 0.15  # seconds without a statement: the event's work (and its crossing out) is over


@dataclass
class Tally:
    """What the engine sent since the last `reset`."""

    statements: list[str] = field(default_factory=list)
    hops: int = 0
    last: float = field(default_factory=time.monotonic)

    def note(self, what: str) -> None:
        self.statements.append(what)
        self.last = time.monotonic()

    def reset(self) -> None:
        self.statements, self.hops, self.last = [], 0, time.monotonic()

    @property
    def round_trips(self) -> int:
        """Statements plus transaction control: each one a trip to the database (or its thread)."""
        return len(self.statements)


def listen(engine: AsyncEngine, tally: Tally) -> None:
    """Count what `engine` sends into `tally`."""
    sync = engine.sync_engine

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        tally.note(" ".join(sql.split())[:110])

    sa_event.listen(sync, "before_cursor_execute", statement)
    if sync.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE is a statement (storage/db.py)
        sa_event.listen(sync, "begin", lambda _c: tally.note("BEGIN"))
        ping = sync.dialect.do_ping

        def counted_ping(conn: Any) -> bool:
            tally.note("PING (pool pre-ping)")
            return bool(ping(conn))

        sync.dialect.do_ping = counted_ping  # type: ignore[method-assign]
    sa_event.listen(sync, "commit", lambda _c: tally.note("COMMIT"))
    sa_event.listen(sync, "rollback", lambda _c: tally.note("ROLLBACK"))


def count_hops(tally: Tally) -> None:
    """Count every call aiosqlite runs on its thread (the physical round trips on SQLite)."""
    original = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        tally.hops += 1
        return await original(self, fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]


async def quiet(tally: Tally) -> None:
    """Wait until nothing was sent for `QUIET` seconds."""
    while time.monotonic() - tally.last < QUIET:  # noqa: ASYNC110 (quiet is measured: no event to wait for)
        await asyncio.sleep(QUIET / 3)


@dataclass
class Result:
    """Per-event figures of one kind of event."""

    name: str
    trips: list[int]
    hops: list[int]
    sample: list[str]


async def measure(name: str, tally: Tally, send: Callable[[int], Awaitable[None]], events: int,
                  warm: int = 5) -> Result:
    """Send `warm` then `events` events one by one; count each one's statements until quiet."""
    trips, hops, sample = [], [], []
    for i in range(warm + events):
        await quiet(tally)
        tally.reset()
        await send(i)
        await quiet(tally)
        if i >= warm:
            trips.append(tally.round_trips)
            hops.append(tally.hops)
            sample = sample or list(tally.statements)
    return Result(name, trips, hops, sample)


def report(result: Result, sqlite: bool, show: bool) -> None:
    """Print the median per event and, with `show`, one event's statements."""
    kinds = Counter(s.split(" ", 1)[0] for s in result.sample)
    line = f"{result.name:<14} round trips/event: median {statistics.median(result.trips):5.1f}"
    if sqlite:
        line += f"   aiosqlite thread hops/event: median {statistics.median(result.hops):5.1f}"
    print(line + "   (" + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ")")
    if show:
        for statement in result.sample:
            print(f"      {statement}")


async def open_db(postgres: bool, tmp: Path) -> tuple[Database, Callable[[], None]]:
    """A migrated database: SQLite in `tmp`, or a fresh PostgreSQL one on 127.0.0.1 (dropped after)."""
    if not postgres:
        db = Database(f"sqlite+aiosqlite:///{tmp}/steward.db")
        await db.upgrade()
        return db, lambda: None
    from tests.conftest import create_pg_database, drop_pg_database

    url = await asyncio.to_thread(create_pg_database, "steward_bench")
    db = Database(url)
    await db.upgrade()
    return db, lambda: drop_pg_database(url)


async def slack(db: Database, tally: Tally, tmp: Path, events: int) -> list[Result]:
    """`help` and a plain indexed message through the real Slack adapter."""
    fake = FakeSlack()
    await fake.start()
    config = Config(data_dir=tmp, slack=SlackConfig(port=0),
                    communities=(CommunityConfig(slug="bench", channels=("slack:C0",)),))
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    adapter = SlackAdapter.from_config(config, db=db, base_url=fake.base_url, env=ENV, limits=Limits.unpaced())
    steward.add_adapter(adapter)
    await steward.start_adapters()
    url = f"http://127.0.0.1:{adapter.port}/slack/events"
    results = []
    async with aiohttp.ClientSession() as session:

        async def post(event: dict[str, Any], event_id: str) -> None:
            body = json.dumps(event_body(event, event_id=event_id))
            async with session.post(url, data=body.encode(),
                                    headers={"Content-Type": "application/json", **sign(body)}) as response:
                assert response.status == 200, response.status

        async def help_(i: int) -> None:
            before = len(fake.called("chat.postMessage"))
            ts = f"1700000000.{i:06d}"
            await post({"type": "app_mention", "user": f"U{i % 5:03d}", "text": "<@UBOT> help", "channel": "C0",
                        "ts": ts, "event_ts": ts}, f"EvHelp{i}")
            await fake.wait_calls("chat.postMessage", before + 1, 10)

        async def message(i: int) -> None:
            ts = f"1700001000.{i:06d}"
            await post({"type": "message", "user": f"U{i % 5:03d}", "channel": "C0", "channel_type": "channel",
                        "text": f"how do I roll back a helm release {i}?", "ts": ts, "event_ts": ts}, f"EvMsg{i}")

        results.append(await measure("slack-help", tally, help_, events))
        results.append(await measure("slack-message", tally, message, events))
    await steward.stop()
    await fake.stop()
    return results


async def matrix(db: Database, tally: Tally, tmp: Path, events: int) -> list[Result]:
    """`!steward help` as the Matrix adapter dispatches it, and its sync-token write."""
    config = Config(data_dir=tmp, communities=(CommunityConfig(slug="bench", channels=("matrix:!room:hs",)),))
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter(platform="matrix", user_id="@steward:hs")
    steward.add_adapter(platform)
    await steward.start_adapters()

    async def help_(i: int) -> None:
        await platform.inject(MessagePosted(
            event_id=f"$help{i}", platform="matrix", channel="!room:hs", message_id=f"$help{i}",
            sender=Sender(id=f"@member{i % 5}:hs", display_name="Member"), text="!steward help",
            addressed=True, command_text="help"))

    async def token(i: int) -> None:
        from storage import matrix as store

        async with db.session() as session:
            await store.set_state(session, "sync_token", f"s{i}")

    results = [await measure("matrix-help", tally, help_, events),
               await measure("matrix-sync", tally, token, events)]
    results[-1].name = "(matrix sync token, per sync batch)"
    await steward.stop()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="a fresh database on 127.0.0.1:5432")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="list one event's statements")
    args = parser.parse_args()
    tally = Tally()
    count_hops(tally)
    prepared.WATCHERS.append(lambda sql: tally.note(" ".join(sql.split())[:110]))  # around SQLAlchemy's events
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}; {args.events} events of each kind, "
          "one at a time, after 5 of warm-up")
    for scenario in (slack, matrix):
        tmp = Path(tempfile.mkdtemp(prefix="steward-trips-"))
        db, drop = await open_db(args.postgres, tmp)
        listen(db.engine, tally)
        try:
            for result in await scenario(db, tally, tmp, args.events):
                report(result, not args.postgres, args.show)
        finally:
            await db.dispose()
            await asyncio.to_thread(drop)


if __name__ == "__main__":
    asyncio.run(main())
