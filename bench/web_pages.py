"""The web pages at scale: a community of 1,000,000 messages (10,000 members, 50 channels, 12 months), each page
timed through the real aiohttp server and the session cookie, as a browser asks for it.

The database is written directly (bulk INSERTs: a third of the messages are question roots, most answered in
their thread; 100,000 reactions; 50,000 contributions; then ANALYZE), then the operator signs in
with a one-time link and each page is fetched: once cold (a new process's first view, computing every month's
figures), then `--runs` times.

Without ANALYZE statistics, SQLite answers the digest's question-thread query (storage/digest.py, a correlated
`min(reply.posted_at)`) through `ix_message_posted` — its min() shortcut — instead of `ix_message_thread`, scanning
the community's history once per question: 14 s for one month of a 20,000-message community. `PRAGMA optimize`,
which an import runs, does not analyze on a fresh connection (SQLite 3.40), so a database may lack them.

    .venv/bin/python bench/web_pages.py --db /tmp/web-scale/steward.db            # builds the database once
    .venv/bin/python bench/web_pages.py --db /tmp/web-scale/steward.db --runs 100
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, insert, select

from app.cli_web import operator_link
from app.web.routes import Web
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.features import build_router
from storage.bulk import analyze
from storage.communities import ensure_channel, ensure_community
from storage.db import Database
from storage.models import Contribution, Member, Message, Reaction

NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)
START = datetime(2025, 11, 1, tzinfo=UTC)
PAGES = ("/web/c/synth/", "/web/c/synth/?month=2026-09", "/web/c/synth/digests", "/web/c/synth/digests/2026-10",
         "/web/portfolio", "/web/c/synth/rituals")


async def build(db: Database, members: int, messages: int) -> None:
    """Write the synthetic community (deterministic, seed 7)."""
    rng = random.Random(7)
    async with db.session() as session:
        community = await ensure_community(session, "synth", name="Synthetic CoP", timezone="UTC")
        channels = [await ensure_channel(session, community, "slack", f"C{i:03}", name=f"#c{i}") for i in range(50)]
        cid = community.id or 0
    member_t, message_t = Member.__table__, Message.__table__  # type: ignore[attr-defined]
    reaction_t, contribution_t = Reaction.__table__, Contribution.__table__  # type: ignore[attr-defined]
    async with db.engine.begin() as conn:
        await conn.execute(insert(member_t), [
            {"community_id": cid, "platform": "slack", "platform_user_id": f"U{i:05}", "display_name": f"Member {i}",
             "opted_out": False, "is_bot": False, "deleted": False,
             "joined_at": START - timedelta(days=rng.randint(0, 700)), "created_at": START} for i in range(members)])
        ids = [row[0] for row in await conn.execute(select(member_t.c.id).where(member_t.c.community_id == cid))]
    weights = list(itertools.accumulate(1 / (k + 1) ** 1.1 for k in range(len(ids))))  # Zipf-like activity
    span = (NOW.replace(day=1) - START).total_seconds()
    written, batch, roots = 0, [], []
    while written < messages:
        at = START + timedelta(seconds=rng.random() * span)
        author = rng.choices(ids, cum_weights=weights)[0]
        channel = rng.choice(channels).id or 0
        if roots and rng.random() < 0.66:
            root_id, root_at, root_channel = rng.choice(roots[-2000:])
            batch.append({"community_id": cid, "channel_id": root_channel, "author_id": author,
                          "platform_id": f"m{written}", "thread_id": root_id, "text": "an answer with words",
                          "posted_at": root_at + timedelta(minutes=rng.randint(5, 3000))})
        else:
            root = f"m{written}"
            roots.append((root, at, channel))
            batch.append({"community_id": cid, "channel_id": channel, "author_id": author, "platform_id": root,
                          "thread_id": None, "text": "how do we do this thing?", "posted_at": at})
        written += 1
        if len(batch) == 20_000 or written == messages:
            async with db.engine.begin() as conn:
                await conn.execute(insert(message_t), batch)
            batch = []
    async with db.engine.begin() as conn:
        low, high = (await conn.execute(select(func.min(message_t.c.id), func.max(message_t.c.id)))).one()
        seen: set[tuple[int, int]] = set()
        reactions = []
        while len(reactions) < messages // 10:
            pair = (rng.randint(low, high), rng.choice(ids))
            if pair not in seen:
                seen.add(pair)
                reactions.append({"message_id": pair[0], "member_id": pair[1], "emoji": "pray",
                                  "at": START + timedelta(seconds=rng.random() * span)})
        await conn.execute(insert(reaction_t), reactions)
        await conn.execute(insert(contribution_t), [
            {"community_id": cid, "member_id": rng.choices(ids, cum_weights=weights)[0], "kind": "answered",
             "at": START + timedelta(seconds=rng.random() * span), "evidence_url": "", "note": ""}
            for _ in range(messages // 20)])
        await analyze(conn)  # what an import runs (bot/importer.py) ...
        await conn.exec_driver_sql("ANALYZE")  # ... and the statistics it does not always leave on SQLite (below)


async def main(path: Path, runs: int, members: int, messages: int, fresh: bool, warm_first: bool) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    config = Config(data_dir=path.parent, communities=(CommunityConfig(slug="synth", name="Synthetic CoP"),))
    steward = Steward(db, config, build_router())
    if fresh:
        started = time.perf_counter()
        await build(db, members, messages)
        print(f"built {messages:,} messages in {time.perf_counter() - started:.0f} s")
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(Message))).one()[0]  # type: ignore[call-overload]
    app = web.Application()
    pages = Web(steward, now=lambda: NOW)
    app.router.add_routes(pages.routes())
    client: TestClient = TestClient(TestServer(app))  # type: ignore[type-arg]
    await client.start_server()
    try:
        link = await operator_link(steward, "synth", None, "")
        async with client.post(link, allow_redirects=False) as signed:
            assert signed.status == 303
        print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"{total:,} messages, {members:,} members; SQLite")
        if warm_first:
            started = time.perf_counter()
            await pages.warm()
            print(f"warm-up at start (every finished month of the health page, in the background): "
                  f"{time.perf_counter() - started:.1f} s")
        print("| page | first view | p50 | p95 | max |")
        print("|---|---|---|---|---|")
        for page in PAGES:
            times = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                async with client.get(page) as response:
                    assert response.status == 200, (page, await response.text())
                    await response.read()
                times.append(time.perf_counter() - started)
            cold, warm = times[0], sorted(times[1:])
            p95 = warm[min(len(warm) - 1, int(0.95 * len(warm)))]
            print(f"| `{page}` | {cold * 1000:.0f} ms | {statistics.median(warm) * 1000:.0f} ms | "
                  f"{p95 * 1000:.0f} ms | {warm[-1] * 1000:.0f} ms |")
    finally:
        await client.close()
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path("/tmp/web-scale/steward.db"))
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--warm", action="store_true", help="run the start's warm-up first, then time the pages")
    args = parser.parse_args()
    new = not args.db.exists()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(args.db, args.runs, args.members, args.messages, new, args.warm))
