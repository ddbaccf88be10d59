"""`steward digest --community k8s --month 2026-10 --format md|html|png`: the sponsor digest, offline."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.community_settings import effective
from bot.core import Steward
from bot.digest.chart import render_chart
from bot.digest.render import markdown_file, to_html
from bot.digest.report import build_digest
from bot.errors import InputError
from bot.features.digest import parse_month
from bot.i18n import translator
from storage.communities import get_community


async def render_digest(steward: Steward, slug: str, month_text: str, fmt: str, output: Path | None,
                        locale: str | None) -> int:
    """Write the digest in `fmt` to `output` (or stdout); 2 with a message for a bad community or month."""
    try:
        month = parse_month(month_text)
    except InputError:
        print(f"steward digest: --month {month_text!r}: expected year-month, e.g. 2026-10", file=sys.stderr)
        return 2
    async with steward.db.session() as session:
        community = await get_community(session, slug)
        if community is None:
            print(f"steward digest: no community {slug!r}; use a slug from the config file or an import",
                  file=sys.stderr)
            return 2
        lang = locale or community.locale
        _ = translator(lang)
        d = await build_digest(session, community, effective(steward.config, community), month, _)  # chat's too
    data = (await asyncio.to_thread(render_chart, d.history, _) if fmt == "png" else
            (to_html(d, _, lang) if fmt == "html" else markdown_file(d, _, lang) + "\n").encode())
    if output is not None:
        await asyncio.to_thread(output.write_bytes, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
