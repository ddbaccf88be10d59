"""A streaming reader of Slack workspace exports.

Layout: `users.json`, `channels.json`, `<channel name>/<YYYY-MM-DD>.json` (a list of messages). Only one
day file is held in memory at a time, so a million-message export costs a few megabytes.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from bot.errors import InputError
from bot.history import HistoryChannel, HistoryMessage, HistoryUser, SkippedFile
from bot.i18n import N_

DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
SKIPPED_SUBTYPES = {"channel_join", "channel_leave", "bot_message", "channel_topic", "channel_purpose",
                    "channel_name", "channel_archive", "channel_unarchive", "group_join", "group_leave",
                    "pinned_item", "bot_add", "bot_remove", "tombstone", "joiner_notification"}


class NotAnExport(InputError):
    """The path is not a Slack export."""


@dataclass
class SlackExport:
    """An opened export; iterate `users()`, `channels()`, then `days()`."""

    root: Path
    _zip: zipfile.ZipFile | None = None
    _prefix: str = ""
    skipped: list[SkippedFile] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path) -> SlackExport:
        """Open a folder or a .zip, checking it looks like an export."""
        if not path.exists():
            raise NotAnExport(N_("{path} does not exist. Give the folder or .zip of a Slack export."), path=str(path))
        export = cls(path)
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise NotAnExport(N_("{path} is neither a folder nor a .zip: give the Slack export itself."),
                                  path=str(path))
            export._zip = zipfile.ZipFile(path)
            users = [n for n in export._zip.namelist() if PurePosixPath(n).name == "users.json"]
            export._prefix = str(PurePosixPath(min(users, key=len)).parent) + "/" if users else ""
            if export._prefix == "./":
                export._prefix = ""
        if not export._exists("users.json") or not export._exists("channels.json"):
            raise NotAnExport(N_("{path} is not a Slack export: users.json and channels.json are missing. "
                                 "Export from Slack's admin settings and give the unzipped folder or the .zip."),
                              path=str(path))
        return export

    def close(self) -> None:
        """Release the zip file, if any."""
        if self._zip is not None:
            self._zip.close()

    def users(self) -> Iterator[HistoryUser]:
        """Every user; deleted users and bots are flagged (never suggested as experts)."""
        for raw in self._list("users.json"):
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                continue
            profile = raw["profile"] if isinstance(raw.get("profile"), dict) else {}
            name = (profile.get("display_name") or profile.get("real_name") or raw.get("real_name")
                    or raw.get("name") or raw["id"])
            yield HistoryUser(id=raw["id"], display_name=str(name)[:200], timezone=raw.get("tz") or None,
                              is_bot=bool(raw.get("is_bot")) or raw["id"] == "USLACKBOT",
                              deleted=bool(raw.get("deleted")))

    def channels(self) -> Iterator[HistoryChannel]:
        """Every public channel listed in channels.json."""
        for raw in self._list("channels.json"):
            if isinstance(raw, dict) and isinstance(raw.get("id"), str) and isinstance(raw.get("name"), str):
                yield HistoryChannel(id=raw["id"], name=raw["name"])

    def day_files(self, channel_name: str) -> list[str]:
        """The channel's day files, oldest first."""
        if self._zip is not None:
            prefix = f"{self._prefix}{channel_name}/"
            names = [n for n in self._zip.namelist() if n.startswith(prefix) and DAY_FILE.match(n[len(prefix):])]
            return sorted(names)
        folder = self.root / channel_name
        if not folder.is_dir():
            return []
        return sorted(str(p) for p in folder.iterdir() if DAY_FILE.match(p.name))

    def messages(self, channel: HistoryChannel, day_file: str) -> list[HistoryMessage]:
        """The usable messages of one day file; a malformed file is recorded in `skipped` and yields none."""
        try:
            raw = orjson.loads(self._read(day_file))
            if not isinstance(raw, list):
                raise ValueError("expected a JSON list of messages")
            return [m for m in (_message(channel.id, item) for item in raw) if m is not None]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError, OSError, zipfile.BadZipFile) as exc:
            # orjson.JSONDecodeError is a ValueError, so malformed files land here too
            self.skipped.append(SkippedFile(self._display(day_file), _reason(exc)))
            return []

    def _list(self, name: str) -> list[Any]:
        try:
            data = json.loads(self._read(self._path(name)))
        except (ValueError, UnicodeDecodeError) as exc:
            raise NotAnExport(N_("{path} is not valid JSON ({reason}); re-export it from Slack."),
                              path=self._display(self._path(name)), reason=_reason(exc)) from exc
        if not isinstance(data, list):
            raise NotAnExport(N_("{path} should hold a JSON list; re-export it from Slack."),
                              path=self._display(self._path(name)))
        return data

    def _path(self, name: str) -> str:
        return f"{self._prefix}{name}" if self._zip is not None else str(self.root / name)

    def _exists(self, name: str) -> bool:
        if self._zip is not None:
            return self._path(name) in set(self._zip.namelist())
        return (self.root / name).is_file()

    def _read(self, path: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(path)
        return Path(path).read_bytes()

    def _display(self, path: str) -> str:
        return f"{self.root}:{path}" if self._zip is not None else path


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _message(channel_id: str, raw: Any) -> HistoryMessage | None:
    # Hot path of a million-message import: plain dict lookups, one datetime per message.
    if not isinstance(raw, dict) or raw.get("type", "message") != "message":
        return None
    user = raw.get("user")
    if raw.get("subtype") in SKIPPED_SUBTYPES or "bot_id" in raw or not isinstance(user, str):
        return None
    ts = raw.get("ts")
    if not isinstance(ts, str):
        raise ValueError(f"a message has no string `ts`: {str(raw)[:80]}")
    thread = raw.get("thread_ts")
    found = raw.get("reactions")
    reactions = tuple((r["name"], tuple(r.get("users") or ())) for r in found
                      if isinstance(r, dict) and isinstance(r.get("name"), str)) if found else ()
    return HistoryMessage(ts, channel_id, user, raw.get("text") or "", datetime.fromtimestamp(float(ts), UTC),
                          thread if thread is not None and thread != ts and isinstance(thread, str) else None,
                          reactions)
