"""The other side of the network: a local stand-in for Slack's Web API and Socket Mode server.

It answers the methods Steward calls the way Slack does (`ok`, ids, `Retry-After` on 429), records
every call, and can be told to fail (`ok: false` errors, 429 storms, in one channel or all). With
`trigger_ttl` set, `views.open` refuses triggers older than that, as Slack does after ~3 s (trigger
ids made by `trigger_id()` carry their issue time). It also serves the websocket that
`apps.connections.open` points to, and the `response_url` hooks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TEAM, BOT_USER, BOT_ID = "T1", "UBOT", "BBOT"
_triggers = itertools.count(1)


def _shown(message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the Web API shows it (metadata only with `include_all_metadata`)."""
    shown = {k: v for k, v in message.items() if k not in ("metadata", "channel") and v is not None}
    if str(args.get("include_all_metadata", "")).lower() in ("1", "true") and message.get("metadata"):
        shown["metadata"] = message["metadata"]
    return shown


def trigger_id() -> str:
    """A trigger id as Slack puts in interactions, carrying when it was issued (ms since the epoch)."""
    return f"{next(_triggers)}.{int(time.time() * 1000)}.abc"


def _trigger_age(trigger: str) -> float:
    parts = trigger.split(".")
    issued_ms = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
    return time.time() - issued_ms / 1000


