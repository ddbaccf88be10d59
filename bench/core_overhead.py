"""The core's cost per event, in-process on SQLite: a command that is answered, and a plain message.

    python -m bench.core_overhead [--events 400]

Events go through the recording adapter into `Steward.dispatch` (dedupe claim, context, handlers,
reply kept in `pending_reply`, commit, delivery); the first 20 of each kind warm up and are not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.events import MessagePosted
from bot.features import build_router
from storage.db import Database
from tests.events import command, message

WARM_UP = 20


async def run(n: int) -> None:
    """Dispatch n commands then n messages; print ms per event for each."""
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite+aiosqlite:///{tmp}/steward.db")
    await db.upgrade()
    config = Config(data_dir=tmp, communities=(CommunityConfig(slug="k8s", name="K", channels=("recording:C1",)),))
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    kinds: dict[str, list[MessagePosted]] = {
        "command answered (help)": [command("help", user=f"U{i % 50}") for i in range(n)],
        "plain message (indexed)": [message(f"a message about helm {i}", user=f"U{i % 50}") for i in range(n)],
    }
    for name, events in kinds.items():
        for event in events[:WARM_UP]:
            await platform.inject(event)
        t, cpu = time.perf_counter(), time.process_time()
        for event in events[WARM_UP:]:
            await platform.inject(event)
        # CPU time too: on a shared machine the wall clock also counts the time other processes had the core
        print(f"{name}: {(time.perf_counter() - t) / (n - WARM_UP) * 1000:.2f} ms/event, "
              f"{(time.process_time() - cpu) / (n - WARM_UP) * 1000:.2f} ms CPU/event")
    await steward.stop()
    await db.dispose()


def main() -> None:
    """Parse arguments and run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=400)
    asyncio.run(run(ap.parse_args().events))


if __name__ == "__main__":
    main()
