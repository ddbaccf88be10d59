"""A loopback HTTP relay in front of Synapse, so a test can kill Steward at the worst moment for exactly
once: after the homeserver accepted a reply, before Steward heard so (the reply stays in its outbox and is
sent again after the restart, with the same transaction id)."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from aiohttp import web

HOP = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding", "keep-alive"}


class Relay:
    """Forwards every request to `upstream`; `on_sent` runs when an event send succeeded upstream, before
    the answer goes back."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.on_sent: Callable[[], None] | None = None
        self.sent = 0
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Close upstream first: long-polls a killed process left open end at once, not after their 30 s."""
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        body = await request.read()
        try:
            async with self._session.request(request.method, self.upstream + request.path_qs, data=body or None,
                                             headers=headers) as upstream:
                payload = await upstream.read()
                status, kind = upstream.status, upstream.headers.get("Content-Type", "application/json")
        except aiohttp.ClientError:  # the relay is stopping (or Synapse is): a gateway error, as a proxy says
            return web.Response(status=502)
        if request.method == "PUT" and "/send/" in request.path and status == 200:
            self.sent += 1
            if self.on_sent is not None:
                self.on_sent()
        return web.Response(body=payload, status=status, headers={"Content-Type": kind})
