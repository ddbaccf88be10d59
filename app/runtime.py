"""Assembling and running Steward: database, router, adapters, signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime
from functools import partial

from aiohttp import web

from bot.community_settings import apply_config, as_text
from bot.config import Config
from bot.core import Steward
from bot.errors import StewardError
from bot.features import build_router
from rituals.setup import sync_config_rituals, sync_rituals_of
from storage.communities import ensure_channel, ensure_community, get_community, list_communities
from storage.db import database_from_env
from storage.locks import startup_lock

log = logging.getLogger(__name__)
TERMINAL = ("console", "console")  # the terminal chat's platform and channel (adapters/console)


async def open_steward(config: Config) -> Steward:
    """A Steward on the configured database, migrated, with configured communities and channels synced."""
    db = database_from_env(config.data_dir)
    async with startup_lock(db.url, db.is_sqlite):  # several processes may start at once on PostgreSQL
        await db.upgrade()
        steward = Steward(db, config, build_router())
        await sync_communities(steward)
        await sync_config_rituals(db, config)
    return steward


async def sync_communities(steward: Steward) -> None:
    """Create the configured communities, apply the config file to their settings (a key edited in the file
    since the last start wins; what chat changed otherwise stays: bot/community_settings.py) and attach
    their channels. Settings changed in chat later re-sync the community's built-in rituals."""
    now = datetime.now(UTC)
    async with steward.db.session() as session:
        for cc in steward.config.communities:
            community = await ensure_community(session, cc.slug, name=cc.name, locale=cc.locale,
                                               timezone=cc.timezone, founded_on=cc.founded)
            for key, old, new in await apply_config(session, community, cc, now):
                log.warning("community %s: %s is now %s as the config file says (it was %s; the file changed "
                            "since the last start)", cc.slug, key, as_text(new), as_text(old))
            for ref in cc.channels:
                platform, _, platform_id = ref.partition(":")
                await ensure_channel(session, community, platform, platform_id)
    steward.services.directory.forget_communities()  # the rows this process kept may be older than these
    steward.services.settings_changed = partial(sync_rituals_of, steward.config)


async def known_communities(steward: Steward) -> list[str]:
    """The slugs of every community: configured or in the database."""
    async with steward.db.session() as session:
        stored = {c.slug for c in await list_communities(session)}
    return sorted(stored | {cc.slug for cc in steward.config.communities})


async def warm_indexes(steward: Steward) -> None:
    """Build every configured community's expertise index now, so the first question after a start
    does not wait for it (under a minute for a million messages, off the event loop)."""
    async with steward.db.session() as session:
        ids = [c.id for cc in steward.config.communities
               if (c := await get_community(session, cc.slug)) is not None and c.id is not None]
    for community_id in ids:
        try:
            await steward.services.expertise.index(community_id)
        except Exception:  # a question will retry the build; serving goes on
            log.exception("could not build the expertise index of community %d", community_id)


async def ensure_local_community(steward: Steward, slug: str) -> None:
    """Create a community for the terminal chat if it does not exist yet (`steward chat --create`); the
    terminal is one of its channels, so what the community posts (a ritual, a survey's results) shows there.
    An existing community is left exactly as it is (its time zone and language are its settings)."""
    async with steward.db.session() as session:
        if steward.config.community(slug) is None and await get_community(session, slug) is None:
            community = await ensure_community(session, slug, locale=steward.config.locale,
                                               timezone=steward.config.timezone)
            await ensure_channel(session, community, TERMINAL[0], TERMINAL[1], name="#terminal")


async def serve_http(routes: list[web.RouteDef], where: str) -> web.AppRunner:
    """Serve `routes` on `host:port` (`[steward] http`) when no Slack HTTP endpoint is there to carry them."""
    host, _, port = where.rpartition(":")
    runner = web.AppRunner(web.Application(), access_log=None)
    runner.app.router.add_routes(routes)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, int(port)).start()
    except OSError as err:
        await runner.cleanup()
        raise StewardError(f"cannot serve health and metrics on {where} ({err.strerror or err}): set "
                           "[steward] http to a free host:port") from err
    log.info("health, metrics and calendars on http://%s/", where)
    return runner


async def wait_for_shutdown_signal() -> None:
    """Return when SIGTERM or SIGINT arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("shutdown signal received: finishing in-flight work")
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
