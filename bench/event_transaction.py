"""CPU of one event's transaction, piece by piece: session, BEGIN, claim, sender look-up, outbox insert, cross-out.

    python -m bench.event_transaction [--events 1500] [--postgres]

Each line adds one piece to the transaction before it and prints the process CPU per transaction (CPU time,
not wall time: the machine is shared), so the difference is that piece's cost on the client side.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

from storage import members, outbox
from storage.db import Database
from storage.inbound import claim

LABELS = ("session only", "+ connection (BEGIN)", "+ claim", "+ sender and tombstone", "+ outbox insert",
          "+ cross-out")


async def run(n: int, postgres: bool) -> None:
    """Time each cumulative step over `n` transactions (after 100 of warm-up); print ms CPU per transaction."""
    url = None
    if postgres:
        from tests.conftest import create_pg_database

        url = await asyncio.to_thread(create_pg_database, "steward_bench_tx")
    db = Database(url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/steward.db")
    await db.upgrade()
    ids: list[int] = []

    async def step(k: int, i: int) -> None:
        async with db.session() as s:
            if k >= 1:
                await s.connection()
            if k >= 2:
                await claim(s, f"e{k}-{i}", "slack")
            if k >= 3:
                await members.find_sender(s, 1, "slack", f"U{i % 50}", "digest")
            if k >= 4:
                ids.extend(await outbox.keep(s, "me", "slack", f"e{k}-{i}", [outbox.Entry("C1", "x" * 2000)]))
            if k >= 5 and ids:
                await outbox.cross_out(s, [(ids.pop(0), False, None, None)])

    previous = 0.0
    for k, label in enumerate(LABELS):
        for i in range(100):
            await step(k, -i - 1)
        cpu = time.process_time()
        for i in range(n):
            await step(k, i)
        ms = 1000 * (time.process_time() - cpu) / n
        print(f"{label:24s} {ms:.3f} ms CPU  (+{ms - previous:.3f})")
        previous = ms
    await db.dispose()
    if url:
        from tests.conftest import drop_pg_database

        await asyncio.to_thread(drop_pg_database, url)


def main() -> None:
    """Parse arguments and run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1500)
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    asyncio.run(run(args.events, args.postgres))


if __name__ == "__main__":
    main()
