"""`steward web --community demo`: the web pages on 127.0.0.1, with a one-time sign-in link for the operator
(or, with `--as USER`, for one member, to see the pages as they do). For `demo`, the demo community is made
first, as `steward demo` makes it. `steward run` serves the same pages on its own HTTP server."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.core import Steward
from bot.errors import InputError
from bot.features.dashboard import SIGNIN_PATH
from storage.communities import get_community
from storage.members import find_member
from storage.web import issue_link


def signin_url(base: str, token: str) -> str:
    """The link a reader opens: on `[steward] public_url` when set, else on the address served."""
    return base.rstrip("/") + SIGNIN_PATH.format(token=token)


async def operator_link(steward: Steward, slug: str, user: str | None, base: str) -> str:
    """A fresh one-time link into `slug`'s pages: the operator's, or member `user`'s (`platform:id` or, on the
    terminal's platform, the bare id)."""
    async with steward.db.session() as session:
        community = await get_community(session, slug)
        if community is None or community.id is None:
            raise InputError(f"no community {slug!r}; use a slug from the config file, an import, or `demo`")
        member_id = None
        if user:
            platform, _, uid = user.rpartition(":") if ":" in user and not user.startswith("@") else ("", "", user)
            member = await find_member(session, community.id, platform or "console", uid)
            if member is None or member.id is None or member.forgotten_at is not None:
                raise InputError(f"no member {user!r} in {slug!r} (give platform:id, e.g. slack:U0123)")
            member_id = member.id
        token = await issue_link(session, community.id, member_id, operator=member_id is None)
    return signin_url(base, token)


async def serve_web(steward: Steward, slug: str, user: str | None, where: str | None,
                    out: TextIO = sys.stdout) -> int:
    """Serve the pages (and health, metrics, calendars) on `where` until SIGTERM or Ctrl-C."""
    from app import runtime
    from app.health import health_routes
    from app.web.routes import Web
    from rituals.ical import ical_routes

    if slug == "demo":
        from app.demo import ensure_demo

        await ensure_demo(steward.db)
    where = where or steward.config.http
    link = await operator_link(steward, slug, user, steward.config.public_url or f"http://{where}")
    pages = Web(steward)
    runner = await runtime.serve_http([*pages.routes(), *ical_routes(steward), *health_routes(steward, None)], where)
    warming = pages.start_warming()
    try:
        print(f"Steward's pages for {slug} on http://{where}/web/ — open this link within 15 minutes to sign in "
              f"(it works once):\n{link}\nCtrl-C to stop.", file=out, flush=True)
        await runtime.wait_for_shutdown_signal()
    finally:
        warming.cancel()
        await runner.cleanup()
    return 0
