"""An iCalendar feed per community (meetups and reminders), for `steward ical` and `GET /ical/<slug>/<token>.ics`."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta

from aiohttp import web
from icalendar import Calendar, Event, vRecur

from bot.core import Steward
from bot.features.calendar import FEED_PATH
from bot.features.ritual_common import kind_of, schedule_of, settings_of
from storage.communities import get_community
from storage.db import Database
from storage.feeds import feed_opens
from storage.rituals import list_rituals

_SLUG = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
MEETUP_LENGTH = timedelta(hours=1)


class UnknownCommunity(LookupError):
    """No community by that slug."""


async def community_calendar(db: Database, slug: str, host: str = "steward") -> bytes:
    """The community's active meetups and reminders as one VCALENDAR, with RRULE, EXDATE and RDATE per ritual."""
    async with db.session() as session:
        community = await get_community(session, slug)
        if community is None or community.id is None:
            raise UnknownCommunity(slug)
        rituals = [r for r in await list_rituals(session, community.id, ("active",))
                   if (kind := kind_of(r)) is not None and kind.on_calendar]
    cal = Calendar()
    cal.add("prodid", "-//Steward//rituals//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", community.name or slug)
    for ritual in rituals:
        schedule = schedule_of(ritual)
        start = schedule.dtstart.replace(tzinfo=schedule.zone)
        event = Event()
        event.add("uid", f"ritual-{ritual.id}@{host}")
        event.add("summary", ritual.title)
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", start)
        event.add("dtend", start + MEETUP_LENGTH)
        recur = vRecur.from_ical(schedule.rrule)
        if "UNTIL" in recur:  # RFC 5545: with a TZID start, UNTIL is in UTC
            recur["UNTIL"] = [schedule.localise(u if isinstance(u, datetime) else datetime.combine(u, time(23, 59)))
                              for u in recur["UNTIL"]]
        event.add("rrule", recur)
        for day in schedule.exdates:
            event.add("exdate", datetime.combine(day, schedule.dtstart.time(), tzinfo=schedule.zone))
        for original, new in schedule.moves:  # one date skipped or moved from chat
            event.add("exdate", original.replace(tzinfo=schedule.zone))
            if new is not None:
                event.add("rdate", new.replace(tzinfo=schedule.zone))
        text = settings_of(ritual).get("message") or settings_of(ritual).get("text")
        if text:
            event.add("description", str(text))
        cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


MISS = ("No calendar at this address. Ask your community for the current link: in chat, say `calendar link` "
        "to Steward.\n")


def _miss() -> web.Response:
    """The one answer to every address that is not a current feed: unknown community, wrong, old or no token."""
    return web.Response(status=404, text=MISS, headers={"Cache-Control": "no-store"})


def ical_handler(steward: Steward) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler for `GET /ical/{community}/{token}.ics` (see `ical_routes`).

    A request without the community's current token gets the same 404 as one for a community that
    does not exist, after the same single query: the feed cannot be used to list communities.
    """

    async def handle(request: web.Request) -> web.Response:
        slug, token = request.match_info.get("community", ""), request.match_info.get("token", "")
        if not (_SLUG.fullmatch(slug) and _TOKEN.fullmatch(token)):
            return _miss()
        async with steward.db.reader() as conn:
            opens = await feed_opens(conn, slug, token)
        if not opens:
            return _miss()
        try:
            body = await community_calendar(steward.db, slug, host=request.host or "steward")
        except UnknownCommunity:  # removed meanwhile
            return _miss()
        return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                            headers={"Content-Disposition": f'inline; filename="{slug}.ics"',
                                     "Cache-Control": "private, no-store"})

    return handle


async def _no_feed(_request: web.Request) -> web.Response:
    return _miss()


def ical_routes(steward: Steward) -> list[web.RouteDef]:
    """The feed's routes for an HTTP server: `/ical/<slug>/<token>.ics`, and the old tokenless form
    `/ical/<slug>.ics`, which answers every slug with the same 404 (its subscribers need the new link)."""
    return [web.get(FEED_PATH.format(slug="{community}", token="{token}"), ical_handler(steward)),
            web.get("/ical/{community}.ics", _no_feed)]
