"""`steward import slack-export PATH --community NAME`."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from adapters.slack_export.reader import SlackExport
from bot.importer import HistoryImport, ImportSummary
from storage.db import Database


async def import_slack_export(db: Database, path: Path, community: str, *,
                              progress: bool | None = None) -> ImportSummary:
    """Stream a Slack export into the community; returns the summary (skipped files included)."""
    export = SlackExport.open(path)
    try:
        job = HistoryImport(db, community, platform="slack")
        channels = list(export.channels())
        await job.begin(export.users(), channels)
        work = [(channel, day) for channel in channels for day in export.day_files(channel.name)]
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
