"""The bolt app and the two ways Slack reaches it: HTTP (Events API) or Socket Mode.

Listeners run with `process_before_response=True`, so each one finishes before bolt answers Slack:
ours only persists the body (`Intake.accept`) and acks; the work runs in the background. If the
inbox cannot be written the listener raises, bolt answers 500 (or sends no Socket Mode ack) and Slack
delivers again. Signature and timestamp checks, `url_verification` and `ssl_check` are bolt's own
middleware; bolt also drops the app's own events (`ignoring_self_events_enabled`).

Each transport notes when a request reached it (`ARRIVED`, a context variable bolt carries to the
listener): a modal's trigger is valid ~3 s from then, not from when the work finally runs.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.translate import CHOICE_PREFIX, FORM_PREFIX

log = logging.getLogger(__name__)

EVENTS = ("message", "app_mention", "reaction_added", "reaction_removed", "member_joined_channel",
          "member_left_channel", "team_join")
COMMANDS = ("/steward", "/who")
PATH = "/slack/events"
MAX_BODY = 1024 * 1024

Accept = Callable[[dict[str, Any], float], Awaitable[object]]  # the body and when it arrived
ARRIVED: ContextVar[float | None] = ContextVar("steward_slack_arrived", default=None)


def arrived_at() -> float:
    """When the request being handled reached a transport (`time.monotonic()`; now if unknown)."""
    stamp = ARRIVED.get()
    return time.monotonic() if stamp is None else stamp


def build_app(client: AsyncWebClient, signing_secret: str, accept: Accept, *, verify: bool) -> AsyncApp:
    """A bolt app whose every listener persists the body, then acknowledges."""
    app = AsyncApp(client=client, signing_secret=signing_secret, process_before_response=True, name="steward",
                   request_verification_enabled=verify, logger=logging.getLogger("slack_bolt.steward"))

    async def intake(ack: AsyncAck, body: dict[str, Any]) -> None:
        await accept(body, arrived_at())  # raises when it cannot be persisted: then no ack, Slack retries
        await ack()

    for name in EVENTS:
        app.event(name)(intake)
    for slash in COMMANDS:
        app.command(slash)(intake)
    app.action(re.compile("^" + re.escape(CHOICE_PREFIX)))(intake)
    app.view(re.compile("^" + re.escape(FORM_PREFIX)))(intake)
    return app


class HttpTransport:
    """Events API, interactivity and slash commands on one aiohttp endpoint (`POST /slack/events`)."""

    def __init__(self, app: AsyncApp, host: str, port: int, routes: list[web.RouteDef] | None = None) -> None:
        self.app, self.host, self.port = app, host, port
        self.routes = list(routes or [])  # other endpoints served beside Slack's (e.g. the iCalendar feed)
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        """One Slack request through bolt's pipeline (verification, routing, ack)."""
        token = ARRIVED.set(time.monotonic())  # read by our listener, further down this same call
        try:
            try:
                bolt_request = await to_bolt_request(request)
            except ValueError:
                return web.Response(status=400, text="body is not valid JSON or form data (is this really Slack?)")
            response = await self.app.async_dispatch(bolt_request)
            return await to_aiohttp_response(response)
        finally:
            ARRIVED.reset(token)

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one, see `self.port`)."""
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(PATH, self.handle)
        web_app.router.add_routes(self.routes)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("Slack Events API listening on http://%s:%d%s", self.host, self.port, PATH)

    async def stop(self) -> None:
        """Stop accepting requests."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class _StampingHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, noting when each envelope arrived."""

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        token = ARRIVED.set(time.monotonic())
        try:
            await super().handle(client, req)
        finally:
            ARRIVED.reset(token)


class SocketTransport:
    """Socket Mode: Slack pushes envelopes over a websocket opened with the app-level token."""

    def __init__(self, app: AsyncApp, app_token: str, client: AsyncWebClient) -> None:
        self.app, self.app_token, self.client = app, app_token, client
        self._handler: _StampingHandler | None = None

    async def start(self) -> None:
        """Open the websocket (`apps.connections.open` gives its URL)."""
        self._handler = _StampingHandler(self.app, self.app_token, web_client=self.client)
        await self._handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        """Close the websocket and its session."""
        if self._handler is not None:
            await self._handler.close_async()  # type: ignore[no-untyped-call]
            self._handler = None
