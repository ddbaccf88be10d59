"""A streaming, bounded reader of Slack workspace exports.

Layout: `users.json`, `channels.json`, `<channel name>/<YYYY-MM-DD>.json` (a list of messages). Only one
day file is held in memory at a time, so a million-message export costs a few megabytes.

An export is untrusted input (a member may hand one over; a zip can be a bomb), so the reader:
- reads at most `ImportLimits.max_file` bytes per file and `max_total` in all, checked from the sizes
  the zip or the file system declares and again while reading (declared sizes can lie);
- never reads a path outside the export: zip members with `..` or an absolute path, channel names that
  are not plain folder names, and (folders) symlinks leaving the export are refused and reported;
- skips what it cannot use and says so: a whole file (`skipped`) or one record (`problems`, counted),
  never stopping the import for one bad value. JSON nested deeper than 1,024 levels is refused by the
  parser (orjson), without recursion.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson

from bot.errors import InputError
from bot.history import HistoryChannel, HistoryMessage, HistoryUser, SkippedFile
from bot.i18n import N_
from storage.limits import NAME_LENGTH, storable_id

MB = 1024 * 1024
GB = 1024 * MB
CHUNK = MB  # bytes read at a time: what a file may expand to is checked as it expands
DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
DRIVE = re.compile(r"^[A-Za-z]:")  # a Windows drive, e.g. C:
TS = re.compile(r"\d{1,12}(?:\.\d{1,9})?")  # Slack's "1700000100.000100"; refuses inf, nan, 1e300
SKIPPED_SUBTYPES = {"channel_join", "channel_leave", "bot_message", "channel_topic", "channel_purpose",
                    "channel_name", "channel_archive", "channel_unarchive", "group_join", "group_leave",
                    "pinned_item", "bot_add", "bot_remove", "tombstone", "joiner_notification"}
READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # deflate output is read in bounded steps; not bzip2/lzma


@dataclass(frozen=True)
class ImportLimits:
    """How much an export may expand to, per file and in all (the CLI's --max-file-size, --max-total-size)."""

    max_file: int = 200 * MB
    max_total: int = 2 * GB


class NotAnExport(InputError):
    """The path is not a Slack export."""


class ExportTooLarge(InputError):
    """The export declares more data than the total limit allows."""


class _Refused(Exception):
    """One file is not read; the message says why (reported, never raised to the user)."""


class _Stopped(_Refused):
    """The total limit is reached: no further file is read."""


def size_text(size: int) -> str:
    """A byte count as people read it: 200 MB, 1.5 GB."""
    for unit, scale in (("GB", GB), ("MB", MB), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


@dataclass
class SlackExport:
    """An opened export; iterate `users()`, `channels()`, then `messages()` of each of `day_files()`."""

    root: Path
    limits: ImportLimits = field(default_factory=ImportLimits)
    skipped: list[SkippedFile] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)  # records skipped, by reason
    stopped: bool = False  # the total limit was reached while reading
    _zip: zipfile.ZipFile | None = None
    _prefix: str = ""
    _members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # zip: path below the prefix → entry
    _days: dict[str, list[str]] = field(default_factory=dict)  # zip: channel folder → its day files
    _read: int = 0  # bytes read so far
    _root_resolved: Path | None = None  # `root` with its links followed, once

    @classmethod
    def open(cls, path: Path, limits: ImportLimits | None = None) -> SlackExport:
        """Open a folder or a .zip, checking it looks like an export."""
        if not path.exists():
            raise NotAnExport(N_("{path} does not exist. Give the folder or .zip of a Slack export."), path=str(path))
        export = cls(path, limits or ImportLimits())
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise NotAnExport(N_("{path} is neither a folder nor a .zip: give the Slack export itself."),
                                  path=str(path))
            try:
                export._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise NotAnExport(N_("{path} is not a readable .zip ({reason}); download the export again."),
                                  path=str(path), reason=_reason(exc)) from exc
            export._index_zip()
        if not export._exists("users.json") or not export._exists("channels.json"):
            raise NotAnExport(N_("{path} is not a Slack export: users.json and channels.json are missing. "
                                 "Export from Slack's admin settings and give the unzipped folder or the .zip."),
                              path=str(path))
        return export

    def _index_zip(self) -> None:
        assert self._zip is not None
        entries = [info for info in self._zip.infolist() if not info.is_dir()]
        safe = [info for info in entries if _safe_member(info.filename)]
        for info in entries:
            if not _safe_member(info.filename):
                self.skipped.append(SkippedFile(f"{self.root}:{info.filename!r}",
                                                "a path leaving the export (absolute or with ..): not read"))
        users = [i.filename for i in safe if PurePosixPath(i.filename).name == "users.json"]
        prefix = str(PurePosixPath(min(users, key=len)).parent) + "/" if users else ""
        self._prefix = "" if prefix == "./" else prefix
        for info in safe:
            if info.filename.startswith(self._prefix):
                relative = info.filename[len(self._prefix):]
                self._members[relative] = info
                folder, _, name = relative.partition("/")
                if DAY_FILE.match(name):
                    self._days.setdefault(folder, []).append(relative)

    def close(self) -> None:
        """Release the zip file, if any."""
        if self._zip is not None:
            self._zip.close()

    def users(self) -> Iterator[HistoryUser]:
        """Every usable user; deleted users and bots are flagged (never suggested as experts)."""
        for raw in self._list("users.json", "people are named by their ids until it is fixed and imported again"):
            if not isinstance(raw, dict) or not _usable_id(raw.get("id")):
                self.problems["user records without a usable id"] += 1
                continue
            profile = raw["profile"] if isinstance(raw.get("profile"), dict) else {}
            names = (profile.get("display_name"), profile.get("real_name"), raw.get("real_name"), raw.get("name"))
            name = next((n for n in names if isinstance(n, str) and n.strip()), raw["id"])
            tz = raw.get("tz")
            yield HistoryUser(id=raw["id"], display_name=name[:NAME_LENGTH],
                              timezone=tz if isinstance(tz, str) else None,
                              is_bot=raw.get("is_bot") is True or raw["id"] == "USLACKBOT",
                              deleted=raw.get("deleted") is True)

    def channels(self) -> Iterator[HistoryChannel]:
        """Every public channel listed in channels.json whose name is a plain folder name."""
        for raw in self._list("channels.json", "no channel can be imported without it"):
            if not isinstance(raw, dict) or not _usable_id(raw.get("id")) or not isinstance(raw.get("name"), str):
                self.problems["channel records without a usable id or name"] += 1
            elif not _plain_name(raw["name"]):
                self.skipped.append(SkippedFile(self._display("channels.json"),
                                                f"channel {raw['name'][:80]!r}: not a plain folder name (e.g. ../), "
                                                "its messages are not read"))
            else:
                yield HistoryChannel(id=raw["id"], name=raw["name"])

    def day_files(self, channel_name: str) -> list[str]:
        """The channel's day files (paths inside the export), oldest first."""
        if not _plain_name(channel_name):
            return []
        if self._zip is not None:
            return sorted(self._days.get(channel_name, ()))
        folder = self.root / channel_name
        if not folder.is_dir():
            return []
        if not self._inside(folder):
            self.skipped.append(SkippedFile(str(folder), "a link leaving the export: not read"))
            return []
        found = []
        for day in folder.iterdir():
            if DAY_FILE.match(day.name):
                if self._inside(day):
                    found.append(f"{channel_name}/{day.name}")
                else:
                    self.skipped.append(SkippedFile(str(day), "a link leaving the export: not read"))
        return sorted(found)

    def declared_size(self, day_files: list[str]) -> int:
        """What these day files, users.json and channels.json declare they expand to, in bytes."""
        return sum(self._size(name) for name in ("users.json", "channels.json", *day_files))

    def check_total(self, day_files: list[str]) -> None:
        """Refuse, before anything is written, an export declaring more than the total limit."""
        declared = self.declared_size(day_files)
        if declared > self.limits.max_total:
            raise ExportTooLarge(
                N_("{path} expands to {size}, over the {limit} an import reads at most (a damaged export, or a "
                   "zip bomb). If you trust it, raise the limit, e.g. --max-total-size {suggested}."),
                path=str(self.root), size=size_text(declared), limit=size_text(self.limits.max_total),
                suggested=size_text(-(-declared // GB) * GB).replace(" ", ""))

    def messages(self, channel: HistoryChannel, day_file: str) -> list[HistoryMessage]:
        """The usable messages of one day file; a file that cannot be used is recorded in `skipped`
        and yields none, a bad message is counted in `problems` and left out."""
        try:
            raw = orjson.loads(self._bounded(day_file))
        except _Stopped:
            return []
        except (_Refused, ValueError, UnicodeDecodeError, OSError, EOFError, zlib.error,
                zipfile.BadZipFile) as exc:  # orjson.JSONDecodeError is a ValueError
            self.skipped.append(SkippedFile(self._display(day_file), _reason(exc)))
            return []
        if not isinstance(raw, list):
            self.skipped.append(SkippedFile(self._display(day_file), "expected a JSON list of messages"))
            return []
        found = (self._message(channel.id, item) for item in raw)
        return [m for m in found if m is not None]

    def _message(self, channel_id: str, raw: Any) -> HistoryMessage | None:
        # Hot path of a million-message import: plain dict lookups, one datetime per message.
        if not isinstance(raw, dict):
            self.problems["records that are not JSON objects"] += 1
            return None
        if raw.get("type", "message") != "message":
            return None
        user, subtype = raw.get("user"), raw.get("subtype")
        if (isinstance(subtype, str) and subtype in SKIPPED_SUBTYPES) or "bot_id" in raw or not isinstance(user, str):
            return None
        ts, thread, text = raw.get("ts"), raw.get("thread_ts"), raw.get("text")
        if not isinstance(ts, str) or (at := _when(ts)) is None:
            self.problems["messages with a bad ts"] += 1
            return None
        if not storable_id(user):
            self.problems["messages with a bad user id"] += 1
            return None
        if text is not None and not isinstance(text, str):
            self.problems["messages whose text is not text"] += 1
            return None
        if thread == ts:
            thread = None
        elif thread is not None and not (isinstance(thread, str) and TS.fullmatch(thread)):
            self.problems["messages with a bad thread_ts"] += 1
            return None
        found = raw.get("reactions")
        reactions = self._reactions(found) if found else ()
        return HistoryMessage(ts, channel_id, user, text or "", at, thread, reactions)

    def _reactions(self, found: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(emoji, user ids) of each well-formed reaction; `users` must be a list of ids (a string is not)."""
        if not isinstance(found, list):
            self.problems["reactions that are not a list"] += 1
            return ()
        out = []
        for r in found:
            users = r.get("users") if isinstance(r, dict) else None
            if isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(users, list | None) \
                    and all(_usable_id(u) for u in users or ()):
                out.append((r["name"], tuple(users or ())))
            else:
                self.problems["reactions without a name and a list of user ids"] += 1
        return tuple(out)

    def _list(self, name: str, consequence: str) -> list[Any]:
        """A top-level JSON list (users.json, channels.json); [] and a report when it cannot be used."""
        try:
            data = orjson.loads(self._bounded(name))
        except _Stopped:
            return []
        except (_Refused, ValueError, UnicodeDecodeError, OSError, EOFError, zlib.error,
                zipfile.BadZipFile) as exc:
            self.skipped.append(SkippedFile(self._display(name), f"{_reason(exc)}; {consequence}"))
            return []
        if not isinstance(data, list):
            self.skipped.append(SkippedFile(self._display(name), f"should hold a JSON list; {consequence}"))
            return []
        return data

    def _exists(self, name: str) -> bool:
        if self._zip is not None:
            return name in self._members
        return (self.root / name).is_file()

    def _size(self, name: str) -> int:
        if self._zip is not None:
            return self._members[name].file_size if name in self._members else 0
        try:
            return (self.root / name).stat().st_size
        except OSError:
            return 0

    def _resolved_root(self) -> Path:
        """The export folder with its links followed, once (every day file is checked against it)."""
        if self._root_resolved is None:
            self._root_resolved = self.root.resolve()
        return self._root_resolved

    def _inside(self, path: Path) -> bool:
        """True when `path`, links followed, is within the export folder."""
        try:
            return path.resolve().is_relative_to(self._resolved_root())
        except (OSError, RuntimeError):  # a loop of links
            return False

    def _open(self, name: str) -> IO[bytes]:
        if self._zip is not None:
            info = self._members[name]
            if info.compress_type not in READABLE:
                raise _Refused(f"compressed with method {info.compress_type}, which the importer does not read "
                               "(re-create the zip with ordinary deflate compression)")
            return self._zip.open(info)
        path = self.root / name
        if not self._inside(path):
            raise _Refused("a link leaving the export: not read")
        if not path.is_file():
            raise _Refused("not a regular file")
        return path.open("rb")

    def _bounded(self, name: str) -> bytes:
        """The file's bytes, refused beyond the per-file limit; beyond the total limit nothing more is read."""
        limits, declared = self.limits, self._size(name)
        if self.stopped:
            raise _Stopped()
        if declared > limits.max_file:
            raise _Refused(f"expands to {size_text(declared)}, over the {size_text(limits.max_file)} limit per file "
                           "(raise it with --max-file-size if you trust this export)")
        chunks, got = [], 0
        with self._open(name) as stream:
            while chunk := stream.read(CHUNK):
                got += len(chunk)
                if got > limits.max_file:
                    raise _Refused(f"expands beyond the {size_text(limits.max_file)} limit per file, more than it "
                                   "declares (raise it with --max-file-size if you trust this export)")
                if self._read + got > limits.max_total:
                    self.stopped = True
                    raise _Stopped()
                chunks.append(chunk)
        self._read += got
        return b"".join(chunks)

    def _display(self, name: str) -> str:
        return f"{self.root}:{self._prefix}{name}" if self._zip is not None else str(self.root / name)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _Refused):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:300]


def _usable_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) and storable_id(value)


def _plain_name(name: str) -> bool:
    """A channel folder name that stays inside the export: no separator, no `..`, no NUL."""
    return 0 < len(name) <= 255 and name not in (".", "..") and not any(c in name for c in "/\\\x00")


def _safe_member(name: str) -> bool:
    """A zip member path that stays inside the export: relative, without `..`, without NUL."""
    return not (name.startswith(("/", "\\")) or DRIVE.match(name) or ".." in re.split(r"[/\\]", name)
                or "\x00" in name)


def _when(ts: str) -> datetime | None:
    """The time of a Slack `ts`, or None when it is not one (inf, nan, 1e300, -1, year 33658…)."""
    if not TS.fullmatch(ts):
        return None
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None
