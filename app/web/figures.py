"""The figures the pages show: the digest's own (bot/digest/report.py), a month at a time, never redefined here.

A finished month's digest does not change unless history does, so it is computed once and kept (`DigestCache`):
a page over twelve months then costs at most the current month's queries.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.digest.report import Digest, build_digest, first_month, shift
from storage.digest import run
from storage.models import Community, Member, Message

MONTHS = 12
FRESH = 3600.0  # seconds before a finished month's kept digest is computed again (in the background)
log = logging.getLogger(__name__)
Reading = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class DigestCache:
    """Digests of finished months by (community id, month): computed once and kept. After `FRESH` (history may have
    changed in another process: an import) the kept one is still served while a fresh one is computed in the
    background; in this process, `forget` drops a community's months at once (a member forgotten).

    A finished month's thanks across teams are counted with today's teams, which members change in chat at any
    time (in this process or another): a kept digest is served only while the community's teams are those it was
    computed with (`teams`, one small query per page)."""

    reading: Reading
    kept: dict[tuple[int, date], tuple[float, int, Digest]] = field(default_factory=dict)
    # per reading session (one page view asks for up to twelve months): the teams looked at once
    teams_seen: weakref.WeakKeyDictionary[AsyncSession, dict[int, int]] = field(
        default_factory=weakref.WeakKeyDictionary)
    refreshing: set[tuple[int, date]] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    computing: dict[tuple[int, date], asyncio.Future[Digest]] = field(default_factory=dict)

    async def digest(self, session: AsyncSession, config: Config, community: Community, month: date,
                     now: datetime) -> Digest:
        """The digest of `month`; the kept one when that month is over."""
        assert community.id is not None
        finished = month < this_month(now, community.timezone)
        if not finished:
            return await build_digest(session, community, config.community(community.slug), month, now=now)
        key = (community.id, month)
        teams = await self.teams(session, community.id)
        hit = self.kept.get(key)
        if hit is not None and hit[1] == teams:
            if time.monotonic() - hit[0] >= FRESH and key not in self.refreshing:
                self.refreshing.add(key)
                task = asyncio.create_task(self._refresh(key, config, community, month, now))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            return hit[2]
        pending = self.computing.get(key)
        if pending is not None:  # another view (or the warm-up) is computing it: wait for that one
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                this = asyncio.current_task()
                if this is not None and this.cancelling():
                    raise
            except Exception:  # it failed there: try here
                pass
        future: asyncio.Future[Digest] = asyncio.get_running_loop().create_future()
        self.computing[key] = future
        try:
            d = await build_digest(session, community, config.community(community.slug), month, now=now)
        except BaseException as err:  # waiters compute it themselves (the warm-up stopped at shutdown, a fault)
            future.set_exception(err)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del self.computing[key]
        self.kept[key] = (time.monotonic(), teams, d)
        future.set_result(d)
        return d

    async def _refresh(self, key: tuple[int, date], config: Config, community: Community, month: date,
                       now: datetime) -> None:
        try:
            async with self.reading() as session:
                teams = await self.teams(session, key[0])
                d = await build_digest(session, community, config.community(community.slug), month, now=now)
            self.kept[key] = (time.monotonic(), teams, d)
        except Exception:  # the kept digest stays served; the next view tries again
            log.exception("could not refresh the digest of %s for the web pages", month)
        finally:
            self.refreshing.discard(key)

    async def teams(self, session: AsyncSession, community_id: int) -> int:
        """A fingerprint of who is in which team in a community (opted-out members count in none), looked at once
        per session."""
        seen = self.teams_seen.setdefault(session, {})
        if community_id not in seen:
            rows = (await run(session, select(col(Member.id), col(Member.team)).where(
                col(Member.community_id) == community_id, col(Member.team).is_not(None),
                col(Member.opted_out).is_(False)))).all()
            seen[community_id] = hash(frozenset((int(i), str(t)) for i, t in rows))
        return seen[community_id]

    def forget(self, community_id: int | None = None) -> None:
        """History changed: compute this community's months (None: every community's) again."""
        for key in [k for k in self.kept if community_id is None or k[0] == community_id]:
            del self.kept[key]


def this_month(now: datetime, timezone: str) -> date:
    """The month `now` falls in, in the community's time zone."""
    return now.astimezone(ZoneInfo(timezone)).date().replace(day=1)


async def default_month(session: AsyncSession, community: Community, now: datetime) -> date:
    """Last month, or the month of the latest message when the community has been quiet since (a demo, an
    import): the page opens on a month with something to show."""
    last = shift(this_month(now, community.timezone), -1)
    latest = (await run(session, select(func.max(col(Message.posted_at))).where(
        col(Message.community_id) == community.id))).scalar()
    if isinstance(latest, str):  # SQLite hands an aggregate back as text
        latest = datetime.fromisoformat(latest)
    if not isinstance(latest, datetime):
        return last
    aware = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    return min(last, this_month(aware, community.timezone))


async def months_of(session: AsyncSession, community: Community, last: date) -> list[date]:
    """Up to `MONTHS` months ending with `last`, not before the community's history starts."""
    born = await first_month(session, community)
    months = [shift(last, -back) for back in range(MONTHS - 1, -1, -1)]
    return [m for m in months if born is not None and m >= born] or [last]  # no history: the month alone


def short_month(month: date, locale: str) -> str:
    """`Oct 2026`, `oct. 2026`: a chart's label."""
    return format_date(month, "MMM y", locale=locale)
