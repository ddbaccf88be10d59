"""The Slack adapter: bolt receives (HTTP or Socket Mode), the inbox persists, the pacer sends."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import render
from adapters.slack.inbox import Intake
from adapters.slack.pacing import Limits, Pacer
from adapters.slack.translate import PLATFORM, Identity, translate
from adapters.slack.transport import HttpTransport, SocketTransport, build_app
from bot.adapter import Sink
from bot.config import Config
from bot.errors import AdapterError, ConfigError, NotPermitted, RateLimited, Transient, Unsupported
from bot.events import CommandInvoked, Event, MessagePosted, Sender
from bot.markup import plain
from bot.metrics import RATE_LIMITED
from bot.replies import (
    AskChoice,
    AskForm,
    DirectMessage,
    Ephemeral,
    Post,
    React,
    Reply,
    ReplyInThread,
    SentRef,
    resolve_links,
)
from storage.db import Database, database_from_env
from storage.owners import Liveness

log = logging.getLogger(__name__)

NOT_PERMITTED = {"not_in_channel", "channel_not_found", "is_archived", "missing_scope", "not_authed",
                 "invalid_auth", "account_inactive", "restricted_action", "user_not_in_channel",
                 "cannot_dm_bot", "user_not_found", "no_permission", "ekm_access_denied"}
TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
PROFILE_TTL = 3600.0
_NAMED_MENTIONS = 8  # mentioned people whose names one message looks up (users.info, cached)
TRIGGER_WINDOW = 2.5  # seconds from the request's arrival: Slack accepts a trigger_id for ~3 s after sending it
TOKENS = {
    "SLACK_BOT_TOKEN": ("xoxb-", "the Bot User OAuth Token (xoxb-…) from your Slack app's "
                                 "“OAuth & Permissions” page"),
    "SLACK_SIGNING_SECRET": ("", "the Signing Secret from your Slack app's “Basic Information” page"),
    "SLACK_APP_TOKEN": ("xapp-", "an app-level token (xapp-…) with the connections:write scope, from "
                                 "“Basic Information → App-Level Tokens”"),
}


def _token(env: Mapping[str, str], name: str) -> str:
    prefix, where = TOKENS[name]
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(name, "(unset)", f"the environment variable {name} set to {where}")
    if prefix and not value.startswith(prefix):
        raise ConfigError(name, value[:5] + "…", f"a token starting with {prefix}: {where}")
    return value


def map_error(method: str, err: SlackApiError) -> AdapterError:
    """A Slack Web API failure as Steward's error tree."""
    status = getattr(err.response, "status_code", 200)
    code = str(err.response.get("error", "")) if err.response is not None else ""
    headers = {k.lower(): v for k, v in (getattr(err.response, "headers", None) or {}).items()}
    if status == 429 or code == "ratelimited":
        raw = headers.get("retry-after", "1")
        try:
            retry_after = float(raw[0] if isinstance(raw, list) else raw)
        except ValueError:
            retry_after = 1.0
        RATE_LIMITED.labels("slack", method).inc()
        return RateLimited(retry_after, f"({method})")
    if status >= 500 or code in TRANSIENT:
        return Transient(f"{method}: {code or status}")
    if code in NOT_PERMITTED:
        return NotPermitted(f"{method}: {code}")
    return AdapterError(f"{method}: {code or status}")


METADATA_TYPE = "steward_reply"  # message metadata carrying the outbox key of the reply it is
RESEND_LOOKBACK = 100  # latest messages of a conversation searched for a reply sent before a crash


def _keyed(key: str | None) -> dict[str, Any]:
    """The message metadata that lets Steward recognise its own reply after a crash."""
    return {"metadata": {"event_type": METADATA_TYPE, "event_payload": {"key": key}}} if key else {}


