"""The core: every event goes through `Steward.dispatch`, from a platform or from the clock.

One road: neutral event → middleware (ignore own, dedupe, context) → feature handlers in one
transaction → replies kept in the outbox with the effects → sent after commit, outside the event's
concurrency slot → crossed out (`bot.delivery`). Scheduled work (`Scheduled` events) takes the same road.

A failure or a bad input undoes the handlers' writes but not the claim: the whole transaction rolls
back and a second one claims the event with its answer (an apology, or what was wrong with the input).
That costs a transaction on the rare failing event instead of a savepoint's two round trips on every one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.adapter import TRANSACTION_OVER, Adapter
from bot.commands import ParsedCommand
from bot.config import Config
from bot.context import Context
from bot.delivery import Delivery, Parcel
from bot.errors import AdapterError, InputError
from bot.events import ChoicePicked, Event, Scheduled
from bot.i18n import N_, normalise_locale
from bot.metrics import EVENTS, HANDLER_SECONDS
from bot.middleware import (
    Duplicate,
    Middleware,
    authorise,
    command_text,
    dedupe,
    ignore_own,
    load_context,
    no_community,
    refuse_unstorable,
)
from bot.replies import AskChoice, Reply, SentRef
from bot.router import Router
from bot.services import Services
from storage.db import Database
from storage.inbound import claim, record_failure
from storage.outbox import cross_out
from storage.tombstones import ensure_key

log = logging.getLogger(__name__)

# Events handled at once: more would only queue inside the connection pool (and time out there under a burst,
# e.g. 5,000 members tapping a survey together). SQLite has one writer anyway; PostgreSQL's pool holds 10.
CONCURRENCY_SQLITE, CONCURRENCY_POSTGRES = 2, 8
SPOKEN = "@"  # in a choice key: the language the question was asked in, e.g. `route:12@fr`
START_WAIT = 30.0  # seconds `start_adapters` waits for a platform before going on without it
MAX_START_BACKOFF = 30.0

SORRY = N_("Sorry, something went wrong on my side while handling that. "
           "It has been logged; please try again in a moment.")


class Steward:
    """The bot: adapters feed it events, features registered on its router answer them."""

    def __init__(self, db: Database, config: Config, router: Router,
                 extra_middleware: tuple[Middleware, ...] = ()) -> None:
        self.db, self.config, self.router = db, config, router
        self.services = Services.for_database(db, config.data_dir)
        self.delivery = Delivery(db, self._send_or_raise, lambda: list(self.adapters), self._already_sent)
        self.adapters: dict[str, Adapter] = {}
        self._own_ids: dict[str, str | None] = self.services.own_ids  # shared: kudos refuse thanking Steward
        self.middleware: tuple[Middleware, ...] = (
            refuse_unstorable, ignore_own(self._own_ids), dedupe, load_context, *extra_middleware)
        self._inflight = 0
        self._slots = asyncio.Semaphore(CONCURRENCY_SQLITE if db.is_sqlite else CONCURRENCY_POSTGRES)
        self._idle = asyncio.Event()
        self._idle.set()
        self.stopping = False
        self.adapter_status: dict[str, str] = {}  # platform → starting | retrying | connected
        self._starting: dict[str, asyncio.Task[None]] = {}

    def add_adapter(self, adapter: Adapter) -> None:
        """Make a platform reachable for replies (and its messages linkable from elsewhere, when it can)."""
        self.adapters[adapter.platform] = adapter
        web_link = getattr(adapter, "web_link", None)
        if callable(web_link):
            self.services.web_links[adapter.platform] = web_link

    @property
    def owner(self) -> str:
        """This process's owner id (of the deliveries it acknowledged and the replies it sends)."""
        return self.delivery.owner

    async def start_adapters(self, wait: float = START_WAIT) -> None:
        """Start every adapter, feeding this bot; then send the replies a crashed Steward left.

        Adapters start side by side. One that is not up within `wait` seconds (its platform down or
        unreachable) keeps trying in the background with a clear log line, while the others, the
        scheduler and the outbox run; its replies wait in the outbox until it is connected.
        """
        await self.delivery.liveness.start()
        async with self.db.session() as session:  # every event reads a sender's tombstone with the sender
            self.services.tombstone_key = await ensure_key(session)
        for adapter in self.adapters.values():
            self.adapter_status[adapter.platform] = "starting"
            self._starting[adapter.platform] = asyncio.create_task(self._start_adapter(adapter),
                                                                   name=f"start-{adapter.platform}")
        if self._starting:
            await asyncio.wait(list(self._starting.values()), timeout=wait)
        for platform, status in self.adapter_status.items():
            if status != "connected":
                self.adapter_status[platform] = "retrying"
                log.warning("%s is not connected yet: retrying in the background; the other platforms and the "
                            "scheduler run meanwhile, and its replies wait in the outbox", platform)
        await self.delivery.start()

    async def _start_adapter(self, adapter: Adapter) -> None:
        delay = 1.0
        while not self.stopping:
            try:
                await adapter.start(self.dispatch, self.delivery.liveness)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.adapter_status[adapter.platform] = "retrying"
                log.warning("could not start %s (%s): trying again in %.0f s", adapter.platform, exc, delay,
                            exc_info=log.isEnabledFor(logging.DEBUG))
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_START_BACKOFF)
                continue
            self._own_ids[adapter.platform] = adapter.user_id
            if self.adapter_status.get(adapter.platform) == "retrying":
                log.warning("%s is connected now", adapter.platform)
            self.adapter_status[adapter.platform] = "connected"
            return

    async def stop(self, grace: float = 10.0) -> None:
        """Stop intake, let in-flight events finish (or roll back unclaimed), then stop adapters."""
        self.stopping = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning("%d event(s) still running at shutdown; their transactions roll back "
                        "and they will be handled again on redelivery", self._inflight)
        await self.services.expertise.idle()  # an opt-in being restored into an index: short, let it end
        await self.services.expertise.stop_following()
        await self.delivery.stop(grace)
        for task in self._starting.values():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for platform, adapter in self.adapters.items():
            try:
                await adapter.stop()
            except Exception:  # one that never connected may have little to stop
                if self.adapter_status.get(platform) == "connected":
                    log.exception("could not stop %s cleanly", platform)

    async def dispatch(self, event: Event) -> bool:
        """Handle one event; True when it was claimed and committed here (False: a duplicate, ignored,
        or left for redelivery). Never raises: a failing handler must not stop an adapter's loop."""
        if self.stopping:
            log.info("shutting down: leaving %s for redelivery", event.event_id)
            return False
        self._own_ids.update({p: a.user_id for p, a in self.adapters.items()})
        self._inflight += 1
        self._idle.clear()
        over = TRANSACTION_OVER.get()
        kind = type(event).__name__
        try:
            async with self._slots:  # back-pressure: wait here rather than time out in the pool
                started = time.perf_counter()
                handled, parcels = await self._run(event)
                HANDLER_SECONDS.labels(kind).observe(time.perf_counter() - started)
            EVENTS.labels(kind, event.platform, "handled" if handled else "skipped").inc()
            if over is not None:
                over()
            await self.delivery.deliver(parcels)  # outside the slot: a slow platform holds no database work
            return handled
        except Exception:
            log.exception("event %s (%s) could not be handled", event.event_id, type(event).__name__)
            EVENTS.labels(kind, event.platform, "error").inc()
            return False
        finally:
            if over is not None:
                over()
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    async def _already_sent(self, platform: str, reply: Reply, key: str) -> SentRef | None:
        """Ask the platform whether a reply taken over from a dead process was sent (adapters that can tell
        have `already_sent(reply, key)`); None: not found, or the adapter cannot tell."""
        find = getattr(self.adapters.get(platform), "already_sent", None)
        if find is None:
            return None
        try:
            found: SentRef | None = await find(reply, key)
        except Exception:
            log.exception("could not check whether a %s was already sent on %s", type(reply).__name__, platform)
            return None
        return found

    async def _send_or_raise(self, platform: str, reply: Reply, key: str | None) -> SentRef:
        adapter = self.adapters.get(platform)
        if adapter is None:
            raise AdapterError(f"no adapter for platform {platform!r} in this process")
        return await adapter.send(reply, key)  # one not connected yet raises Transient: the outbox tries again

    async def _run(self, event: Event) -> tuple[bool, list[Parcel]]:
        crossed: list[tuple[int, bool, str | None, str | None]] = []
        try:
            async with self.db.session() as session:
                # replies sent since the last write are crossed out here, first, so this event sees them sent
                crossed = self.delivery.take_crossed()
                await cross_out(session, crossed)
                ctx = Context(event=event, session=session, config=self.config,
                              commands=tuple(self.router.specs), services=self.services)
                try:
                    await self._chain(ctx, list(self.middleware))
                except Duplicate:
                    log.debug("duplicate event %s ignored", event.event_id)
                    return False, []
                if not ctx.claimed:
                    return False, []
                # The replies are committed with the event's effects: a crash before they are sent loses neither.
                parcels = await self._keep(ctx, session)
        except _Undone as undone:
            self.delivery.give_back(crossed)
            return await self._claim_undone(undone.ctx, undone.failed)
        except BaseException:
            self.delivery.give_back(crossed)
            raise
        for hook in ctx.after_commit_hooks:
            try:
                hook()
            except Exception:
                log.exception("after-commit hook failed for event %s", event.event_id)
        return True, parcels

    async def _keep(self, ctx: Context, session: AsyncSession) -> list[Parcel]:
        if not ctx.outbox:
            return []
        event = ctx.event
        return await self.delivery.keep(session, event.platform, event.event_id, ctx.outbox, ctx.tags, ctx.elsewhere)

    async def _claim_undone(self, ctx: Context, failed: bool) -> tuple[bool, list[Parcel]]:
        """The handlers' writes are rolled back: claim the event again, with its answer and no effect."""
        event = ctx.event
        async with self.db.session() as session:
            if not await claim(session, event.event_id, event.platform):
                return False, []  # handled meanwhile by another delivery of it
            if failed:
                await record_failure(session, event.event_id)
            return True, await self._keep(ctx, session)

    async def _chain(self, ctx: Context, middleware: list[Middleware]) -> None:
        if middleware:
            first, rest = middleware[0], middleware[1:]
            await first(ctx, lambda: self._chain(ctx, rest))
            return
        try:
            await self._route(ctx)
        except InputError as err:
            ctx.after_commit_hooks.clear()
            ctx.discard_replies()
            if isinstance(ctx.event, Scheduled):  # nobody to answer: the operator reads the log
                log.warning("scheduled %s refused: %s", ctx.event.event_id, err)
            else:
                ctx.outbox = [_input_answer(ctx, err, self.router)]
            raise _Undone(ctx, failed=False) from err
        except Exception as exc:
            log.exception("handler failed for event %s (%s) in community %s", ctx.event.event_id,
                          type(ctx.event).__name__, ctx.community.slug if ctx.community else "-")
            ctx.after_commit_hooks.clear()
            ctx.discard_replies()
            if not isinstance(ctx.event, Scheduled):
                ctx.reply_privately(ctx._(SORRY))
            raise _Undone(ctx, failed=True) from exc

    async def _route(self, ctx: Context) -> None:
        event = ctx.event
        if isinstance(event, Scheduled):
            job = self.router.job_handler(event.job)
            if job is None:
                log.warning("no handler for scheduled job %r (%s)", event.job, event.event_id)
                return
            await job(ctx)
            return
        if isinstance(event, ChoicePicked):
            key, mark, spoken = event.key.rpartition(SPOKEN)
            if mark and normalise_locale(spoken) == spoken:  # asked in the language the member typed: answered in it
                ctx.event = event = dataclasses.replace(event, key=key)
                if not (ctx.member and ctx.member.locale) and not event.sender.locale:
                    ctx.locale = spoken
                    await self._dispatch_choice(ctx, event)
                    _mark_spoken(ctx)
                    return
            await self._dispatch_choice(ctx, event)
            return
        text = command_text(ctx)
        deferred: InputError | None = None
        spoken_here = False
        if text is not None:
            try:
                ctx.command = self.router.parser.parse(text, prefer=ctx.locale)
            except InputError as err:
                deferred = err
            if ctx.command is not None and not (ctx.member and ctx.member.locale) and not event.sender.locale:
                spoken_here = ctx.command.locale != ctx.locale
                ctx.locale = ctx.command.locale  # no stated preference: answer in the language they typed
            if ctx.command is None and deferred is None:
                help_spec = self.router.spec("help")
                ctx.command = None if help_spec is None else ParsedCommand(help_spec, "", ctx.locale)
        await self._dispatch_text(ctx, deferred)
        if spoken_here:
            _mark_spoken(ctx)

    async def _dispatch_choice(self, ctx: Context, event: ChoicePicked) -> None:
        handler = self.router.choice_handler(event.key)
        if handler is None:
            log.warning("no handler for choice key %r", event.key)
            return
        authorise(ctx, self.router.choice_role(event.key))
        await handler(ctx)

    async def _dispatch_text(self, ctx: Context, deferred: InputError | None) -> None:
        for handler in self.router.handlers_for(ctx.event):
            await handler(ctx)
        if ctx.taken:  # e.g. the title a guided dialogue asked for: not a command, and no "I didn't get that"
            return
        if deferred is not None:
            raise deferred
        if ctx.command is not None:
            if ctx.community is None and ctx.command.spec.needs_community:
                ctx.reply(no_community(ctx))
                return
            authorise(ctx)
            await self.router.commands[ctx.command.spec.key](ctx)


def _mark_spoken(ctx: Context) -> None:
    """Mark the questions asked of this member alone with the language they typed in (no stated preference), so
    their answer, a later event, is handled in that language too: `route:12` → `route:12@fr`."""
    sender = ctx.event.sender.id
    ctx.outbox = [dataclasses.replace(r, key=f"{r.key}{SPOKEN}{ctx.locale}")
                  if isinstance(r, AskChoice) and r.user == sender and SPOKEN not in r.key else r for r in ctx.outbox]


class _Undone(Exception):
    """Raised out of the event's transaction to roll the handlers' writes back; carries the answer."""

    def __init__(self, ctx: Context, failed: bool) -> None:
        super().__init__(ctx.event.event_id)
        self.ctx, self.failed = ctx, failed


def _input_answer(ctx: Context, err: InputError, router: Router) -> Reply:
    """The member-facing reply to a bad input, in their language, with the right form."""
    params: dict[str, object] = dict(err.params)
    if "{usage}" in err.msgid:
        spec = router.spec(err.usage_key) if err.usage_key else None
        params["usage"] = spec.usage(ctx.locale, ctx._) if spec else "help"
    ctx.discard_replies()
    ctx.reply(ctx._(err.msgid, **params))
    return ctx.outbox[0]
