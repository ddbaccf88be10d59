"""Slack adapter throughput: signed `app_mention` events handled per second and ack latency.

Three servers are measured in the same run, each in its own process, against the same fake Slack Web
API and load generator (this process), on loopback only:
  - steward: the real SlackAdapter + Steward (inbox write before ack, dispatch, help reply posted)
  - bare:    a bare slack-bolt AsyncApp that acks and posts a fixed reply (`say`)
  - floor:   the bare app plus the least any exactly-once design must write, in hand-written SQL on the
             same database (asyncpg or the stdlib's sqlite3, no ORM): the delivery kept before the ack,
             then one statement that claims it and keeps the reply, the post, and the reply crossed out.
             Three round trips per event; what no feature, no core and no ORM can go under.
Each event is "handled" when its reply reaches the fake `chat.postMessage`. Each server also reports the
CPU time its process spent per event (all its threads), and Steward the database round trips per event.

    .venv/bin/python bench/slack_throughput.py [--events 1500] [--concurrency 32] [--channels 8] [--postgres]

With `--postgres`, Steward runs on a fresh database on 127.0.0.1:5432 (made like the tests' own, dropped
after); the default is SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.slack.conftest import ENV, SECRET, event_body, sign
from tests.slack.fake_slack import FakeSlack


def serve(kind: str, base_url: str, channels: int, database: str | None, conn: Connection) -> None:
    """Child process: run one server until the parent says stop (under cProfile when
    STEWARD_BENCH_PROFILE names a directory: `<dir>/<kind>.prof`; its pid in `<dir>/<kind>.pid` when
    STEWARD_BENCH_PIDS names one, for a sampling profiler such as py-spy)."""
    pid_dir = os.environ.get("STEWARD_BENCH_PIDS")
    if pid_dir:
        Path(pid_dir, f"{kind}.pid").write_text(str(os.getpid()))
    profile_dir = os.environ.get("STEWARD_BENCH_PROFILE")
    if not profile_dir:
        asyncio.run(_serve(kind, base_url, channels, database, conn))
        return
    import cProfile

    # CPU time, not wall time: on a shared machine a wall-clock profile charges whatever function was
    # running when the process lost its core (a 0.5 s stall once made a 3 µs regex look like the hot spot)
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(asyncio.run, _serve(kind, base_url, channels, database, conn))
    profiler.dump_stats(os.path.join(profile_dir, f"{kind}.prof"))


async def _serve(kind: str, base_url: str, channels: int, database: str | None, conn: Connection) -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)
    stop: Any
    trips: dict[str, int] = {}
    if kind == "steward":
        from adapters.slack.adapter import SlackAdapter
        from adapters.slack.pacing import Limits
        from app.runtime import sync_communities
        from bot.config import CommunityConfig, Config, SlackConfig
        from bot.core import Steward
        from bot.features import build_router
        from storage.db import Database

        tmp = tempfile.mkdtemp(prefix="steward-bench-")
        db = Database(database or f"sqlite+aiosqlite:///{tmp}/steward.db")
        await db.upgrade()
        config = Config(data_dir=Path(tmp), slack=SlackConfig(port=0), communities=(CommunityConfig(
            slug="bench", channels=tuple(f"slack:C{i}" for i in range(channels))),))
        steward = Steward(db, config, build_router())
        await sync_communities(steward)
        # Unpaced: Slack's 1 msg/s per channel would measure Slack's limit, not Steward.
        adapter = SlackAdapter.from_config(config, db=db, base_url=base_url, env=ENV, limits=Limits.unpaced())
        steward.add_adapter(adapter)
        await steward.start_adapters()
        port = adapter.port
        trips = count_round_trips(db)

        async def stop() -> None:
            await steward.stop()
            await db.dispose()
    else:
        from aiohttp import web
        from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
        from slack_bolt.async_app import AsyncApp, AsyncSay
        from slack_sdk.web.async_client import AsyncWebClient

        session = aiohttp.ClientSession()
        app = AsyncApp(client=AsyncWebClient(token=ENV["SLACK_BOT_TOKEN"], base_url=base_url, session=session),
                       signing_secret=SECRET)
        ledger = await Ledger.open(database) if kind == "floor" else None
        if ledger is not None:
            @app.middleware
            async def keep(body: dict[str, Any], next: Any) -> Any:  # bolt passes the chain by this name
                await ledger.keep(body["event_id"], json.dumps(body))  # before the ack, as Steward's inbox
                return await next()

        @app.event("app_mention")
        async def mention(event: dict[str, Any], body: dict[str, Any], say: AsyncSay) -> None:
            text = "Hi! I'm a bare bolt app."
            if ledger is None:
                await say(text=text, thread_ts=event["ts"])
                return
            reply = await ledger.claim(body["event_id"], text)
            if reply is not None:
                await say(text=text, thread_ts=event["ts"])
                await ledger.cross_out(reply)

        async def handle(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

        web_app = web.Application()
        web_app.router.add_post("/slack/events", handle)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        async def stop() -> None:
            await runner.cleanup()
            await session.close()
            if ledger is not None:
                await ledger.close()

    conn.send(port)
    cpu = time.process_time()
    await asyncio.to_thread(conn.recv)
    trips["cpu_ms"] = round(1000 * (time.process_time() - cpu))  # every thread of the server process
    await stop()
    conn.send(dict(trips))


class Ledger:
    """The floor's inbox and outbox: one table each, three statements per event."""

    def __init__(self, pool: Any, lite: Any) -> None:
        self.pool, self.lite = pool, lite

    @classmethod
    async def open(cls, database: str | None) -> Ledger:
        inbox = "CREATE TABLE floor_inbox (event_id TEXT PRIMARY KEY, body TEXT NOT NULL, done BOOLEAN NOT NULL)"
        outbox = ("CREATE TABLE floor_outbox (id {} PRIMARY KEY, event_id TEXT NOT NULL, body TEXT NOT NULL, "
                  "sent BOOLEAN NOT NULL)")
        if database is None:
            import sqlite3

            lite = sqlite3.connect(os.path.join(tempfile.mkdtemp(prefix="steward-floor-"), "floor.db"),
                                   isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):  # Steward's own settings
                lite.execute(f"PRAGMA {pragma}")
            lite.execute(inbox)
            lite.execute(outbox.format("INTEGER"))
            return cls(None, lite)
        import asyncpg

        pool = await asyncpg.create_pool(database.replace("postgresql+asyncpg", "postgresql"), min_size=10,
                                         max_size=10)
        async with pool.acquire() as conn:
            await conn.execute("DROP TABLE IF EXISTS floor_inbox; DROP TABLE IF EXISTS floor_outbox")
            await conn.execute(inbox)
            await conn.execute(outbox.format("BIGSERIAL"))
        return cls(pool, None)

    async def keep(self, event_id: str, body: str) -> None:
        sql = "INSERT INTO floor_inbox VALUES ({}, {}, FALSE) ON CONFLICT DO NOTHING"
        if self.lite is not None:
            self.lite.execute(sql.format("?", "?"), (event_id, body))
        else:
            await self.pool.execute(sql.format("$1", "$2"), event_id, body)

    async def claim(self, event_id: str, reply: str) -> int | None:
        """Turn the delivery done and keep its reply, atomically: the reply's id, None if done before."""
        if self.lite is not None:
            with self.lite:  # one transaction (SQLite has no UPDATE in a CTE)
                self.lite.execute("BEGIN IMMEDIATE")
                if self.lite.execute("UPDATE floor_inbox SET done = TRUE WHERE event_id = ? AND NOT done",
                                     (event_id,)).rowcount == 0:
                    return None
                return self.lite.execute("INSERT INTO floor_outbox (event_id, body, sent) VALUES (?, ?, FALSE)",
                                         (event_id, reply)).lastrowid
        row = await self.pool.fetchval(
            "WITH claimed AS (UPDATE floor_inbox SET done = TRUE WHERE event_id = $1 AND NOT done RETURNING event_id)"
            " INSERT INTO floor_outbox (event_id, body, sent) SELECT event_id, $2, FALSE FROM claimed RETURNING id",
            event_id, reply)
        return None if row is None else int(row)

    async def cross_out(self, reply: int) -> None:
        sql = "UPDATE floor_outbox SET sent = TRUE WHERE id = {}"
        if self.lite is not None:
            self.lite.execute(sql.format("?"), (reply,))
        else:
            await self.pool.execute(sql.format("$1"), reply)

    async def close(self) -> None:
        if self.pool is not None:
            async with self.pool.acquire() as conn:
                await conn.execute("DROP TABLE floor_inbox; DROP TABLE floor_outbox")
            await self.pool.close()
        else:
            self.lite.close()