class SlackAdapter:
    """Steward on one Slack workspace."""

    platform = PLATFORM

    def __init__(self, *, bot_token: str, db: Database, signing_secret: str = "", app_token: str = "",
                 transport: str = "http", host: str = "127.0.0.1", port: int = 3000,
                 community: str | None = None, base_url: str | None = None, limits: Limits | None = None,
                 owns_db: bool = False, trigger_window: float = TRIGGER_WINDOW) -> None:
        self.bot_token, self.signing_secret, self.app_token = bot_token, signing_secret, app_token
        self.transport_name, self.host, self.port = transport, host, port
        self.db, self.owns_db, self.base_url = db, owns_db, base_url
        self.trigger_window = trigger_window
        self.identity = Identity(community=community)
        self.workspace_url = "https://slack.com/"  # replaced by auth.test's workspace URL at start
        self.user_id: str | None = None
        self.pacer = Pacer(limits)
        self.intake = Intake(db, PLATFORM, lambda body: translate(body, self.identity), self._enrich)
        self.client: AsyncWebClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._transport: HttpTransport | SocketTransport | None = None
        self.routes: list[web.RouteDef] = []  # served beside /slack/events by the HTTP transport
        self._triggers: dict[str, tuple[float, str]] = {}  # event id -> (arrived at, trigger_id), for modals
        self._profiles: dict[str, tuple[float, Sender]] = {}
        self._dm_channels: dict[str, str] = {}
        self._response_urls: dict[tuple[str, str], str] = {}

    @classmethod
    def from_config(cls, config: Config, *, db: Database | None = None, base_url: str | None = None,
                    env: Mapping[str, str] | None = None, limits: Limits | None = None) -> SlackAdapter:
        """The adapter `steward run` starts; tokens come from the environment, never the config file.

        The Web API is `[slack] api_url` (Slack's own when unset); `base_url` overrides it (in-process tests).
        """
        if config.slack is None:
            raise ConfigError("slack", None, "a [slack] section")
        env = os.environ if env is None else env
        socket = config.slack.transport == "socket"
        slugs = [c.slug for c in config.communities if any(ch.startswith("slack:") for ch in c.channels)]
        return cls(bot_token=_token(env, "SLACK_BOT_TOKEN"),
                   signing_secret="" if socket else _token(env, "SLACK_SIGNING_SECRET"),
                   app_token=_token(env, "SLACK_APP_TOKEN") if socket else "",
                   transport=config.slack.transport, host=config.slack.host, port=config.slack.port,
                   community=slugs[0] if len(slugs) == 1 else None,
                   base_url=base_url or config.slack.api_url or None, limits=limits,
                   db=db or database_from_env(config.data_dir), owns_db=db is None)

    @property
    def serves_http(self) -> bool:
        """True with the HTTP transport: its server carries the app's other routes (`routes`)."""
        return self.transport_name == "http"

    @property
    def url(self) -> str:
        """Where the HTTP transport listens (after `start`)."""
        return f"http://{self.host}:{self.port}/slack/events"

    async def start(self, sink: Sink, liveness: Liveness | None = None) -> None:
        """Learn who we are (`auth.test`), replay the inbox, then open the transport."""
        self._session = aiohttp.ClientSession()
        kwargs: dict[str, Any] = {"token": self.bot_token, "session": self._session}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        self.client = AsyncWebClient(**kwargs)
        auth = await self._api("auth.test", "")
        self.identity = dataclasses.replace(self.identity, team_id=auth.get("team_id", ""),
                                            bot_user_id=auth.get("user_id", ""), bot_id=auth.get("bot_id", ""))
        self.user_id = self.identity.bot_user_id
        self.workspace_url = str(auth.get("url") or self.workspace_url)
        self.intake.start(sink, liveness)
        app = build_app(self.client, self.signing_secret, self.intake.accept, verify=self.transport_name == "http")
        if self.transport_name == "socket":
            self._transport = SocketTransport(app, self.app_token, self.client)
        else:
            self._transport = HttpTransport(app, self.host, self.port, self.routes)
        await self.intake.replay()
        await self._transport.start()
        if isinstance(self._transport, HttpTransport):
            self.port = self._transport.port

    async def stop(self, grace: float = 10.0) -> None:
        """Stop receiving, let queued work and sends finish, close connections."""
        if self._transport is not None:
            await self._transport.stop()
        await self.intake.wait(grace)
        try:
            await asyncio.wait_for(self.pacer.drain(), grace)
        except TimeoutError:
            log.warning("some Slack sends were still queued at shutdown")
        await self.intake.close()
        if self._session is not None:
            await self._session.close()
        if self.owns_db:
            await self.db.dispose()

    async def _api(self, method: str, pace_key: str, /, deadline: float | None = None,
                   **kwargs: Any) -> dict[str, Any]:
        """One paced Web API call; 429s wait and retry, other failures map to `AdapterError`.

        `pace_key` is the channel for channel-scoped methods (a 429 pauses that channel only).
        """
        assert self.client is not None, "start the adapter first"
        call = getattr(self.client, method.replace(".", "_"))

        async def once() -> dict[str, Any]:
            try:
                response = await call(**kwargs)
            except SlackApiError as err:
                raise map_error(method, err) from err
            except (aiohttp.ClientError, TimeoutError) as err:
                raise Transient(f"{method}: {err!r}") from err
            return dict(response.data) if isinstance(response.data, dict) else {}

        return await self.pacer.call(method, pace_key, once, deadline)

    async def _enrich(self, event: Event, arrived: float | None) -> Event:
        """Add the sender's name, time zone and locale (users.info, cached) before the core sees it.

        Also keeps the event's `response_url` and, if it arrived recently enough to open a modal, its trigger.
        """
        raw = event.raw if isinstance(event.raw, dict) else {}
        if raw.get("response_url"):
            self._response_urls[(event.channel, event.sender.id)] = raw["response_url"]
        if raw.get("trigger_id") and arrived is not None:
            self._keep_trigger(event.event_id, arrived, str(raw["trigger_id"]))
        if isinstance(event, MessagePosted | CommandInvoked) and (mentions := event.mentions):
            names = [(uid, found.display_name) for uid in mentions[:_NAMED_MENTIONS]
                     if (found := await self._profile(Sender(id=uid))) is not None and found.display_name]
            event = dataclasses.replace(event, mention_names=tuple(names))
        sender = event.sender
        if sender.is_bot or (sender.display_name and sender.timezone) or not sender.id.startswith(("U", "W")):
            return event
        profile = await self._profile(sender)
        return event if profile is None else dataclasses.replace(event, sender=profile)

    async def _profile(self, sender: Sender) -> Sender | None:
        """Someone's name, time zone and locale (users.info, cached); None when Slack does not say."""
        if not sender.id.startswith(("U", "W")):
            return None
        cached = self._profiles.get(sender.id)
        if cached is None or time.monotonic() - cached[0] > PROFILE_TTL:
            try:
                user = (await self._api("users.info", "", user=sender.id, include_locale=True)).get("user") or {}
            except AdapterError as err:
                log.info("users.info %s failed (%s); continuing without a profile", sender.id, err)
                return None
            profile = user.get("profile") or {}
            cached = (time.monotonic(), Sender(
                id=sender.id, display_name=profile.get("display_name") or user.get("real_name") or user.get("name")
                or sender.display_name, timezone=user.get("tz"), locale=user.get("locale"),
                is_bot=bool(user.get("is_bot"))))
            self._profiles[sender.id] = cached
        return cached[1]

    def _keep_trigger(self, event_id: str, arrived: float, trigger_id: str) -> None:
        now = time.monotonic()
        self._triggers = {k: v for k, v in self._triggers.items() if now - v[0] <= self.trigger_window}
        if now - arrived <= self.trigger_window:
            self._triggers[event_id] = (arrived, trigger_id)

    def permalink(self, channel: str, ts: str) -> str:
        """A link to a message (Slack's `archives` form, on the workspace `auth.test` named)."""
        return render.permalink(self.workspace_url, channel, ts)

    def web_link(self, channel: str, ts: str) -> str:
        """A web address of a message, for readers elsewhere (a digest read on another platform)."""
        return self.permalink(channel, ts)

    async def send(self, reply: Reply, key: str | None = None) -> SentRef:
        """Deliver one reply, in order per channel, paced, retried on 429.

        `key` is the core's stable id for this reply. Slack's Web API takes no idempotency key, so a
        message carries it in its metadata (`steward_reply`): after a crash, `already_sent` looks for it
        before the reply is sent again.
        """
        log.debug("sending %s (key %s)", type(reply).__name__, key)
        if self.client is None:
            raise Transient("Slack is not connected yet")  # Steward's outbox keeps the reply and tries again
        reply = resolve_links(reply, self.permalink)
        match reply:
            case Post(channel=channel, text=text):
                args = {**render.message(text), **_keyed(key)}
                return await self.pacer.in_lane(channel, lambda: self._post(channel, args))
            case ReplyInThread(channel=channel, thread=thread, text=text):
                args = {**render.message(text), "thread_ts": thread, **_keyed(key)}
                return await self.pacer.in_lane(channel, lambda: self._post(channel, args))
            case DirectMessage(user=user, text=text, image=image, image_name=name):
                args = {**render.message(text), **_keyed(key)}
                sent = await self.pacer.in_lane(f"dm:{user}", lambda: self._direct(user, args))
                if image:
                    await self._upload(sent.channel, image, name, sent.message_id)
                return sent
            case Ephemeral(channel=channel, user=user, text=text, thread=thread):
                return await self._ephemeral(channel, user, render.message(text), thread)
            case AskChoice() as ask:
                return await self._ask(ask, key)
            case React(channel=channel, message_id=message_id, emoji=emoji):
                return await self.pacer.in_lane(channel, lambda: self._react(channel, message_id, emoji))
            case AskForm() as form:
                return await self._form(form, key)
        raise TypeError(f"cannot send {reply!r}")  # pragma: no cover

    async def already_sent(self, reply: Reply, key: str) -> SentRef | None:
        """The message a reply became, if an earlier (crashed) process sent it: found by the key in its
        metadata among the conversation's latest messages. None when not found or not knowable
        (ephemeral messages leave no trace; reactions are idempotent anyway): then it is sent again."""
        if self.client is None:
            return None
        match reply:
            case Post(channel=channel) | AskChoice(channel=channel, user=None, thread=None):
                return await self._find_keyed(channel, None, key)
            case ReplyInThread(channel=channel, thread=thread) | AskChoice(channel=channel, user=None, thread=thread):
                return await self._find_keyed(channel, thread, key)
            case DirectMessage(user=user):
                dm = self._dm_channels.get(user)
                if dm is None:
                    try:
                        opened = await self._api("conversations.open", f"dm:{user}", users=user)
                    except AdapterError:
                        return None
                    dm = self._dm_channels[user] = str((opened.get("channel") or {}).get("id", ""))
                return await self._find_keyed(dm, None, key)
        return None

    async def _find_keyed(self, channel: str, thread: str | None, key: str) -> SentRef | None:
        method = "conversations.replies" if thread else "conversations.history"
        args: dict[str, Any] = {"channel": channel, "limit": RESEND_LOOKBACK, "include_all_metadata": True}
        if thread:
            args["ts"] = thread
        try:
            data = await self._api(method, channel, **args)
        except AdapterError as err:
            log.info("could not check whether a reply was already sent (%s): sending it again", err)
            return None
        for message in data.get("messages") or []:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_TYPE and (meta.get("event_payload") or {}).get("key") == key:
                return SentRef(PLATFORM, channel, message.get("ts"))
        return None

    async def _ask(self, ask: AskChoice, key: str | None = None) -> SentRef:
        args = render.choice(ask)
        if ask.user is None or ask.channel.startswith("D"):
            args["thread_ts"] = ask.thread
            args.update(_keyed(key))
            return await self.pacer.in_lane(ask.channel, lambda: self._post(ask.channel, args))
        return await self._ephemeral(ask.channel, ask.user, args, ask.thread)

    async def _post(self, channel: str, args: dict[str, Any]) -> SentRef:
        data = await self._api("chat.postMessage", channel, channel=channel,
                               **{k: v for k, v in args.items() if v is not None})
        return SentRef(PLATFORM, data.get("channel", channel), data.get("ts"))

    async def _upload(self, channel: str, data: bytes, name: str, thread: str | None) -> None:
        # files_upload_v2: get an upload URL, send the bytes there, then share the file in the channel.
        await self._api("files.upload_v2", channel, channel=channel, content=data, filename=name, title=name,
                        thread_ts=thread)

    async def _direct(self, user: str, args: dict[str, Any]) -> SentRef:
        channel = self._dm_channels.get(user)
        if channel is None:
            opened = await self._api("conversations.open", f"dm:{user}", users=user)
            channel = self._dm_channels[user] = str((opened.get("channel") or {}).get("id", ""))
        return await self._post(channel, args)

    async def _ephemeral(self, channel: str, user: str, args: dict[str, Any], thread: str | None) -> SentRef:
        if not channel:
            return await self.pacer.in_lane(f"dm:{user}", lambda: self._direct(user, args))

        async def job() -> SentRef:
            try:
                await self._api("chat.postEphemeral", channel, channel=channel, user=user,
                                **{k: v for k, v in {**args, "thread_ts": thread}.items() if v is not None})
            except NotPermitted:
                url = self._response_urls.get((channel, user))
                if url is None:
                    raise
                await self._webhook(url, args)  # e.g. a slash command in a channel Steward is not in
            return SentRef(PLATFORM, channel, None)

        return await self.pacer.in_lane(channel, job)

    async def _webhook(self, url: str, args: dict[str, Any]) -> None:
        response = await AsyncWebhookClient(url, session=self._session).send(
            text=args["text"], blocks=args.get("blocks"), response_type="ephemeral")
        if response.status_code >= 400:
            raise NotPermitted(f"response_url answered {response.status_code}: {response.body}")

    async def _react(self, channel: str, message_id: str, emoji: str) -> SentRef:
        try:
            await self._api("reactions.add", channel, channel=channel, timestamp=message_id, name=emoji.strip(":"))
        except AdapterError as err:
            if "already_reacted" not in str(err):
                raise
        return SentRef(PLATFORM, channel, message_id)

    async def _form(self, form: AskForm, key: str | None) -> SentRef:
        """A modal if its interaction is still fresh, else the form's fallback (its chat dialogue)."""
        # A modal needs the trigger of the interaction it answers; Slack honours it ~3 s after sending it.
        seen = self._triggers.pop(form.event_id, None)
        if seen is None or time.monotonic() - seen[0] > self.trigger_window:
            return await self._form_fallback(form, key, "no fresh Slack interaction to open a modal from")
        fields = tuple(render.FormField(id=f.id, label=f.label, placeholder=f.placeholder, optional=f.optional)
                       for f in form.fields)
        view = render.modal(key=form.key, title=form.title, fields=fields, intro=form.text, channel=form.channel,
                            thread=form.thread, submit=plain(form.submit))
        try:
            view_id = await self.open_form(seen[1], view, deadline=seen[0] + self.trigger_window)
        except AdapterError as err:  # expired_trigger_id, invalid_trigger_id, a 429 outlasting the trigger…
            return await self._form_fallback(form, key, f"views.open failed ({err})")
        return SentRef(PLATFORM, form.channel, view_id)

    async def _form_fallback(self, form: AskForm, key: str | None, why: str) -> SentRef:
        if form.fallback is None:
            raise Unsupported(why)
        log.info("%s: asking in chat instead", why)
        return await self.send(form.fallback, key)

    async def open_form(self, trigger_id: str, view: dict[str, Any], deadline: float | None = None) -> str:
        """Open a modal (`render.modal`) in answer to an interaction; returns the view id.

        `deadline` (`time.monotonic()`): when the trigger expires; waiting for a token past it raises.
        """
        data = await self._api("views.open", "", trigger_id=trigger_id, view=view, deadline=deadline)
        return str((data.get("view") or {}).get("id", ""))