@dataclass
class Scripted:
    """An answer given instead of the normal one, to the next call of its method (in `channel`, if set)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    channel: str | None = None


@dataclass
class Call:
    """One Web API call as Slack received it."""

    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    token: str = ""  # the bearer token it came with (tells apart processes given different tokens)

    def __getitem__(self, key: str) -> Any:
        return self.args[key]


class FakeSlack:
    """A recorder of the Slack Web API on 127.0.0.1 (ephemeral port)."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []  # what chat.postMessage accepted, for history and replies
        self.calls: list[Call] = []
        self.limited: list[Call] = []  # calls answered 429
        self.trigger_ttl: float | None = None
        self.hooks: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self._scripted: dict[str, deque[Scripted]] = {}
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.uploads: dict[str, bytes] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self._ack_events: dict[str, asyncio.Event] = {}
        self.connected = asyncio.Event()
        self._recorded = asyncio.Event()
        self.on_call: Callable[[Call], None] | None = None  # runs once a call is recorded, before it is answered

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def hook_url(self, name: str = "h1") -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/hooks/{name}", self._hook)
        app.router.add_post("/upload/{file}", self._upload)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- scripting -------------------------------------------------------------------------------
    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}`."""
        for _ in range(times):
            self._scripted.setdefault(method, deque()).append(Scripted(200, {"ok": False, "error": error}, {}))

    def rate_limit(self, method: str, times: int, retry_after: int = 0, channel: str | None = None) -> None:
        """The next `times` calls of `method` (in `channel` only, if given) answer 429 with `Retry-After`."""
        for _ in range(times):
            self._scripted.setdefault(method, deque()).append(Scripted(
                429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}, channel))

    def _script_for(self, method: str, args: dict[str, Any]) -> Scripted | None:
        queue = self._scripted.get(method) or deque()
        for scripted in queue:
            if scripted.channel is None or scripted.channel == args.get("channel"):
                queue.remove(scripted)
                return scripted
        return None

    def called(self, method: str) -> list[Call]:
        """Successful calls of `method`, in order."""
        return [c for c in self.calls if c.method == method]

    async def wait_calls(self, method: str, count: int, within: float) -> int:
        """Wait until `method` was called `count` times (or `within` seconds passed); returns the count."""
        await self.wait_for(lambda: len(self.called(method)) >= count, within)
        return len(self.called(method))

    async def wait_for(self, done: Callable[[], bool], within: float) -> bool:
        """Wait until `done()` holds, checked after each call received (or `within` seconds passed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not done() and loop.time() < deadline:
            self._recorded.clear()
            try:
                await asyncio.wait_for(self._recorded.wait(), deadline - loop.time())
            except TimeoutError:
                break
        return done()

    # -- Web API ---------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        if not request.headers.get("Authorization", "").startswith("Bearer x"):
            return web.json_response({"ok": False, "error": "not_authed"})
        scripted = self._script_for(method, args)
        if scripted is not None:
            if scripted.status == 429:
                self.limited.append(Call(method, args))
                self._recorded.set()
            return web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)
        if method == "views.open" and self.trigger_ttl is not None and \
                _trigger_age(str(args.get("trigger_id", ""))) > self.trigger_ttl:
            return web.json_response({"ok": False, "error": "expired_trigger_id"})
        call = Call(method, args, token=request.headers.get("Authorization", "").removeprefix("Bearer "))
        self.calls.append(call)
        self._recorded.set()
        if self.on_call is not None:  # e.g. a crash test killing Steward before it hears the answer
            self.on_call(call)
        return web.json_response({"ok": True, **self._answer(method, args)})

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"url": "https://acme.slack.com/", "team": "Acme", "user": "steward", "team_id": TEAM,
                    "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "chat.postMessage":
            ts = f"1800000000.{next(self._ts):06d}"
            meta = args.get("metadata")
            self.posted.append({"channel": args.get("channel"), "ts": ts, "text": args.get("text"),
                                "thread_ts": args.get("thread_ts"),
                                "metadata": json.loads(meta) if isinstance(meta, str) else meta})
            return {"channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text"), "ts": ts}}
        if method == "conversations.history":  # newest first, top-level messages, metadata when asked
            found = [m for m in self.posted if m["channel"] == args.get("channel") and not m["thread_ts"]]
            return {"messages": [_shown(m, args) for m in reversed(found)][: int(args.get("limit") or 100)],
                    "has_more": False}
        if method == "chat.postEphemeral":
            return {"message_ts": f"1800000000.{next(self._ts):06d}"}
        if method == "conversations.open":
            return {"channel": {"id": "D" + str(args.get("users", ""))}}
        if method == "conversations.replies":  # the thread's root and replies, oldest first
            found = [m for m in self.posted if m["channel"] == args.get("channel")
                     and args.get("ts") in (m["ts"], m["thread_ts"])]
            return {"messages": [_shown(m, args) for m in found][: int(args.get("limit") or 100)], "has_more": False}
        if method == "users.info":
            uid = str(args.get("user", ""))
            user = {"id": uid, "name": uid.lower(), "real_name": uid.title(), "tz": "Europe/Paris",
                    "locale": "en-US", "is_bot": False, "profile": {"display_name": uid.title()}}
            return {"user": {**user, **self.users.get(uid, {})}}
        if method == "views.open":
            return {"view": {"id": "V1", **(args.get("view") or {})}}
        if method == "apps.connections.open":
            return {"url": f"ws://127.0.0.1:{self.port}/link"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts)}"
            return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            parsed = json.loads(files) if isinstance(files, str) else files or []
            return {"files": [{"id": f.get("id"), "title": f.get("title")} for f in parsed]}
        return {}

    async def _upload(self, request: web.Request) -> web.Response:
        """Slack's external upload URL: keeps the bytes (files_upload_v2 posts them here)."""
        self.uploads[request.match_info["file"]] = await request.read()
        return web.Response(text="OK - uploaded")

    async def _hook(self, request: web.Request) -> web.Response:
        self.hooks.append({"hook": request.match_info["name"], **await request.json()})
        return web.Response(text="ok")

    # -- Socket Mode -----------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        self.connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                envelope_id = data.get("envelope_id")
                if envelope_id:
                    self.acks[envelope_id] = data
                    self._ack_events.setdefault(envelope_id, asyncio.Event()).set()
        return ws

    async def push(self, envelope: dict[str, Any], within: float = 10) -> dict[str, Any]:
        """Send an envelope over the websocket and return the app's acknowledgement."""
        await asyncio.wait_for(self.connected.wait(), within)
        envelope_id = envelope["envelope_id"]
        waiter = self._ack_events.setdefault(envelope_id, asyncio.Event())
        await self.sockets[-1].send_json(envelope)
        await asyncio.wait_for(waiter.wait(), within)
        return self.acks[envelope_id]
