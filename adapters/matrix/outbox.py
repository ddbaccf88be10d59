"""The durable outbox: a reply is written down before it is sent and crossed out once accepted.

A reply that cannot be sent now (homeserver restarting, network down) stays in `matrix_outbox` and
is sent after the next successful sync, even after a Steward restart. Each entry keeps its Matrix
transaction id, so a retry of a send whose answer was lost does not post twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets

from nio import AsyncClient, RoomSendResponse

from adapters.matrix.client import call
from adapters.matrix.emoji import number_emoji
from adapters.matrix.render import Outgoing, reaction
from adapters.matrix.rooms import DirectRooms
from bot.errors import AdapterError, RateLimited, Transient
from storage import matrix as store
from storage.db import Database
from storage.models import MatrixOutbox

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_WAITS = 5
MAX_ATTEMPTS = 50  # an entry failing this often for other reasons than the network is dropped


class Outbox:
    """Sends Matrix events one at a time, in order, through the durable table."""

    def __init__(self, db: Database, client: AsyncClient, directs: DirectRooms) -> None:
        self.db, self.client, self.directs = db, client, directs
        self._lock = asyncio.Lock()

    async def put(self, out: Outgoing) -> int:
        """Write one event down; returns its outbox id."""
        poll = None if out.poll is None else json.dumps(
            {"key": out.poll.key, "options": list(out.poll.options), "user": out.poll.user})
        async with self.db.session() as session:
            row = await store.enqueue(session, MatrixOutbox(
                txn_id=f"steward-{secrets.token_hex(12)}", room_id=out.room, user_id=out.user,
                event_type=out.event_type, content=json.dumps(out.content), poll=poll))
            assert row.id is not None
            return row.id

    async def deliver(self, outbox_id: int) -> tuple[str, str] | None:
        """Send one entry now: (room id, event id), or None if it was already sent.

        Waits out rate limits (the server's `retry_after_ms`); raises `Transient` when the homeserver
        cannot be reached, or `RateLimited` when it keeps refusing (the entry stays for `drain`), other
        `AdapterError`s when it refuses the event (the entry is dropped).
        """
        async with self._lock:
            async with self.db.session() as session:
                row = await session.get(MatrixOutbox, outbox_id)
            if row is None:
                return None
            try:
                room_id = row.room_id or await self.directs.ensure(str(row.user_id))
                event_id = await self._send(room_id, row)
            except (Transient, RateLimited):
                await self._count_failure(outbox_id, drop=False)
                raise
            except AdapterError:
                await self._count_failure(outbox_id, drop=True)
                raise
            async with self.db.session() as session:
                await store.sent(session, outbox_id)
                if row.poll is not None:
                    poll = json.loads(row.poll)
                    await store.save_poll(session, event_id, room_id, poll["key"], poll["options"], poll["user"])
        if row.poll is not None:
            await self._number_reactions(room_id, event_id, len(json.loads(row.poll)["options"]))
        return room_id, event_id

    async def _send(self, room_id: str, row: MatrixOutbox) -> str:
        content = json.loads(row.content)
        for _ in range(MAX_RATE_LIMIT_WAITS):
            try:
                resp = await call(self.client.room_send(room_id, row.event_type, content, tx_id=row.txn_id,
                                                        ignore_unverified_devices=True), "room_send")
            except RateLimited as limited:
                log.warning("Matrix rate limit sending to %s: waiting %.1fs as the homeserver asks",
                            room_id, limited.retry_after)
                await asyncio.sleep(limited.retry_after)
                continue
            assert isinstance(resp, RoomSendResponse)
            return str(resp.event_id)
        raise RateLimited(0.0, f"still rate limited after {MAX_RATE_LIMIT_WAITS} waits")

    async def _number_reactions(self, room_id: str, poll_event_id: str, count: int) -> None:
        # The numbered-reaction fallback: clients without polls answer by tapping 1️⃣, 2️⃣…
        for index in range(count):
            out = Outgoing(room_id, None, "m.reaction", reaction(poll_event_id, number_emoji(index)))
            entry = await self.put(out)
            try:
                await self.deliver(entry)
            except (Transient, RateLimited):
                return  # the drain sends the rest
            except AdapterError:
                log.warning("could not add the numbered reactions to poll %s", poll_event_id, exc_info=True)
                return

    async def _count_failure(self, outbox_id: int, drop: bool) -> None:
        async with self.db.session() as session:
            row = await session.get(MatrixOutbox, outbox_id)
            if row is None:
                return
            row.attempts += 1
            if drop or row.attempts >= MAX_ATTEMPTS:
                log.error("dropping Matrix %s to %s after %d attempt(s)", row.event_type,
                          row.room_id or row.user_id, row.attempts)
                await session.delete(row)

    async def drain(self) -> int:
        """Send what is waiting (oldest first); stops at the first network failure. Returns how many were sent."""
        async with self.db.session() as session:
            waiting = [row.id for row in await store.pending(session) if row.id is not None]
        done = 0
        for outbox_id in waiting:
            try:
                if await self.deliver(outbox_id) is not None:
                    done += 1
            except (Transient, RateLimited):
                break
            except AdapterError:
                log.exception("a queued Matrix event was refused")
        if done:
            log.info("sent %d queued Matrix event(s)", done)
        return done
