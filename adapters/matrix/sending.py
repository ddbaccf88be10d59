"""Sending Matrix events with transaction ids the homeserver can recognise.

Steward's outbox (bot/delivery.py) keeps every reply until it was sent and hands the adapter a stable
key for it. Each Matrix event a reply becomes (the message; a poll's numbered reactions; a chart) is
sent with a transaction id built from that key, so the resend of a reply after a crash — whose first
send the homeserver may have accepted — is recognised by the homeserver and posted once
(client-server API: `PUT /rooms/{room}/send/{type}/{txnId}` is idempotent per device).

The ids also carry a prefix drawn once per database (kept in `adapter_state`): outbox ids start again
at 1 in a new database, and a homeserver remembers transaction ids for a while.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from nio import AsyncClient, RoomSendResponse

from adapters.matrix.client import call
from bot.errors import RateLimited
from storage import matrix as store
from storage.db import Database

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_WAITS = 5
PREFIX_KEY = "txn_prefix"


async def txn_prefix(db: Database) -> str:
    """This database's transaction-id prefix, drawn on first use."""
    async with db.session() as session:
        prefix = await store.get_state(session, PREFIX_KEY)
        if prefix is None:
            prefix = secrets.token_hex(6)
            await store.set_state(session, PREFIX_KEY, prefix)
    return prefix


def txn_id(prefix: str, key: str | None, part: str = "") -> str:
    """The transaction id of one event of a reply: stable for a kept reply, random otherwise."""
    base = f"steward-{prefix}-{key}" if key else f"steward-{secrets.token_hex(12)}"
    return f"{base}-{part}" if part else base


async def send_event(client: AsyncClient, room_id: str, event_type: str, content: dict[str, object],
                     txn: str) -> str:
    """Send one event, waiting out a few rate limits as the homeserver asks; returns its event id.

    Raises `Transient` (homeserver unreachable) or `RateLimited` (still limited): the outbox retries
    with the same transaction id. Other `AdapterError`s mean the homeserver refused the event.
    """
    for _ in range(MAX_RATE_LIMIT_WAITS):
        try:
            resp = await call(client.room_send(room_id, event_type, content, tx_id=txn,
                                               ignore_unverified_devices=True), "room_send")
        except RateLimited as limited:
            log.warning("Matrix rate limit sending to %s: waiting %.1fs as the homeserver asks",
                        room_id, limited.retry_after)
            await asyncio.sleep(limited.retry_after)
            continue
        assert isinstance(resp, RoomSendResponse)
        return str(resp.event_id)
    raise RateLimited(1.0, f"still rate limited after {MAX_RATE_LIMIT_WAITS} waits")
