"""`steward import slack-export PATH --community NAME`."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from adapters.slack_export.reader import ImportLimits, SlackExport, size_text
from bot.history import SkippedFile
from bot.importer import HistoryImport, ImportSummary
from storage.db import Database

LARGE_IMPORT_FILES = 1000  # day files; about 50,000 messages and more: rebuild secondary indexes once at the end
SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """A size such as 200MB, 2GB, 1.5G or 1048576 (bytes), for --max-file-size and --max-total-size."""
    found = SIZE.fullmatch(text.strip())
    if found is None or float(found[1]) <= 0:
        raise ValueError(f"expected a size such as 200MB or 2GB, got {text!r}")
    return int(float(found[1]) * 1024 ** " kmgt".index(found[2].lower() or " "))


async def import_slack_export(db: Database, path: Path, community: str, *, progress: bool | None = None,
                              kudos: Sequence[str] = ("pray",), limits: ImportLimits | None = None) -> ImportSummary:
    """Stream a Slack export into the community; returns the summary (skipped files and records included).

    An export declaring more than `limits.max_total` is refused before anything is written; one that
    expands beyond it while being read stops there (what was read stays) and says so."""
    export = SlackExport.open(path, limits)
    try:
        job = HistoryImport(db, community, platform="slack", kudos=kudos)
        channels = list(export.channels())
        # Day by day across channels, not channel by channel: posted times then grow almost monotonically,
        # so the time indexes are appended to instead of being rewritten all over (much faster on SQLite).
        work = sorted(((channel, day) for channel in channels for day in export.day_files(channel.name)),
                      key=lambda item: (Path(item[1]).name, item[0].id))
        export.check_total([day for _channel, day in work])
        await job.begin(export.users(), channels, large=len(work) >= LARGE_IMPORT_FILES)
        show = sys.stderr.isatty() if progress is None else progress
        done = 0
        with tqdm(total=len(work), unit="file", disable=not show, file=sys.stderr, desc="importing") as bar:
            for channel, day in work:
                messages = export.messages(channel, day)
                if export.stopped:
                    break
                await job.add(messages)
                done += 1
                bar.update(1)
                bar.set_postfix(messages=job.summary.messages_seen, refresh=False)
        if export.stopped:
            export.skipped.append(SkippedFile(str(path), (
                f"stopped after {done} of {len(work)} day files: the export expands beyond the "
                f"{size_text(export.limits.max_total)} total limit while declaring less; what was read is "
                "imported (raise the limit with --max-total-size only if you trust this export)")))
        return await job.finish(export.skipped, export.problems)
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
    if summary.problems:
        lines.append("Records left out (the rest of their files was imported): "
                     + "; ".join(f"{reason}: {n}" for reason, n in sorted(summary.problems.items(),
                                                                           key=lambda item: (-item[1], item[0])))
                     + ".")
    return "\n".join(lines)
