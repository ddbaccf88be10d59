"""`steward db backup` and `steward db restore`: a round trip through the real command keeps every row."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import resolve_url
from tests.test_cli import env, steward

__all__ = ["env"]


async def _counts(url: str) -> dict[str, int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            return {t: int((await conn.execute(text(f'SELECT count(*) FROM "{t}"'))).scalar_one())
                    for t in sorted(tables)}
    finally:
        await engine.dispose()


def _url(environment: dict[str, str]) -> str:
    return resolve_url(environment.get("STEWARD_DATABASE_URL"), Path(environment["STEWARD_DATA_DIR"]))


def test_backup_then_restore_gives_back_every_row(env: dict[str, str], tmp_path: Path) -> None:
    if env.get("STEWARD_DATABASE_URL"):  # trust auth takes any password: one that must never be printed
        env["STEWARD_DATABASE_URL"] = env["STEWARD_DATABASE_URL"].replace("postgres@", "postgres:s3cr3t-pw@")
    assert steward(env, "demo", stdin="thanks @ana for the helm tips\nquit\n").returncode == 0
    before = asyncio.run(_counts(_url(env)))
    assert before["message"] > 100 and before["member"] > 5
    dump = tmp_path / "steward.backup"
    made = steward(env, "db", "backup", str(dump))
    assert made.returncode == 0, made.stderr
    assert "backed up" in made.stdout and "s3cr3t" not in made.stdout + made.stderr
    # life goes on after the backup: a new chat, new rows
    steward(env, "chat", "--as", "zoe", "--community", "demo", stdin="my data\nquit\n")
    assert asyncio.run(_counts(_url(env))) != before
    refused = steward(env, "db", "restore", str(dump))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = steward(env, "db", "restore", str(dump), "--yes")
    assert done.returncode == 0, done.stderr
    assert "s3cr3t" not in done.stdout + done.stderr
    assert asyncio.run(_counts(_url(env))) == before
    again = steward(env, "demo", stdin="my data\nquit\n")  # the restored database starts and answers
    assert again.returncode == 0 and "Demo community found." in again.stdout


def test_backup_never_overwrites_and_restore_refuses_what_is_not_a_backup(env: dict[str, str],
                                                                          tmp_path: Path) -> None:
    assert steward(env, "db", "upgrade").returncode == 0
    existing = tmp_path / "precious.txt"
    existing.write_text("keep me")
    refused = steward(env, "db", "backup", str(existing))
    assert refused.returncode == 2 and "exists already" in refused.stderr and existing.read_text() == "keep me"
    nowhere = steward(env, "db", "backup", str(tmp_path / "no" / "such" / "dir" / "b.db"))
    assert nowhere.returncode == 2 and "is not a folder" in nowhere.stderr
    missing = steward(env, "db", "restore", str(tmp_path / "missing.db"), "--yes")
    assert missing.returncode == 2 and "is not a file" in missing.stderr
    if not env.get("STEWARD_DATABASE_URL"):  # pg_restore judges its own input; SQLite's is ours to check
        garbage = tmp_path / "garbage.db"
        garbage.write_bytes(os.urandom(8192))
        bad = steward(env, "db", "restore", str(garbage), "--yes")
        assert bad.returncode == 2 and "not a Steward SQLite backup" in bad.stderr
        assert "Traceback" not in bad.stderr
