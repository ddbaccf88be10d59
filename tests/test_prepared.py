"""The prepared road (storage/prepared.py, storage/attach.py) gives what SQLAlchemy's own road gives.

Each test runs on the suite's database (SQLite, or PostgreSQL in its pass), so both drivers' roads are
checked: rows and type conversions, NUL bytes, errors, and ORM objects a handler then changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, exc, insert
from sqlmodel import col, select

from storage import members, prepared
from storage.connections import connection_of
from storage.db import Database
from storage.inbound import claim
from storage.models import Community, InboundEvent, Member
from storage.tombstones import bury, digest, ensure_key

_T = InboundEvent.__table__  # type: ignore[attr-defined]
_INSERT = prepared.Prepared(insert(_T).values(
    event_id=bindparam("event_id", type_=_T.c.event_id.type), platform=bindparam("platform", type_=_T.c.platform.type),
    status="pending", payload=bindparam("payload", type_=_T.c.payload.type), attempts=0,
    received_at=bindparam("received_at", type_=_T.c.received_at.type)).returning(_T.c.event_id, _T.c.received_at))


@pytest.fixture
def went_around() -> Iterator[list[str]]:
    """The statements that took the prepared road (not SQLAlchemy's)."""
    seen: list[str] = []
    prepared.WATCHERS.append(seen.append)
    yield seen
    prepared.WATCHERS.remove(seen.append)


async def test_rows_and_types_are_those_of_sqlalchemy(db: Database, went_around: list[str]) -> None:
    at = datetime(2026, 12, 3, 7, 30, 15, 123456, tzinfo=UTC)
    async with db.session() as session:
        conn = await connection_of(session)
        rows = await _INSERT.rows(conn, {"event_id": "e1", "platform": "slack", "payload": "{}", "received_at": at})
    assert went_around, "the statement went through SQLAlchemy: the prepared road was not taken"
    assert rows == [("e1", at)]  # the datetime came back through the column type's result processor
    async with db.session() as session:
        stored = (await session.exec(select(InboundEvent).where(col(InboundEvent.event_id) == "e1"))).one()
    assert (stored.status, stored.payload, stored.received_at, stored.attempts) == ("pending", "{}", at, 0)


async def test_nul_bytes_are_dropped_as_the_engine_drops_them(db: Database) -> None:
    async with db.session() as session:
        conn = await connection_of(session)
        await _INSERT.rows(conn, {"event_id": "e2", "platform": "slack", "payload": "a\x00b",
                                  "received_at": datetime.now(UTC)})
    async with db.session() as session:
        stored = (await session.exec(select(InboundEvent).where(col(InboundEvent.event_id) == "e2"))).one()
    assert stored.payload == "ab"


async def test_errors_are_sqlalchemy_errors_and_roll_the_transaction_back(db: Database) -> None:
    row = {"event_id": "e3", "platform": "slack", "payload": None, "received_at": datetime.now(UTC)}
    with pytest.raises(exc.IntegrityError):
        async with db.session() as session:
            conn = await connection_of(session)
            assert await claim(session, "other", "slack")
            await _INSERT.rows(conn, row)
            await _INSERT.rows(conn, row)  # the same primary key
    async with db.session() as session:
        assert await claim(session, "other", "slack"), "the failed transaction's claim was not rolled back"


async def test_a_sender_read_by_the_prepared_road_is_a_loaded_object(db: Database, went_around: list[str]) -> None:
    """A handler that changes the member found for the event gets an UPDATE, as with a query's object."""
    async with db.session() as session:
        community = Community(slug="cop", name="CoP")
        session.add(community)
        await session.flush()
        assert community.id is not None
        session.add(Member(community_id=community.id, platform="slack", platform_user_id="UANA", display_name="Ana",
                           joined_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
        key = await ensure_key(session)
        cid = community.id
    went_around.clear()
    async with db.session() as session:
        member, tombstoned = await members.find_sender(session, cid, "slack", "UANA", digest(key, "slack", "UANA"))
        assert went_around and member is not None and not tombstoned
        assert (member.display_name, member.joined_at) == ("Ana", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        assert member in session and not session.dirty
        again = await members.find_member(session, cid, "slack", "UANA")
        assert again is member  # one identity, as the ORM keeps it
        member.locale = "fr"
    async with db.session() as session:
        stored = await members.find_member(session, cid, "slack", "UANA")
        assert stored is not None and stored.locale == "fr" and stored.display_name == "Ana"
        await bury(session, "slack", "UBOB")
    async with db.session() as session:
        nobody, tombstoned = await members.find_sender(session, cid, "slack", "UBOB", digest(key, "slack", "UBOB"))
    assert nobody is None and tombstoned
