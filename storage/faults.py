"""What a database or data-folder fault means for the operator: one line saying what is wrong and how to fix it.

The command line shows these instead of a traceback. Nothing here ever repeats a password: URLs are
shown with `mask_url`, and any text that may quote one goes through `mask_secrets` first.
"""

from __future__ import annotations

import errno
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):\S*@")
_PASSWORD_PARAM = re.compile(r"(?i)\b(password|passwd|pwd)=[^&\s]*")


def mask_url(url: str) -> str:
    """`url` with its password replaced by `***`, well-formed or not.

    Masked by shape, not parsed: a password holding `@` or `/` makes a parser cut the URL elsewhere and
    show the rest as host or database name. Everything from `user:` to the last `@` is hidden.
    """
    masked = _PASSWORD_PARAM.sub(lambda m: f"{m[1]}=***", _USERINFO.sub(_hide, url))
    if "://" not in url and "@" in url:  # no scheme: whatever precedes the last `@` may be a password
        masked = "***@" + masked.rpartition("@")[2]
    return masked


def _hide(found: re.Match[str]) -> str:
    return f"{found['scheme']}{found['user']}:***@"


def mask_secrets(text: str, url: str | None = None) -> str:
    """`text` without the password of `url` nor any `user:password@` it quotes."""
    if url:
        found = _USERINFO.search(url)
        password = url[found.end("user") + 1:found.end() - 1] if found else ""
        if password:
            text = text.replace(password, "***")
    return _PASSWORD_PARAM.sub(lambda m: f"{m[1]}=***", _USERINFO.sub(_hide, text))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (`orig`) and what caused it, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        err = todo.pop(0)
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        todo += [getattr(err, "orig", None), err.__cause__, err.__context__]


def explain(exc: BaseException, url: str | None, data_dir: Path) -> str | None:
    """One line for a fault of the database at `url` (None: SQLite in `data_dir`) or of the data folder;
    None when `exc` is none of those (the caller then reports it as unexpected)."""
    for err in _chain(exc):
        if isinstance(err, sqlite3.Error):
            return _sqlite(err, _sqlite_path(url, data_dir))
        if type(err).__module__.startswith("asyncpg"):
            found = _postgres(err, url or "")
            if found:
                return found
        if isinstance(err, OSError):
            found = _os(err, url, data_dir)
            if found:
                return found
    return None


def _sqlite_path(url: str | None, data_dir: Path) -> str:
    if not url:
        return str(data_dir / "steward.db")
    try:
        return str(make_url(url).database or url)
    except Exception:
        return mask_url(url)


def _sqlite(err: sqlite3.Error, path: str) -> str | None:
    name = str(getattr(err, "sqlite_errorname", "") or "")
    text = str(err).lower()
    folder = str(Path(path).parent)
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "locked" in text:
        return (f"the SQLite database {path} is locked by another process (another `steward` on the same file?). "
                "Stop it or let it finish, then try again; for several processes at once, use PostgreSQL.")
    if name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        return (f"the SQLite database {path} is read-only: give the user running Steward write access to it and to "
                f"its folder {folder} (SQLite writes steward.db-wal and -shm beside it).")
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in text or "malformed" in text:
        return (f"{path} is not a readable SQLite database (damaged, or another kind of file): restore it from a "
                "backup, or move it aside to start with an empty one.")
    if name.startswith(("SQLITE_FULL", "SQLITE_IOERR")) or "disk" in text:
        return (f"could not write the SQLite database {path} ({name or text}): the disk is full or failing, or a "
                "file-size limit applies. Free some space (df -h) or check the disk, then try again.")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return (f"cannot open or create the SQLite database {path}: the folder {folder} must exist and be writable "
                "by the user running Steward (or set STEWARD_DATA_DIR or [steward] data_dir to another folder).")
    return None if not name else f"the SQLite database {path} failed ({name}): {err}"


def _where(url: str) -> tuple[str, str, str]:
    """(host:port, database, user) of a PostgreSQL URL, for messages."""
    try:
        parsed = make_url(url)
    except Exception:
        return "?", "?", "?"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return where, str(parsed.database or "?"), str(parsed.username or "?")


def _postgres(err: BaseException, url: str) -> str | None:
    where, database, user = _where(url)
    kind = type(err).__name__
    detail = mask_secrets(str(err), url)
    if kind == "InvalidCatalogNameError":
        return (f"PostgreSQL at {where} has no database \"{database}\": create it (createdb {database}) or fix the "
                "name in STEWARD_DATABASE_URL.")
    if kind in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
        return (f"PostgreSQL at {where} refused user \"{user}\" ({detail}): check the user and password in "
                "STEWARD_DATABASE_URL, and the server's pg_hba.conf.")
    if kind == "InsufficientPrivilegeError":
        return (f"PostgreSQL user \"{user}\" lacks a right Steward needs in database \"{database}\" ({detail}): "
                "grant it (Steward creates its own tables), or use the database's owner.")
    if kind == "DiskFullError":
        return f"PostgreSQL at {where} has a full disk ({detail}): free some space on the server, then try again."
    if kind in ("CannotConnectNowError", "TooManyConnectionsError", "ConnectionDoesNotExistError"):
        return f"PostgreSQL at {where} cannot take Steward's connection now ({detail}): try again in a moment."
    return None


def _os(err: OSError, url: str | None, data_dir: Path) -> str | None:
    if url and not url.startswith("sqlite"):
        where = _where(url)[0]
        if isinstance(err, socket.gaierror):
            return (f"cannot find the PostgreSQL host of {where} ({err.strerror}): check the host name in "
                    "STEWARD_DATABASE_URL.")
        if isinstance(err, ConnectionError | TimeoutError) or err.errno in (
                errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT):
            reason = err.strerror or type(err).__name__
            return (f"cannot reach PostgreSQL at {where} ({reason}): is the server running, and are the host and "
                    "port in STEWARD_DATABASE_URL right?")
    name = getattr(err, "filename", None)
    if name is None:
        return None
    path = Path(str(name))
    reason = err.strerror or type(err).__name__
    if err.errno == errno.ENOSPC:
        return f"cannot write {path}: the disk is full. Free some space (df -h), then try again."
    if path == data_dir or data_dir in path.parents or path in data_dir.parents:
        return (f"cannot use the data folder {data_dir} ({reason}: {path}): set STEWARD_DATA_DIR or [steward] "
                "data_dir to a folder the user running Steward can write, or fix its permissions.")
    return f"cannot use {path} ({reason}): check that the path is right and that the user running Steward may use it."
