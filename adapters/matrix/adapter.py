"""The Matrix adapter: a bot account syncing with matrix-nio, feeding neutral events to the core.

Never replay, never miss: the sync token is saved (table `adapter_state`) only after every event
of a batch went through the core. On the very first start the history is skipped (one sync whose
timeline is not handled); on a restart the sync continues from the saved token, so what was said
while Steward was down is handled once. A limited timeline (a long outage) is filled by paging back
to the saved token. The core's event-id dedupe is the second guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    InviteInfo,
    MatrixRoom,
    MessageDirection,
    RoomMessagesResponse,
    SyncResponse,
    UploadResponse,
)

from adapters.matrix import client as nioclient
from adapters.matrix.emoji import number_emoji, number_index
from adapters.matrix.render import matrix_to, reaction, render
from adapters.matrix.rooms import DirectRooms
from adapters.matrix.sending import send_event, txn_id, txn_prefix
from adapters.matrix.translate import PLATFORM, PollAnswer, RoomView, translate
from bot.adapter import Sink
from bot.config import Config, MatrixConfig
from bot.errors import AdapterError, NotPermitted, RateLimited, Transient, Unsupported
from bot.events import ChoicePicked, Event, MessageDeleted, ReactionAdded, ReactionRemoved
from bot.replies import (
    AskChoice,
    AskForm,
    DirectMessage,
    Ephemeral,
    Post,
    Prerendered,
    Reply,
    SentRef,
    resolve_links,
)
from storage import matrix as store
from storage.db import Database, database_from_env
from storage.owners import Liveness

log = logging.getLogger(__name__)

TOKEN_KEY = "sync_token"
DEVICE_KEY = "device_id"
MAX_GAP_EVENTS = 1000
REMEMBERED_REACTIONS = 10_000


class MatrixAdapter:
    """Steward on Matrix: joins the rooms allowed inviters invite it to and reads every joined room."""

    platform = PLATFORM

    def __init__(self, settings: MatrixConfig, db: Database, data_dir: Path, *,
                 channels: frozenset[str] = frozenset(), timeline_limit: int = 50,
                 max_backoff: float = 30.0, owns_db: bool = False) -> None:
        self.settings, self.db, self.data_dir = settings, db, data_dir
        self.user_id: str | None = settings.user_id
        self.encryption = nioclient.encryption_wanted(settings)
        self.channels = channels
        self.timeline_limit, self.max_backoff, self._owns_db = timeline_limit, max_backoff, owns_db
        self.client: AsyncClient | None = None
        self.directs: DirectRooms | None = None
        self._prefix = ""
        self._sink: Sink | None = None
        self._token: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._reactions: OrderedDict[str, tuple[str, str]] = OrderedDict()  # reaction id → (target, emoji)

    @classmethod
    def from_config(cls, config: Config, *, db: Database | None = None) -> MatrixAdapter:
        """What `steward run` builds from the `[matrix]` section (on Steward's own database when given)."""
        assert config.matrix is not None
        channels = frozenset(ref.partition(":")[2] for c in config.communities for ref in c.channels
                             if ref.startswith("matrix:"))
        return cls(config.matrix, db or database_from_env(config.data_dir), config.data_dir, channels=channels,
                   owns_db=db is None)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, sink: Sink, liveness: Liveness | None = None) -> None:
        """Log in, catch up (or skip history on the first start), then sync in the background."""
        self._sink, self._stop = sink, asyncio.Event()
        async with self.db.session() as session:
            device_id = await store.get_state(session, DEVICE_KEY)
            self._token = await store.get_state(session, TOKEN_KEY)
        client = nioclient.make_client(self.settings, self.data_dir / "matrix-store", self.encryption, device_id)
        self.client = client
        device_id = await self._retry_transient(lambda: nioclient.log_in(client, self.settings, device_id), "login")
        async with self.db.session() as session:
            await store.set_state(session, DEVICE_KEY, device_id)
        await self._retry_transient(lambda: nioclient.crypto_housekeeping(client), "uploading keys")
        self.directs = DirectRooms(client, self.channels)
        self._prefix = await txn_prefix(self.db)
        await self._retry_transient(self.directs.load, "loading m.direct")
        first = self._token is None
        resp = await self._retry_transient(lambda: self._sync(0, full_state=True), "first sync")
        await self._handle(resp, timeline=not first)
        await self._advance(resp.next_batch)
        await self._retry_transient(lambda: nioclient.crypto_housekeeping(client), "key exchange")
        log.info("Matrix: %s as %s (device %s, encryption %s)", "started fresh, history skipped" if first
                 else "caught up from the saved sync token", self.user_id, device_id, "on" if client.olm else "off")
        self._task = asyncio.create_task(self._loop(), name="matrix-sync")

    async def stop(self) -> None:
        """Stop syncing; replies not sent yet stay in Steward's outbox for next time."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.client is not None:
            await self.client.close()
        if self._owns_db:
            await self.db.dispose()

    async def _retry_transient(self, make: Any, what: str, attempts: int = 8) -> Any:
        delay = 0.5
        for attempt in range(attempts):
            try:
                return await make()
            except RateLimited as limited:
                await asyncio.sleep(limited.retry_after)
            except Transient as exc:
                if attempt == attempts - 1:
                    raise
                log.warning("Matrix %s failed (%s); retrying in %.1fs", what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        raise Transient(f"{what}: gave up")

    # -- the sync loop -----------------------------------------------------------------------------

    async def _sync(self, wait_ms: int, full_state: bool = False) -> SyncResponse:
        assert self.client is not None
        sync_filter = {"room": {"timeline": {"limit": self.timeline_limit}, "state": {"lazy_load_members": False}},
                       "presence": {"types": []}}
        resp = await nioclient.call(self.client.sync(timeout=wait_ms, sync_filter=sync_filter, since=self._token,
                                                     full_state=full_state or None), "sync")
        assert isinstance(resp, SyncResponse)
        return resp

    async def _loop(self) -> None:
        assert self.client is not None
        delay, down_since = 0.5, False
        while not self._stop.is_set():
            try:
                resp = await self._sync(nioclient.SYNC_TIMEOUT_MS)
                if down_since:
                    log.warning("Matrix homeserver reachable again")
                    down_since = False
                await self._handle(resp, timeline=True)
                if self._core_stopping():
                    return  # events of this batch were left for redelivery: keep the old token
                await self._advance(resp.next_batch)
                await nioclient.crypto_housekeeping(self.client)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except RateLimited as limited:
                log.warning("Matrix rate limit on sync: waiting %.1fs", limited.retry_after)
                await nioclient.sleep_or_stop(self._stop, limited.retry_after)
            except (Transient, NotPermitted, AdapterError) as exc:
                if not down_since:
                    log.warning("Matrix sync failed (%s); retrying with backoff", exc)
                down_since = True
                if isinstance(exc, NotPermitted):
                    log.error("the homeserver refused Steward's credentials: check MATRIX_ACCESS_TOKEN")
                await nioclient.sleep_or_stop(self._stop, delay)
                delay = min(delay * 2, self.max_backoff)
            except Exception:
                log.exception("unexpected error in the Matrix sync loop; retrying")
                await nioclient.sleep_or_stop(self._stop, delay)
                delay = min(delay * 2, self.max_backoff)

    def _core_stopping(self) -> bool:
        # The core answers "shutting down" by not handling an event and expecting redelivery; for Matrix,
        # redelivery means not advancing the sync token past it.
        return bool(getattr(getattr(self._sink, "__self__", None), "stopping", False))

    async def _advance(self, token: str) -> None:
        self._token = token
        async with self.db.session() as session:
            await store.set_state(session, TOKEN_KEY, token)

    async def _handle(self, resp: SyncResponse, timeline: bool) -> None:
        for room_id, invite in resp.rooms.invite.items():
            await self._on_invite(room_id, invite)
        if not timeline:
            return
        assert self.client is not None
        for room_id, info in resp.rooms.join.items():
            events = [e.source for e in info.timeline.events]
            joined = self._own_join(events)
            if joined is not None:
                events = events[joined + 1:]  # a room Steward just joined: what was said before is history
            elif info.timeline.limited and info.timeline.prev_batch and self._token:
                events = await self._gap(room_id, info.timeline.prev_batch, self._token) + events
            room = self.client.rooms.get(room_id)
            for source in events:
                await self._on_event(room_id, room, source)

    def _own_join(self, events: list[dict[str, Any]]) -> int | None:
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (event.get("type") == "m.room.member" and event.get("state_key") == self.user_id
                    and (event.get("content") or {}).get("membership") == "join"
                    and ((event.get("unsigned") or {}).get("prev_content") or {}).get("membership") != "join"):
                return index
        return None

    async def _gap(self, room_id: str, start: str, until: str) -> list[dict[str, Any]]:
        """Events between the saved token and a limited timeline, oldest first (a long outage)."""
        assert self.client is not None
        older: list[dict[str, Any]] = []
        while len(older) < MAX_GAP_EVENTS:
            resp = await nioclient.call(self.client.room_messages(
                room_id, start=start, end=until, direction=MessageDirection.back, limit=100), "messages")
            assert isinstance(resp, RoomMessagesResponse)
            older.extend(e.source for e in resp.chunk)
            if not resp.chunk or not resp.end or resp.end == start:
                break
            start = resp.end
        log.info("filled a gap of %d event(s) in %s", len(older), room_id)
        return older[::-1]

    # -- inbound -----------------------------------------------------------------------------------

    async def _on_invite(self, room_id: str, invite: InviteInfo) -> None:
        assert self.client is not None and self.directs is not None
        mine = next((e for e in invite.invite_state
                     if getattr(e, "state_key", None) == self.user_id and getattr(e, "membership", "") == "invite"),
                    None)
        inviter = str(getattr(mine, "sender", "") or "")
        if not self._allowed(inviter):
            log.info("ignoring an invite to %s from %s (not in matrix.allowed_inviters)", room_id, inviter or "?")
            return
        await self._retry_transient(lambda: nioclient.call(self.client.join(room_id), "join"), "join")
        log.info("joined %s, invited by %s", room_id, inviter)
        content = getattr(mine, "content", {}) or {}
        if content.get("is_direct"):
            await self.directs.record(inviter, room_id)

    def _allowed(self, inviter: str) -> bool:
        server = inviter.partition(":")[2]
        return bool(inviter) and (inviter in self.settings.allowed_inviters or server in self.settings.allowed_inviters)

    def _view(self, room_id: str, room: MatrixRoom | None) -> RoomView:
        assert self.directs is not None and self.user_id is not None
        names: tuple[str, ...] = (self.user_id.partition(":")[0].lstrip("@"),)
        display: Mapping[str, str] = {}
        if room is not None:
            own = room.user_name(self.user_id)
            names = (own, *names) if own else names
            display = {uid: user.display_name or "" for uid, user in room.users.items()}
        return RoomView(room_id, self.user_id, self.directs.is_direct(room, room_id), names, display)

    async def _on_event(self, room_id: str, room: MatrixRoom | None, source: Mapping[str, Any]) -> None:
        assert self._sink is not None and self.directs is not None
        if source.get("sender") == self.user_id:
            return
        if source.get("type") == "m.room.encrypted":
            log.warning("could not decrypt event %s in %s (no room key yet)", source.get("event_id"), room_id)
            return
        view = self._view(room_id, room)
        neutral = translate(source, view)
        if isinstance(neutral, PollAnswer):
            neutral = await self._choice(neutral, view)
        elif isinstance(neutral, ReactionAdded):
            neutral = await self._reaction(neutral)
        elif isinstance(neutral, MessageDeleted) and neutral.message_id in self._reactions:
            target, emoji = self._reactions.pop(neutral.message_id)
            neutral = ReactionRemoved(event_id=neutral.event_id, platform=PLATFORM, channel=room_id,
                                      sender=neutral.sender, at=neutral.at, message_id=target, emoji=emoji,
                                      is_direct=neutral.is_direct)
        if neutral is None:
            return
        if view.is_direct and neutral.sender.id:
            self.directs.note(neutral.sender.id, room_id)
        await self._sink(neutral)

    async def _reaction(self, event: ReactionAdded) -> Event | None:
        self._reactions[event.event_id] = (event.message_id, event.emoji)
        while len(self._reactions) > REMEMBERED_REACTIONS:
            self._reactions.popitem(last=False)
        index = number_index(event.emoji)
        if index is None:
            return event
        answer = PollAnswer(event_id=event.event_id, room_id=event.channel, sender=event.sender,
                            poll_event_id=event.message_id, answers=(str(index),), at=event.at)
        picked = await self._choice(answer, None, by_index=True)
        return picked if picked is not None else event

    async def _choice(self, answer: PollAnswer, view: RoomView | None, by_index: bool = False) -> ChoicePicked | None:
        async with self.db.session() as session:
            found = await store.find_poll(session, answer.poll_event_id)
        if found is None or not answer.answers:
            return None
        poll, options = found
        if poll.user_id is not None and poll.user_id != answer.sender.id:
            log.info("ignoring an answer by %s to a poll meant for %s", answer.sender.id, poll.user_id)
            return None
        choice = answer.answers[0]
        if by_index:
            choice = options[int(choice)] if int(choice) < len(options) else ""
        if choice not in options:
            return None
        is_direct = view.is_direct if view else self.directs is not None and self.directs.is_direct(
            None, answer.room_id)
        return ChoicePicked(event_id=answer.event_id, platform=PLATFORM, channel=answer.room_id, sender=answer.sender,
                            at=answer.at, key=poll.key, option=choice, message_id=poll.event_id, is_direct=is_direct)

    # -- outbound ----------------------------------------------------------------------------------

    def web_link(self, room: str, event: str) -> str:
        """A web address of a message, for readers elsewhere (a digest read on another platform)."""
        return matrix_to(room, event)

    async def send(self, reply: Reply, key: str | None = None) -> SentRef:
        """Send a reply as one Matrix event (plus a poll's numbered reactions, a chart), each with a
        transaction id derived from `key`: a resend after a crash is recognised by the homeserver.

        Raises `Transient` while the homeserver cannot be reached: Steward's outbox keeps the reply and
        sends it again, with the same ids, after reconnecting.
        """
        if self.client is None or self.directs is None:
            raise Transient("Matrix is not connected yet")  # Steward's outbox keeps the reply and tries again
        if isinstance(reply, Prerendered):
            return await self._send_prerendered(reply)
        if isinstance(reply, AskForm):
            if reply.fallback is None:
                raise Unsupported("Matrix has no forms: the feature asks step by step")
            return await self.send(reply.fallback, key)
        reply = resolve_links(reply, matrix_to)
        user = reply.user if isinstance(reply, DirectMessage | Ephemeral | AskChoice) else None
        out = render(reply, self.directs.room_for(user) if user else None)
        partner = self.directs.partner(out.room) if out.room and isinstance(reply, Post) else None
        if partner is not None and self.directs.grown(str(out.room)):
            # A post meant for a DM that someone joined since: it goes to a new DM with the person, not to the group.
            log.info("a reply for the DM %s goes to a new DM with %s: the room has more members now", out.room, partner)
            out = dataclasses.replace(out, room=None, user=partner)
        room_id = out.room or await self.directs.ensure(str(out.user))
        event_id = await send_event(self.client, room_id, out.event_type, out.content, txn_id(self._prefix, key))
        if out.poll is not None:
            async with self.db.session() as session:
                if await store.find_poll(session, event_id) is None:
                    await store.save_poll(session, event_id, room_id, out.poll.key, list(out.poll.options),
                                          out.poll.user)
            await self._number_reactions(room_id, event_id, len(out.poll.options), key)
        if isinstance(reply, DirectMessage) and reply.image:
            await self._send_image(room_id, reply.image, reply.image_name, key)
        return SentRef(PLATFORM, room_id, event_id)

    async def _number_reactions(self, room_id: str, poll_event_id: str, count: int, key: str | None) -> None:
        """The numbered-reaction fallback: clients without polls answer by tapping 1️⃣, 2️⃣…"""
        assert self.client is not None
        for index in range(count):
            try:
                await send_event(self.client, room_id, "m.reaction", reaction(poll_event_id, number_emoji(index)),
                                 txn_id(self._prefix, key, f"r{index}"))
            except (Transient, RateLimited):
                raise  # the whole reply is sent again: the message and the reactions sent keep their ids
            except AdapterError:
                log.warning("could not add the numbered reactions to poll %s", poll_event_id, exc_info=True)
                return

    async def _send_prerendered(self, reply: Prerendered) -> SentRef:
        """An event an older version had rendered and queued: sent with its own transaction id."""
        assert self.client is not None and self.directs is not None
        body = json.loads(reply.body)
        room_id = body.get("room_id") or await self.directs.ensure(str(body.get("user_id")))
        event_id = await send_event(self.client, room_id, body["event_type"], body["content"], body["txn_id"])
        poll = body.get("poll")
        if poll:
            async with self.db.session() as session:
                await store.save_poll(session, event_id, room_id, poll["key"], poll["options"], poll["user"])
        return SentRef(PLATFORM, room_id, event_id)

    async def _send_image(self, room_id: str, data: bytes, name: str, key: str | None) -> None:
        """Upload a PNG to the media repository and post it as `m.image` (the text went first)."""
        assert self.client is not None
        upload, _keys = await self.client.upload(io.BytesIO(data), content_type="image/png", filename=name,
                                                 filesize=len(data))
        if not isinstance(upload, UploadResponse):
            log.warning("could not upload %s to %s: %s; the message went without it", name, room_id, upload)
            return
        content = {"msgtype": "m.image", "body": name, "url": upload.content_uri,
                   "info": {"mimetype": "image/png", "size": len(data)}}
        try:
            await send_event(self.client, room_id, "m.room.message", content, txn_id(self._prefix, key, "image"))
        except AdapterError:
            log.warning("could not post the image %s in %s", name, room_id, exc_info=True)
