"""`steward import slack-export PATH --community NAME`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from adapters.slack_export.reader import SlackExport
from bot.importer import HistoryImport, ImportSummary
from storage.db import Database

LARGE_IMPORT_FILES = 1000  # day files; about 50,000 messages and more: rebuild secondary indexes once at the end


async def import_slack_export(db: Database, path: Path, community: str, *, progress: bool | None = None,
                              kudos: Sequence[str] = ("pray",)) -> ImportSummary:
    """Stream a Slack export into the community; returns the summary (skipped files included)."""
    export = SlackExport.open(path)
    try:
        job = HistoryImport(db, community, platform="slack", kudos=kudos)
        channels = list(export.channels())
        # Day by day across channels, not channel by channel: posted times then grow almost monotonically,
        # so the time indexes are appended to instead of being rewritten all over (much faster on SQLite).
        work = sorted(((channel, day) for channel in channels for day in export.day_files(channel.name)),
                      key=lambda item: (Path(item[1]).name, item[0].id))
        await job.begin(export.users(), channels, large=len(work) >= LARGE_IMPORT_FILES)
        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=len(work), unit="file", disable=not show, file=sys.stderr, desc="importing") as bar:
            for channel, day in work:
                await job.add(export.messages(channel, day))
                bar.update(1)
                bar.set_postfix(messages=job.summary.messages_seen, refresh=False)
        return await job.finish(export.skipped)
    finally:
        export.close()


def describe(summary: ImportSummary, community: str) -> str:
    """The end-of-import summary printed to the user."""
    lines = [
        f"Imported into “{community}”: {summary.messages_new} new messages "
        f"({summary.messages_seen - summary.messages_new} already there), {summary.reactions_new} reactions, "
        f"{summary.members} members, {summary.channels} channels, from {summary.files} files "
        f"in {summary.seconds:.1f} s ({summary.rate:,.0f} messages/s).",
    ]
    added = summary.ledger.added
    if added:
        lines.append("Contribution ledger: " + ", ".join(f"+{n} {kind}" for kind, n in added.items())
                     + f" ({summary.ledger.seconds:.1f} s).")
    if summary.skipped:
        lines.append(f"{len(summary.skipped)} file(s) skipped (fix or re-export them, then import again; "
                     "what was imported stays):")
        lines += [f"  {s.path}: {s.reason}" for s in summary.skipped]
    return "\n".join(lines)
