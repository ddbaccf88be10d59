"""A real Synapse for the whole session, people driving real nio clients, and Steward on its Matrix adapter."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
)

from adapters.matrix.adapter import MatrixAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config, MatrixConfig
from bot.core import Steward
from bot.features import build_router
from storage.db import Database
from tests.matrix.homeserver import Account, Synapse

WAIT = 20.0  # seconds a person waits for Steward before the test fails


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """One real homeserver for the session (about 3 s to start)."""
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    server.admin = server.register("admin", admin=True)  # type: ignore[attr-defined]
    yield server
    server.stop()


_n = itertools.count(1)


@dataclass
class Person:
    """Someone using a Matrix client: speaks, reacts, answers polls, and watches what arrives."""

    account: Account
    client: AsyncClient
    since: str | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    invites: dict[str, str] = field(default_factory=dict)  # room id → inviter

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def sync(self, wait_ms: int = 0) -> None:
        resp = await self.client.sync(timeout=wait_ms, since=self.since, full_state=self.since is None or None)
        assert isinstance(resp, SyncResponse), resp
        if self.client.olm:
            for coro in (self.client.keys_upload() if self.client.should_upload_keys else None,
                         self.client.keys_query() if self.client.should_query_keys else None):
                if coro is not None:
                    await coro
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()
        first = self.since is None
        self.since = resp.next_batch
        for room_id, info in resp.rooms.invite.items():
            for event in info.invite_state:
                if isinstance(event, InviteMemberEvent) and event.state_key == self.user_id:
                    self.invites[room_id] = event.sender
        if first:
            return
        for room_id, info in resp.rooms.join.items():
            for event in info.timeline.events:
                self.seen.append({**event.source, "room_id": room_id})

    async def wait_for(self, match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """The first event seen (since the last call) that `match`es; fails after WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while True:
            for index, event in enumerate(self.seen):
                if match(event):
                    del self.seen[: index + 1]
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.user_id} waited {WAIT}s for {what}; saw {self.seen[-5:]}")
            await self.sync(500)

    async def reply_from(self, sender: str, room: str, what: str = "a reply") -> dict[str, Any]:
        """The next message `sender` posts in `room`."""
        return await self.wait_for(lambda e: e.get("sender") == sender and e["room_id"] == room
                                   and e.get("type") in ("m.room.message", "org.matrix.msc3381.poll.start"), what)

    async def create_room(self, *, invite: tuple[str, ...] = (), encrypted: bool = False, name: str = "") -> str:
        state = [{"type": "m.room.encryption", "state_key": "",
                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []
        resp = await self.client.room_create(name=name or f"room {next(_n)}", invite=list(invite), initial_state=state)
        assert isinstance(resp, RoomCreateResponse), resp
        await self.sync()
        return str(resp.room_id)

    async def invite(self, room: str, user: str) -> None:
        await self.client.room_invite(room, user)

    async def join(self, room: str) -> None:
        resp = await self.client.join(room)
        assert isinstance(resp, JoinResponse), resp
        await self.sync()

    async def send(self, room: str, content: dict[str, Any], event_type: str = "m.room.message") -> str:
        resp = await self.client.room_send(room, event_type, content, ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def say(self, room: str, text: str, **extra: Any) -> str:
        return await self.send(room, {"msgtype": "m.text", "body": text, **extra})

    async def react(self, room: str, event_id: str, key: str) -> str:
        return await self.send(room, {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id,
                                                       "key": key}}, "m.reaction")

    async def wait_member(self, room: str, user: str, membership: str = "join") -> None:
        await self.wait_for(lambda e: e["room_id"] == room and e.get("type") == "m.room.member"
                            and e.get("state_key") == user and e["content"].get("membership") == membership,
                            f"{user} to {membership} {room}")


@pytest.fixture
async def people(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await person("ana", encrypted=False)`: a fresh account with a logged-in, synced client."""
    made: list[AsyncClient] = []

    async def person(name: str, encrypted: bool = False) -> Person:
        account = synapse.register(f"{name}_{uuid.uuid4().hex[:6]}")
        store = tmp_path / f"store-{account.device_id}"
        store.mkdir()
        client = AsyncClient(synapse.url, account.user_id, device_id=account.device_id, store_path=str(store),
                             config=AsyncClientConfig(encryption_enabled=encrypted, store_sync_tokens=False))
        client.restore_login(account.user_id, account.device_id, account.access_token)
        made.append(client)
        someone = Person(account, client)
        await someone.sync()
        return someone

    yield person
    for client in made:
        await client.close()


@dataclass
class Bot:
    """Steward on Matrix, as `steward run` assembles it, on the test database."""

    account: Account
    steward: Steward
    adapter: MatrixAdapter
    db: Database

    @property
    def user_id(self) -> str:
        return self.account.user_id


@pytest.fixture
async def bot_factory(synapse: Synapse, db: Database, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Any]]:
    """`await start(channels=[room], inviters=[user])` starts Steward (`sponsors=[user]` for the community's
    sponsors); `account=` restarts the same bot."""
    running: list[Steward] = []
    account_holder: dict[str, Account] = {}

    async def start(*, channels: tuple[str, ...] = (), inviters: tuple[str, ...] = (), encryption: bool = False,
                    timeline_limit: int = 50, account: Account | None = None, sponsors: tuple[str, ...] = ()) -> Bot:
        account = account or account_holder.get("bot") or synapse.register(f"steward_{uuid.uuid4().hex[:6]}")
        account_holder["bot"] = account
        monkeypatch.setenv("MATRIX_ACCESS_TOKEN", account.access_token)
        settings = MatrixConfig(homeserver=synapse.url, user_id=account.user_id, allowed_inviters=inviters,
                                encryption=encryption)
        config = Config(data_dir=tmp_path, matrix=settings, communities=(CommunityConfig(
            slug="k8s", name="Kubernetes CoP", channels=tuple(f"matrix:{c}" for c in channels),
            sponsors=tuple(f"matrix:{s}" for s in sponsors)),))
        steward = Steward(db, config, build_router())
        await sync_communities(steward)
        adapter = MatrixAdapter(settings, db, tmp_path, channels=frozenset(channels),
                                timeline_limit=timeline_limit, max_backoff=1.0)
        steward.add_adapter(adapter)
        await steward.start_adapters()
        running.append(steward)
        return Bot(account, steward, adapter, db)

    def register_bot() -> Account:
        account_holder["bot"] = synapse.register(f"steward_{uuid.uuid4().hex[:6]}")
        return account_holder["bot"]

    start.register = register_bot  # type: ignore[attr-defined]
    yield start
    for steward in running:
        if not steward.stopping:
            await steward.stop(grace=2)


async def stop_bot(bot: Bot) -> None:
    """Stop Steward as SIGTERM would."""
    await bot.steward.stop(grace=2)


async def settle(seconds: float = 0.0) -> None:
    """Let other tasks run (never used to wait for an outcome)."""
    await asyncio.sleep(seconds)
