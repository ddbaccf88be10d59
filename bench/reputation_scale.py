"""Reputation at scale: the post-import ledger pass, everyone's reputation, and one explanation.

    cp /tmp/sd-scale/steward.db /tmp/rep-scale.db
    .venv/bin/python bench/reputation_scale.py --db /tmp/rep-scale.db --community synth --prepare

The synthetic community (10,000 members, 1,000,000 messages; /work/shared/data/gen_synthetic.py) has
no question marks and no links, so `--prepare` first appends "?" to one thread root in three and a
link to one message in fifty (once; a marker row records it). Targets: everyone's reputation ≤ 5 s,
one member's explanation ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from bot.importer import derive_ledger
from bot.reputation.scores import explain, reputation
from storage.communities import get_community
from storage.db import Database, resolve_url


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[list[float], Any]:
    """Durations (s) of `runs` calls, and the last result."""
    out, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = await fn()
        out.append(time.perf_counter() - start)
    return out, result


async def prepare(db: Database, community_id: int) -> None:
    async with db.engine.begin() as conn:
        done = await conn.execute(text("SELECT 1 FROM adapter_state WHERE platform = 'bench' AND key = 'rep-prep'"))
        if done.first():
            return
        await conn.execute(text("UPDATE message SET text = text || ' ?' WHERE community_id = :c "
                                "AND thread_id IS NULL AND id % 3 = 0"), {"c": community_id})
        await conn.execute(text("UPDATE message SET text = text || ' see https://example.org/doc' "
                                "WHERE community_id = :c AND id % 50 = 7"), {"c": community_id})
        await conn.execute(text("INSERT INTO adapter_state (platform, key, value, updated_at) "
                                "VALUES ('bench', 'rep-prep', 'done', CURRENT_TIMESTAMP)"))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="/tmp/rep-scale.db", help="SQLite file (or a database URL)")
    parser.add_argument("--community", default="synth")
    parser.add_argument("--prepare", action="store_true", help="add question marks and links (see docstring)")
    args = parser.parse_args()
    url = args.db if "://" in args.db else f"sqlite:///{args.db}"
    db = Database(resolve_url(url, data_dir=__import__("pathlib").Path("/tmp")))
    start = time.perf_counter()
    await db.upgrade()
    print(f"migrations: {time.perf_counter() - start:.1f} s")
    async with db.session() as session:
        community = await get_community(session, args.community)
        assert community is not None and community.id is not None, "import the synthetic community first"
        cid = community.id
        counts = (await session.exec(text(  # type: ignore[call-overload]
            "SELECT (SELECT count(*) FROM message WHERE community_id = :c), "
            "(SELECT count(*) FROM member WHERE community_id = :c)").bindparams(c=cid))).one()
    print(f"community {args.community}: {counts[0]:,} messages, {counts[1]:,} members")
    if args.prepare:
        await prepare(db, cid)
    first, summary = await timed(lambda: derive_ledger(db, cid), 1)
    print(f"ledger pass (first): {first[0]:.2f} s, added {summary.added}, steps {summary.steps}")
    again, summary = await timed(lambda: derive_ledger(db, cid), 1)
    print(f"ledger pass (again, idempotent): {again[0]:.2f} s, added {summary.added}")
    async with db.session() as session:
        total = (await session.exec(text("SELECT count(*) FROM contribution WHERE community_id = :c")  # type: ignore[call-overload]
                                    .bindparams(c=cid))).one()[0]
    print(f"ledger entries: {total:,}")

    async def everyone() -> dict[int, float]:
        async with db.session() as session:
            return await reputation(session, cid)

    runs, scores = await timed(everyone, 3)
    print(f"reputation of every member: {min(runs):.2f} s best, {statistics.median(runs):.2f} s median "
          f"({len(scores):,} members with a score)")
    ranked = sorted(scores, key=lambda m: -scores[m])
    top_topic = None
    async with db.session() as session:
        row = (await session.exec(text("SELECT topic FROM contribution WHERE community_id = :c AND topic <> '' "  # type: ignore[call-overload]
                                       "LIMIT 1").bindparams(c=cid))).first()
        top_topic = row[0].split()[0] if row else None
    if top_topic:
        async def on_topic() -> dict[int, float]:
            async with db.session() as session:
                return await reputation(session, cid, topic=top_topic)

        runs, on = await timed(on_topic, 3)
        print(f"reputation of every member on “{top_topic}”: {statistics.median(runs):.2f} s median "
              f"({len(on):,} members)")
    for label, member in (("top member", ranked[0]), ("median member", ranked[len(ranked) // 2])):
        async def one(member: int = member) -> Any:
            async with db.session() as session:
                return await explain(session, member)

        runs, why = await timed(one, 20)
        assert abs(why.score - scores[member]) < 1e-6
        print(f"explanation of the {label} ({len(why.lines)} entries, score {why.score:.1f}): "
              f"{statistics.median(runs) * 1000:.1f} ms median, {max(runs) * 1000:.1f} ms max")
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
