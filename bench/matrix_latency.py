"""Matrix latency: a member's message → the bot's reply, on a local Synapse, Steward vs a minimal nio echo bot.

    .venv/bin/python bench/matrix_latency.py [--rounds 200] [--encrypted]

Both bots run in this process on the same homeserver; the member alternates between them so both see
the same conditions. Steward answers `!steward help` (dedupe claim, context, routing, help text, HTML
rendering, outbox write, send); the echo bot answers with a notice in the thread. The difference of
the medians is Steward's overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nio import AsyncClient, AsyncClientConfig, MatrixRoom, RoomMessageText, SyncResponse

from adapters.matrix.adapter import MatrixAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config, MatrixConfig
from bot.core import Steward
from bot.features import build_router
from storage.db import Database
from tests.matrix.homeserver import Account, Synapse


def _client(url: str, account: Account, store: Path, encrypted: bool = False) -> AsyncClient:
    store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(url, account.user_id, device_id=account.device_id, store_path=str(store),
                         config=AsyncClientConfig(encryption_enabled=encrypted, store_sync_tokens=False))
    client.restore_login(account.user_id, account.device_id, account.access_token)
    return client


async def echo_bot(client: AsyncClient) -> asyncio.Task[None]:
    """The minimal nio bot: skip history, answer each text message with a notice in its thread."""
    await client.sync(timeout=0, full_state=True)

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == client.user_id:
            return
        await client.room_send(room.room_id, "m.room.message", {
            "msgtype": "m.notice", "body": f"echo: {event.body}",
            "m.relates_to": {"rel_type": "m.thread", "event_id": event.event_id}}, ignore_unverified_devices=True)

    client.add_event_callback(on_message, RoomMessageText)  # type: ignore[arg-type]
    return asyncio.create_task(client.sync_forever(timeout=30_000))


class Member:
    """The person timing round trips with a long-polling client."""

    def __init__(self, client: AsyncClient) -> None:
        self.client, self.since = client, None

    async def start(self) -> None:
        resp = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(resp, SyncResponse)
        self.since = resp.next_batch
        await self.crypto()

    async def crypto(self) -> None:
        if not self.client.olm:
            return
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())
        await self.client.send_to_device_messages()

    async def round_trip(self, room: str, bot: str, text: str) -> float:
        start = time.perf_counter()
        sent = await self.client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text},
                                           ignore_unverified_devices=True)
        event_id = getattr(sent, "event_id", None)
        assert event_id, sent
        while True:
            resp = await self.client.sync(timeout=30_000, since=self.since)
            assert isinstance(resp, SyncResponse), resp
            self.since = resp.next_batch
            await self.crypto()
            info = resp.rooms.join.get(room)
            for event in info.timeline.events if info else ():
                relates = event.source.get("content", {}).get("m.relates_to", {})
                if event.sender == bot and relates.get("event_id") == event_id:
                    return (time.perf_counter() - start) * 1000


async def wait_joined(member: Member, room: str, user: str) -> None:
    while True:
        joined = await member.client.joined_members(room)
        if any(m.user_id == user for m in getattr(joined, "members", [])):
            return
        await asyncio.sleep(0.1)


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"{name:<10} n={len(samples):<4} median {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms"


async def main(rounds: int, encrypted: bool) -> None:
    logging.basicConfig(level=logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="steward-bench-"))
    synapse = Synapse(workdir / "synapse")
    synapse.start()
    try:
        ana, echo, bot = (synapse.register(n) for n in ("ana", "echo", "steward"))
        member = Member(_client(synapse.url, ana, workdir / "ana", encrypted))
        state = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
        rooms = {}
        for name, account in (("steward", bot), ("echo", echo)):
            resp = await member.client.room_create(name=name, invite=[account.user_id],
                                                   initial_state=state if encrypted else [])
            rooms[name] = resp.room_id  # type: ignore[union-attr]
        echo_client = _client(synapse.url, echo, workdir / "echo", encrypted)
        await echo_client.join(rooms["echo"])
        echo_task = await echo_bot(echo_client)

        os.environ["MATRIX_ACCESS_TOKEN"] = bot.access_token
        settings = MatrixConfig(homeserver=synapse.url, user_id=bot.user_id, allowed_inviters=(ana.user_id,),
                                encryption=encrypted)
        config = Config(data_dir=workdir, matrix=settings, communities=(
            CommunityConfig(slug="bench", channels=(f"matrix:{rooms['steward']}",)),))
        db = Database(f"sqlite+aiosqlite:///{workdir / 'steward.db'}")
        await db.upgrade()
        steward = Steward(db, config, build_router())
        await sync_communities(steward)
        steward.add_adapter(MatrixAdapter(settings, db, workdir, channels=frozenset({rooms["steward"]})))
        await steward.start_adapters()

        await member.start()
        await wait_joined(member, rooms["steward"], bot.user_id)
        await wait_joined(member, rooms["echo"], echo.user_id)
        await member.client.sync(timeout=0, since=member.since)  # learn the bots' devices
        await member.crypto()
        samples: dict[str, list[float]] = {"steward": [], "echo": []}
        warmup = 10
        for i in range(rounds + warmup):
            for name, user in (("steward", bot.user_id), ("echo", echo.user_id)):
                ms = await member.round_trip(rooms[name], user, "!steward help" if name == "steward" else f"hi {i}")
                if i >= warmup:
                    samples[name].append(ms)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"Synapse on 127.0.0.1 (SQLite), encryption {'on' if encrypted else 'off'}")
        for name, values in samples.items():
            print(summary(name, values))
        overhead = statistics.median(samples["steward"]) - statistics.median(samples["echo"])
        print(f"Steward overhead (median difference): {overhead:.2f} ms")

        await steward.stop()
        echo_task.cancel()
        await asyncio.gather(echo_task, return_exceptions=True)
        await echo_client.close()
        await member.client.close()
        await db.dispose()
    finally:
        synapse.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--encrypted", action="store_true", help="both rooms end-to-end encrypted")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.encrypted))
