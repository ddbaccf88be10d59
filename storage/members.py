"""Queries on members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, literal
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import limits
from storage.attach import Loaded
from storage.connections import connection_of
from storage.models import Member, Tombstone
from storage.prepared import Prepared
from storage.tombstones import is_tombstoned

# Built once: every event looks its sender up (building and hashing a statement costs more than running it).
_FIND_MEMBER = select(Member).where(Member.community_id == bindparam("community_id"),
                                    Member.platform == bindparam("platform"),
                                    Member.platform_user_id == bindparam("user"))


# The same look-up, and in the same statement whether the account has a tombstone (`storage.tombstones`):
# one row always, the member's columns (or NULLs) beside the tombstone's digest (or NULL). Every event runs
# it: it goes by the prepared road (storage/prepared.py) and the row is attached to the session as the
# ORM would load it (`storage.attach`).
_PROBE = select(literal(1).label("one")).subquery("probe")
_MEMBER_COLUMNS: tuple[Any, ...] = tuple(Member.__table__.columns)  # type: ignore[attr-defined]
_FIND_SENDER = Prepared(sa_select(*_MEMBER_COLUMNS, col(Tombstone.digest)).select_from(_PROBE)
                        .outerjoin(Member, and_(col(Member.community_id) == bindparam("community_id"),
                                                col(Member.platform) == bindparam("platform"),
                                                col(Member.platform_user_id) == bindparam("user")))
                        .outerjoin(Tombstone, col(Tombstone.digest) == bindparam("digest")))
_LOADED_MEMBER = Loaded(Member, _MEMBER_COLUMNS)


async def find_sender(session: AsyncSession, community_id: int, platform: str, platform_user_id: str,
                      digest: str | None) -> tuple[Member | None, bool]:
    """An event's sender: their member row if any, and whether their account is tombstoned (`digest`:
    their tombstone under the installation's key, None when there is no key, hence no tombstone)."""
    params = {"community_id": community_id, "platform": platform, "user": platform_user_id, "digest": digest or ""}
    row = (await _FIND_SENDER.rows(await connection_of(session), params))[0]
    return _LOADED_MEMBER.attach(session, row[:-1]), row[-1] is not None


async def find_member(session: AsyncSession, community_id: int, platform: str,
                      platform_user_id: str) -> Member | None:
    """The member with this platform id in the community, if Steward keeps one."""
    params = {"community_id": community_id, "platform": platform, "user": platform_user_id}
    return (await session.exec(_FIND_MEMBER, params=params)).first()


async def ensure_member(session: AsyncSession, community_id: int, platform: str, platform_user_id: str,
                        *, display_name: str = "", timezone: str | None = None,
                        is_bot: bool = False, joined_at: datetime | None = None,
                        tombstoned: bool | None = None) -> Member:
    """The member row, created on first need (Steward keeps nothing about people it never needed)."""
    member = await find_member(session, community_id, platform, platform_user_id)
    display_name = limits.fit(display_name, limits.NAME_LENGTH)
    if member is None:
        return await add_member(session, community_id, platform, platform_user_id, display_name=display_name,
                                timezone=timezone, is_bot=is_bot, joined_at=joined_at, tombstoned=tombstoned)
    if display_name and not member.display_name:
        member.display_name = display_name
    return member


async def add_member(session: AsyncSession, community_id: int, platform: str, platform_user_id: str,
                     *, display_name: str = "", timezone: str | None = None,
                     is_bot: bool = False, joined_at: datetime | None = None,
                     tombstoned: bool | None = None) -> Member:
    """A new member row, for a caller that has just seen there is none in this transaction.

    The display name is cut to its column (Matrix allows 256 characters), the same on every backend.
    A tombstoned account (`tombstoned`, looked up when the caller does not know) gets an opted-out row
    with nothing more than its id: what it does with Steward works, nothing is indexed or credited.
    """
    if tombstoned is None:
        tombstoned = await is_tombstoned(session, platform, platform_user_id)
    if tombstoned:
        display_name, timezone, joined_at = "", None, None
    member = Member(community_id=community_id, platform=platform, platform_user_id=platform_user_id,
                    display_name=limits.fit(display_name, limits.NAME_LENGTH), timezone=limits.timezone(timezone),
                    is_bot=is_bot, joined_at=joined_at, opted_out=tombstoned)
    session.add(member)
    await session.flush()
    return member


async def members_of_person(session: AsyncSession, platform: str, platform_user_id: str) -> list[Member]:
    """Every community membership of one platform account (privacy commands act on all of them)."""
    stmt = select(Member).where(Member.platform == platform, Member.platform_user_id == platform_user_id)
    return list((await session.exec(stmt)).all())


async def list_members(session: AsyncSession, community_id: int) -> list[Member]:
    """Every member of a community."""
    stmt = select(Member).where(Member.community_id == community_id).order_by(Member.display_name)
    return list((await session.exec(stmt)).all())
