"""Tombstones: the accounts that asked Steward not to keep them (`forget me`, `opt out`), as keyed hashes.

A tombstone holds HMAC-SHA256(installation key, "platform:user id"), never the id itself, so forgetting
someone leaves no id behind, yet every later import and live event can still recognise them and keep
nothing. One tombstone covers every community of the installation: `forget me` and `opt out` act on all
of them, and a community the person never wrote in yet must not start collecting them either.
`opt in` removes it. The key lives in `tombstone_key`, made when a Steward starts (or by the first
tombstone, in that tombstone's own transaction): no tombstone exists under a key that was rolled back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Tombstone, TombstoneKey
from storage.types import utcnow

_T: Any = Tombstone.__table__  # type: ignore[attr-defined]
_K: Any = TombstoneKey.__table__  # type: ignore[attr-defined]

Conn = AsyncSession | AsyncConnection


def digest(key: bytes, platform: str, platform_user_id: str) -> str:
    """The tombstone of one platform account under the installation's key (hex)."""
    return hmac.new(key, f"{platform}:{platform_user_id}".encode(), hashlib.sha256).hexdigest()


async def _conn(where: Conn) -> AsyncConnection:
    return await where.connection() if isinstance(where, AsyncSession) else where


def _insert(conn: AsyncConnection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


async def read_key(where: Conn) -> bytes | None:
    """The installation's key, or None while no tombstone was ever written (so none exists)."""
    conn = await _conn(where)
    found = (await conn.execute(select(_K.c.secret).where(_K.c.id == 1))).scalar()
    return bytes.fromhex(found) if found else None


async def ensure_key(where: Conn) -> bytes:
    """The installation's key, made now in the caller's transaction if there is none yet."""
    conn = await _conn(where)
    found = await read_key(conn)
    if found is not None:
        return found
    await conn.execute(_insert(conn)(_K).values(id=1, secret=secrets.token_hex(32), created_at=utcnow())
                       .on_conflict_do_nothing(index_elements=["id"]))
    made = await read_key(conn)  # ours, or a concurrent writer's that committed first
    assert made is not None
    return made


async def is_tombstoned(where: Conn, platform: str, platform_user_id: str) -> bool:
    """Whether this account asked not to be kept (two small reads; the event path reads it with the member)."""
    conn = await _conn(where)
    key = await read_key(conn)
    if key is None:
        return False
    found = await conn.execute(select(_T.c.digest).where(_T.c.digest == digest(key, platform, platform_user_id)))
    return found.first() is not None


async def bury(where: Conn, platform: str, platform_user_id: str) -> None:
    """Write the account's tombstone (once) in the caller's transaction."""
    conn = await _conn(where)
    key = await ensure_key(conn)
    await conn.execute(_insert(conn)(_T).values(digest=digest(key, platform, platform_user_id), at=utcnow())
                       .on_conflict_do_nothing(index_elements=["digest"]))


async def unbury(where: Conn, platform: str, platform_user_id: str) -> None:
    """Remove the account's tombstone (`opt in`): from now on Steward may keep them again."""
    conn = await _conn(where)
    key = await read_key(conn)
    if key is not None:
        await conn.execute(delete(_T).where(_T.c.digest == digest(key, platform, platform_user_id)))


async def matcher(conn: AsyncConnection, platform: str) -> tuple[Callable[[str], bool], bool]:
    """For an import: a fast test "is this user id tombstoned?" (every digest read once, each id hashed
    once), and whether there is any tombstone at all."""
    key = await read_key(conn)
    buried = set((await conn.execute(select(_T.c.digest))).scalars()) if key is not None else set()
    if key is None or not buried:
        return (lambda _uid: False), False
    seen: dict[str, bool] = {}

    def test(uid: str) -> bool:
        found = seen.get(uid)
        if found is None:
            found = seen[uid] = digest(key, platform, uid) in buried
        return found

    return test, True
