"""`steward digest --community k8s --month 2026-10 --format md|html|png`: the sponsor digest, offline;
`steward digest --portfolio --month 2026-10`: every community side by side (the operator's portfolio)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bot.community_settings import effective
from bot.core import Steward
from bot.digest.chart import render_chart, render_portfolio_chart
from bot.digest.render import as_file, as_html, markdown_file, month_name, portfolio_markdown, to_html
from bot.digest.report import build_digest
from bot.errors import InputError
from bot.features.digest import build_portfolio, parse_month
from bot.i18n import translator
from bot.services import WebLink
from storage.communities import get_community, list_communities


def offline_links() -> dict[str, WebLink]:
    """Web addresses of messages without a running adapter: matrix.to, and Slack's `archives` form on
    slack.com (it opens the reader's own workspace). Platforms whose SDK is not installed get no link."""
    links: dict[str, WebLink] = {}
    try:
        from adapters.matrix.render import matrix_to  # type: ignore[import-not-found,unused-ignore]

        links["matrix"] = matrix_to
    except ImportError:  # pragma: no cover - a build without the Matrix adapter
        pass
    try:
        from adapters.slack.render import permalink  # type: ignore[import-not-found,unused-ignore]

        links["slack"] = partial(permalink, "https://slack.com/")
    except ImportError:  # pragma: no cover - a build without the Slack adapter
        pass
    return links


def _month(month_text: str) -> datetime | None:
    try:
        month = parse_month(month_text)
    except InputError:
        print(f"steward digest: --month {month_text!r}: expected year-month, e.g. 2026-10", file=sys.stderr)
        return None
    return datetime(month.year, month.month, 1, tzinfo=UTC)


async def _write(data: bytes, output: Path | None) -> None:
    if output is not None:
        await asyncio.to_thread(output.write_bytes, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


async def render_digest(steward: Steward, slug: str, month_text: str, fmt: str, output: Path | None,
                        locale: str | None) -> int:
    """Write the digest in `fmt` to `output` (or stdout); 2 with a message for a bad community or month."""
    month = _month(month_text)
    if month is None:
        return 2
    async with steward.db.session() as session:
        community = await get_community(session, slug)
        if community is None:
            print(f"steward digest: no community {slug!r}; use a slug from the config file or an import",
                  file=sys.stderr)
            return 2
        lang = locale or community.locale
        d = await build_digest(session, community, effective(steward.config, community), month.date())  # chat's too
    links = offline_links()
    data = (await asyncio.to_thread(render_chart, d.history, translator(lang)) if fmt == "png" else
            (to_html(d, lang, links) if fmt == "html" else markdown_file(d, lang, links) + "\n").encode())
    await _write(data, output)
    return 0


async def render_portfolio(steward: Steward, month_text: str, fmt: str, output: Path | None,
                           locale: str | None) -> int:
    """Every community's stage, trend and health for the month, side by side, in `fmt`."""
    month = _month(month_text)
    if month is None:
        return 2
    lang = locale or steward.config.locale
    async with steward.db.session() as session:
        communities = await list_communities(session)
        if not communities:
            print("steward digest --portfolio: no community yet; start Steward with a config or import one",
                  file=sys.stderr)
            return 2
        digests = await build_portfolio(session, steward.config, communities, month.date(), datetime.now(UTC))
    text = portfolio_markdown(digests, lang)
    data = (await asyncio.to_thread(render_portfolio_chart, digests, translator(lang)) if fmt == "png" else
            (as_html(text, f"portfolio {month_name(month.date(), lang)}", lang) if fmt == "html"
             else as_file(text) + "\n").encode())
    await _write(data, output)
    return 0
