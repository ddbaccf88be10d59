"""Two `steward run` processes on one PostgreSQL behind one Slack: process A is killed with SIGKILL during a
burst and not restarted. B takes over what A had acknowledged but not handled, and the replies A had kept but
not sent, within seconds (`Intake.replay` every 3 s, `Delivery.adopt` every 5 s). When A comes back it sends
nothing B already sent: the only duplicates are the at-least-once window (sent by A, not yet crossed out)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from storage.db import Database
from tests.conftest import BACKEND
from tests.crash.scenarios import (
    Deliveries,
    Tripwire,
    count_slack,
    events_url,
    mention,
    slack_child,
    until,
    waiting_rows,
)
from tests.slack.fake_slack import FakeSlack

pytestmark = [pytest.mark.crash,
              pytest.mark.skipif(BACKEND != "postgres", reason="several processes share PostgreSQL only")]
CHANNELS = ("C0", "C1", "C2", "C3", "C4")
QUESTIONS = 20
TAKEOVER_WITHIN = 20.0  # seconds: the adopters look every 3 and 5 s; pacing (1 post/s per channel) adds a few


async def test_a_live_process_takes_over_a_killed_ones_work(fake_slack: FakeSlack, db: Database, database_url: str,
                                                            tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    a = slack_child(tmp_path, "steward-a", fake_slack, CHANNELS, database_url, token="xoxb-process-a")
    b = slack_child(tmp_path, "steward-b", fake_slack, CHANNELS, database_url, token="xoxb-process-b")
    # One after the other: two processes starting together on an empty database race in
    # bot/runtime.py sync_communities (both insert community `k8s`; the loser stops on a unique violation).
    a.start()
    await a.ready()
    b.start()
    await b.ready()
    url_a, url_b = events_url(a), events_url(b)
    wire, nth = Tripwire(a), rng.randint(1, 2)
    wire.arm("send", nth)  # A dies as Slack accepts its nth reply: A never hears the answer
    fake_slack.on_call = lambda call: wire.hit("send") if (call.method, call.token) == (
        "chat.postMessage", "xoxb-process-a") else None
    asked: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:
        load = Deliveries(session, within=60)

        def route(index: int) -> Callable[[int], str]:  # even events go to A first; every retry goes to B (A is gone)
            return lambda attempt: url_a if index % 2 == 0 and attempt == 0 and a.alive else url_b

        sending = []
        for index in range(QUESTIONS):
            event_id, ts, body = mention(index, CHANNELS, seed)
            asked[event_id] = ts
            sending.append(asyncio.create_task(load.deliver(event_id, body, route(index))))
            await asyncio.sleep(rng.uniform(0.0, 0.01))  # a burst: A has work queued when it dies
        await asyncio.wait_for(wire.fired.wait(), 30)
        killed_at = time.monotonic()
        await asyncio.gather(*sending)
    fake_slack.on_call = None
    acked_by_a = [e for e, url in load.acked_by.items() if url == url_a]

    async def complete() -> bool:
        replies, _ = count_slack(fake_slack, asked, [])
        return all(replies.values()) and await waiting_rows(db) == 0

    assert await until(complete, TAKEOVER_WITHIN + 10), f"not all answered:\n{b.tail()}"
    takeover = time.monotonic() - killed_at
    replies, _ = count_slack(fake_slack, asked, [])
    duplicates = sum(n - 1 for n in replies.values() if n > 1)
    print(f"seed {seed}: A killed at its reply #{nth}; A had acknowledged {len(acked_by_a)} of {QUESTIONS}; "
          f"B took over {b.replayed()} deliveries and {b.adopted()} replies; everything answered "
          f"{takeover:.1f}s after the kill; duplicates {duplicates}; retried deliveries {load.retried}")
    assert takeover <= TAKEOVER_WITHIN
    assert b.replayed() + b.adopted() >= 1, "B took nothing over: the kill came after A had finished"
    assert duplicates <= b.adopted()

    restart = await a.restart()  # A comes back: its work is B's now, nothing of it is sent again
    await asyncio.sleep(6.0)  # more than one adoption round of each process
    again, _ = count_slack(fake_slack, asked, [])
    print(f"A restarted in {restart:.1f}s; replies after: {sum(again.values())} (before: {sum(replies.values())})")
    assert again == replies
    assert a.adopted() == 0 and a.replayed() == 0
    a.stop()
    b.stop()
