"""`steward db backup PATH` and `steward db restore PATH`: a whole database to a file and back.

SQLite uses its online backup API (a consistent copy while Steward runs, WAL included); PostgreSQL
uses `pg_dump --format=custom` and `pg_restore`, given the connection through PG* environment variables
so the password never shows in a process list. A restore replaces every row and asks for `--yes`.
Both are plain blocking calls: the CLI runs them in a thread.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.errors import InputError, StewardError
from storage.db import alembic_config


@dataclass(frozen=True)
class Target:
    """The database a backup reads or a restore writes, as the tools need it."""

    url: str

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded default."""
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file."""
        database = make_url(self.url).database
        if not database or database == ":memory:":
            raise InputError("this SQLite database is in memory: there is nothing to back up")
        return Path(database)

    def pg_env(self) -> dict[str, str]:
        """PG* variables for pg_dump/pg_restore: the password travels in the environment, not argv."""
        url = make_url(self.url)
        env = dict(os.environ)
        for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                           ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
            if value is not None:
                env[var] = str(value)
        return env

    def shown(self) -> str:
        """The URL as it may be printed: without its password."""
        return make_url(self.url).render_as_string(hide_password=True)


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return head or ""


def known_revisions() -> set[str]:
    """Every migration this code knows."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def backup(target: Target, path: Path) -> str:
    """Write the database to `path` (which must not exist); returns a line saying what was written."""
    if path.exists():
        raise InputError(f"{path} exists already: give a new file name (a backup never overwrites a file)")
    if not path.parent.is_dir():
        raise InputError(f"{path.parent} is not a folder: create it first, or give another path")
    if target.is_sqlite:
        _sqlite_backup(target.sqlite_path, path)
        return f"backed up {target.shown()} to {path} ({path.stat().st_size:,} bytes, SQLite)"
    _run_tool(["pg_dump", "--format=custom", "--no-owner", f"--file={path}"], target.pg_env(), "pg_dump")
    return f"backed up {target.shown()} to {path} ({path.stat().st_size:,} bytes, pg_dump custom format)"


def restore(target: Target, path: Path, *, yes: bool) -> str:
    """Replace the database's content with the backup at `path`; returns a line saying what was done."""
    if not path.is_file():
        raise InputError(f"{path} is not a file: give the path of a file written by `steward db backup`")
    if not yes:
        raise InputError(f"restoring replaces every row of {target.shown()} with the backup's: stop Steward "
                         "first, then run the same command with --yes")
    if target.is_sqlite:
        revision = _sqlite_restore(path, target.sqlite_path)
    else:
        _run_tool(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
                   "--dbname", target.pg_env()["PGDATABASE"], str(path)], target.pg_env(), "pg_restore")
        revision = "as in the backup"
    return (f"restored {path} into {target.shown()} (schema {revision}); the next start applies any newer "
            "migration")


def _sqlite_backup(source: Path, path: Path) -> None:
    if not source.exists():
        raise InputError(f"there is no database at {source} yet: nothing to back up")
    partial = path.with_name(path.name + ".partial")
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(partial) as dst:
            src.backup(dst)  # page by page, consistent even while Steward writes
        partial.replace(path)
    except sqlite3.Error as err:
        raise StewardError(f"could not back up {source}: {err}") from err
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_restore(path: Path, destination: Path) -> str:
    """Check the backup is a whole Steward database this code can migrate, then copy it in."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as src:
            if src.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise InputError(f"{path} is damaged (SQLite's check failed): restore another backup")
            row = src.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = str(row[0]) if row else ""
            if revision not in known_revisions():
                raise InputError(f"{path} was written by a newer Steward (schema {revision or 'unknown'}): "
                                 "restore it with that version, or upgrade this one")
            destination.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(destination) as dst:
                src.backup(dst)
    except sqlite3.DatabaseError as err:
        raise InputError(f"{path} is not a Steward SQLite backup ({err}): give a file written by "
                         "`steward db backup`") from err
    return revision


def _run_tool(argv: list[str], env: dict[str, str], name: str) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as err:
        raise StewardError(f"{name} is not installed: install PostgreSQL's client tools (Debian: "
                           "postgresql-client) in the same major version as the server") from err
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise StewardError(f"{name} failed: {detail[-1] if detail else f'exit code {done.returncode}'}")