def count_round_trips(db: Any) -> dict[str, int]:
    """Count what Steward sends its database from now on: statements (with SQLite's BEGIN), and on
    PostgreSQL the BEGINs and pings the driver sends on its own; commits and rollbacks everywhere."""
    from sqlalchemy import event

    trips = {"round_trips": 0}

    def one(*_: Any) -> None:
        trips["round_trips"] += 1

    from storage import prepared

    sync = db.engine.sync_engine
    event.listen(sync, "before_cursor_execute", one)
    prepared.WATCHERS.append(one)  # the hot statements go around SQLAlchemy's events
    event.listen(sync, "commit", one)
    event.listen(sync, "rollback", one)
    if not db.is_sqlite:
        event.listen(sync, "begin", one)
    if getattr(sync.pool, "_pre_ping", False):  # older code: a ping at every checkout
        event.listen(sync.pool, "checkout", one)
    return trips


async def load(kind: str, fake: FakeSlack, events: int, concurrency: int, channels: int,
               database: str | None) -> dict[str, float]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(kind, fake.base_url, channels, database, child))
    process.start()
    port = await asyncio.to_thread(parent.recv)
    url = f"http://127.0.0.1:{port}/slack/events"
    before = len(fake.called("chat.postMessage"))
    bodies = []
    for i in range(events):
        ts = f"1700000000.{i:06d}"
        event = {"type": "app_mention", "user": f"U{i % 50:03d}", "text": "<@UBOT> help",
                 "channel": f"C{i % channels}", "ts": ts, "event_ts": ts}
        bodies.append(json.dumps(event_body(event, event_id=f"Ev{kind}{i:07d}")))
    latencies: list[float] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            headers = {"Content-Type": "application/json", **sign(body)}
            t0 = time.perf_counter()
            async with session.post(url, data=body.encode(), headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(time.perf_counter() - t0)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # warm-up: first request pays bolt's auth.test and imports
        warm = json.dumps(event_body({"type": "app_mention", "user": "UWARM", "text": "<@UBOT> help",
                                      "channel": "C0", "ts": "1600000000.000001"}, event_id=f"Ev{kind}warm"))
        async with session.post(url, data=warm.encode(),
                                headers={"Content-Type": "application/json", **sign(warm)}) as r:
            await r.read()
        await fake.wait_calls("chat.postMessage", before + 1, 30)
        before = len(fake.called("chat.postMessage"))
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        acked = time.perf_counter()
        await fake.wait_calls("chat.postMessage", before + events, 300)
        done = time.perf_counter()
    handled = len(fake.called("chat.postMessage")) - before
    parent.send("stop")
    trips = await asyncio.to_thread(parent.recv)
    process.join(30)
    latencies.sort()
    return {"handled": handled, "trips_per_event": trips.get("round_trips", 0) / (events + 1),
            "cpu_ms_per_event": trips["cpu_ms"] / (events + 1),
            "acks_per_s": events / (acked - start), "handled_per_s": handled / (done - start),
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--postgres", action="store_true", help="Steward on a fresh database on 127.0.0.1:5432")
    args = parser.parse_args()
    database = None
    if args.postgres:
        from tests.conftest import create_pg_database

        database = await asyncio.to_thread(create_pg_database, "steward_bench")
    fake = FakeSlack()
    await fake.start()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    print(f"{args.events} signed app_mention events, {args.concurrency} concurrent senders, "
          f"{args.channels} channels, loopback, {'PostgreSQL' if database else 'SQLite'}")
    results = {}
    for kind in ("bare", "floor", "steward"):
        results[kind] = r = await load(kind, fake, args.events, args.concurrency, args.channels, database)
        trips = f"  {r['cpu_ms_per_event']:.2f} ms CPU/event"
        trips += f"  {r['trips_per_event']:.1f} db round trips/event" if r["trips_per_event"] else ""
        print(f"{kind:8s} handled {r['handled']:.0f}/{args.events}  {r['handled_per_s']:7.1f} events/s handled  "
              f"{r['acks_per_s']:7.1f} acks/s  ack p50 {r['p50_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms{trips}")
    bare, floor, ours = results["bare"], results["floor"], results["steward"]
    print(f"ratio: steward handles {ours['handled_per_s'] / bare['handled_per_s']:.2f}x the bare app's events/s "
          f"({bare['handled_per_s'] / ours['handled_per_s']:.2f}x slower); "
          f"ack p50 x{ours['p50_ms'] / bare['p50_ms']:.2f}, p95 x{ours['p95_ms'] / bare['p95_ms']:.2f}")
    print(f"floor: the least durable app handles {floor['handled_per_s'] / bare['handled_per_s']:.2f}x the bare app's "
          f"events/s; steward {ours['handled_per_s'] / floor['handled_per_s']:.2f}x the floor's")
    await fake.stop()
    if database:
        from tests.conftest import drop_pg_database

        await asyncio.to_thread(drop_pg_database, database)


if __name__ == "__main__":
    asyncio.run(main())
