"""The matrix-nio client, set up so rate limits and network errors reach us, and mapped to our errors.

nio retries a 429 forever by default, sleeping inside the call and hiding it; it also retries
connection errors forever. We set `max_limit_exceeded=0` and `max_timeouts=0` so each call returns
(or raises) at once and the adapter decides: `RateLimited` waits the server's `retry_after_ms`,
`Transient` backs off, and nothing waiting to be sent is lost meanwhile (see outbox.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, LoginResponse, WhoamiResponse
from nio.crypto import ENCRYPTION_ENABLED
from nio.exceptions import LocalProtocolError

from bot.config import MatrixConfig
from bot.errors import AdapterError, ConfigError, NotPermitted, RateLimited, Transient
from bot.metrics import RATE_LIMITED

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_RETRY_AFTER = 5.0
SYNC_TIMEOUT_MS = 30_000


def encryption_wanted(settings: MatrixConfig) -> bool:
    """`encryption` from config; unset means on when matrix-nio's e2e extra is installed."""
    if settings.encryption is None:
        return bool(ENCRYPTION_ENABLED)
    if settings.encryption and not ENCRYPTION_ENABLED:
        raise ConfigError("matrix.encryption", True,
                          "false, or install the e2e extra: pip install 'matrix-nio[e2e]'")
    return settings.encryption


def make_client(settings: MatrixConfig, store_dir: Path, encryption: bool, device_id: str | None) -> AsyncClient:
    """A nio client whose calls return on the first 429 or network error instead of retrying silently."""
    store_dir.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=30,
                               encryption_enabled=encryption, store_sync_tokens=False)
    return AsyncClient(settings.homeserver, settings.user_id, device_id=device_id or "",
                       store_path=str(store_dir), config=config)


async def log_in(client: AsyncClient, settings: MatrixConfig, device_id: str | None) -> str:
    """Log in with MATRIX_ACCESS_TOKEN (preferred) or MATRIX_PASSWORD; returns the device id."""
    token = os.environ.get("MATRIX_ACCESS_TOKEN")
    password = os.environ.get("MATRIX_PASSWORD")
    if token:
        client.access_token = token
        try:
            who = await call(client.whoami(), "whoami")
        except NotPermitted as exc:
            raise ConfigError("MATRIX_ACCESS_TOKEN", "***", f"a valid access token of {settings.user_id}") from exc
        assert isinstance(who, WhoamiResponse)
        if who.user_id != settings.user_id:
            raise ConfigError("matrix.user_id", settings.user_id,
                              f"the account of MATRIX_ACCESS_TOKEN, which is {who.user_id}")
        if not who.device_id:
            raise ConfigError("MATRIX_ACCESS_TOKEN", "***", "a token bound to a device (log in once to get one)")
        client.restore_login(settings.user_id, who.device_id, token)
        return str(who.device_id)
    if password:
        client.device_id = device_id or ""
        try:
            resp = await call(client.login(password, device_name=settings.device_name), "login")
        except NotPermitted as exc:
            raise ConfigError("MATRIX_PASSWORD", "***", f"the password of {settings.user_id}") from exc
        assert isinstance(resp, LoginResponse)
        return str(resp.device_id)
    raise ConfigError("MATRIX_ACCESS_TOKEN", None,
                      "the bot account's access token (or MATRIX_PASSWORD) in the environment")


async def call(awaitable: Awaitable[T], what: str) -> T:
    """Await one nio call and map its failures: 429 → RateLimited, network/5xx → Transient."""
    try:
        resp = await awaitable
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise Transient(f"{what}: {type(exc).__name__}: {exc}") from exc
    except LocalProtocolError as exc:
        raise AdapterError(f"{what}: {exc}") from exc
    if isinstance(resp, ErrorResponse):
        raise error_for(resp, what)
    return resp


def error_for(resp: ErrorResponse, what: str) -> AdapterError:
    """Our exception for a homeserver error response."""
    status = getattr(getattr(resp, "transport_response", None), "status", None)
    code = resp.status_code
    if code == "M_LIMIT_EXCEEDED" or status == 429:
        retry = (resp.retry_after_ms or DEFAULT_RETRY_AFTER * 1000) / 1000
        RATE_LIMITED.labels("matrix", what).inc()
        return RateLimited(retry, f"({what})")
    if code in ("M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_USER_DEACTIVATED"):
        return NotPermitted(f"{what}: {resp}")
    if status is None or status >= 500 or code is None:
        return Transient(f"{what}: {resp} (HTTP {status})")
    return AdapterError(f"{what}: {resp} (HTTP {status})")


async def crypto_housekeeping(client: AsyncClient) -> None:
    """What nio's sync_forever does around each sync for E2E: keys up, keys queried, to-device out."""
    if client.olm is None:
        return
    if client.should_upload_keys:
        await call(client.keys_upload(), "keys_upload")
    if client.should_query_keys:
        await call(client.keys_query(), "keys_query")
    if client.should_claim_keys:
        await call(client.keys_claim(client.get_users_for_key_claiming()), "keys_claim")
    await call(client.send_to_device_messages(), "send_to_device")


async def raw_json(client: AsyncClient, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """A client-API call nio has no method for (e.g. writing `m.direct`); errors mapped like `call`."""
    import json

    try:
        resp = await client.send(method, path, json.dumps(body) if body is not None else None,
                                 {"Authorization": f"Bearer {client.access_token}",
                                  "Content-Type": "application/json"})
        data: dict[str, Any] = await resp.json(content_type=None) if resp.status != 204 else {}
    except (aiohttp.ClientError, TimeoutError, ConnectionError, ValueError) as exc:
        raise Transient(f"{method} {path}: {exc}") from exc
    if resp.status == 429:
        RATE_LIMITED.labels("matrix", method).inc()
        raise RateLimited(float(data.get("retry_after_ms", DEFAULT_RETRY_AFTER * 1000)) / 1000, path)
    if resp.status == 404:
        return {}
    if resp.status >= 400:
        exc_type = Transient if resp.status >= 500 else AdapterError
        raise exc_type(f"{method} {path}: HTTP {resp.status} {data}")
    return data


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless `stop` is set first; True when stopping."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
