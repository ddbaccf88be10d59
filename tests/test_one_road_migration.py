"""Migration 0011 merges five tables into the inbound ledger and the outbox, carrying every row."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import Connection, Integer, String, column, insert, inspect, table, text

from storage.db import Database, alembic_config
from storage.types import UTCDateTime, utcnow

OLD = {"inbox_event", "processed_event", "pending_reply", "matrix_outbox", "ritual_delivery"}
NEW = {"inbound_event", "outbox_reply"}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_old_rows_are_carried_and_the_way_back_works(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0010_pending_reply"))
        assert OLD <= await conn.run_sync(_tables) and not NEW & await conn.run_sync(_tables)
    old_community = table("community", column("id", Integer), column("slug", String), column("name", String),
                          column("locale", String), column("timezone", String), column("created_at", UTCDateTime()))
    async with db.session() as session:  # the community table as it was then (the model has columns added since)
        await session.exec(insert(old_community).values(id=1, slug="k8s", name="K8s", locale="en", timezone="UTC",
                                                        created_at=utcnow()))
        # The ritual table as it was at 0010 (later revisions add columns the model knows): plain SQL.
        rid = (await session.exec(text(
            "INSERT INTO ritual (community_id, kind, title, rrule, dtstart, timezone, exdates, channel, settings, "
            "status, revision, synced_revision, source, created_by, created_at) VALUES (1, 'explore', '', "
            "'FREQ=MONTHLY', '2026-11-01T10:00:00', 'UTC', '', '', '{}', 'active', 1, 0, 'chat', '', "
            "'2026-11-01 10:00:00') RETURNING id"))).scalar_one()
    async with db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO processed_event VALUES ('Ev1', 'slack', 'done', '2026-11-01 10:00:00')"))
        await conn.execute(text("INSERT INTO inbox_event VALUES ('Ev2', 'slack', '{\"x\": 1}', 'pending', 2, "
                                "'2026-11-01 10:00:00')"))
        await conn.execute(text("INSERT INTO pending_reply (owner, platform, event_id, payload, created_at) VALUES "
                                "('gone', 'slack', 'Ev1', "
                                "'{\"kind\": \"Post\", \"channel\": \"C1\", \"text\": \"hi\"}', "
                                "'2026-11-01 10:00:00')"))
        await conn.execute(text("INSERT INTO matrix_outbox (txn_id, room_id, user_id, event_type, content, poll, "
                                "attempts, created_at) VALUES ('steward-abc', '!r:hs', NULL, 'm.room.message', "
                                "'{\"body\": \"hello\"}', NULL, 0, '2026-11-01 10:00:00')"))
        await conn.execute(text(
            "INSERT INTO ritual_delivery (key, ritual_id, step, occurrence_at, status, platform, channel, message_id, "
            f"at) VALUES ('{rid}:20261101T100000Z:explore', {rid}, 'explore', '2026-11-01 10:00:00', 'sent', 'slack', "
            "'C1', '1700.1', '2026-11-01 10:00:00'), ('welcome:7', NULL, 'welcome', '2026-11-01 10:00:00', 'sent', "
            "'slack', '', NULL, '2026-11-01 10:00:00')"))
    await db.upgrade()
    async with db.engine.begin() as conn:
        tables = await conn.run_sync(_tables)
        assert NEW <= tables and not OLD & tables
        inbound = {r[0]: (r[1], r[2]) for r in await conn.execute(text(
            "SELECT event_id, status, payload FROM inbound_event"))}
        assert inbound["Ev1"] == ("done", None)
        assert inbound["Ev2"] == ("pending", '{"x": 1}')
        assert inbound[f"ritual:{rid}:20261101T100000Z:explore"][0] == "done"
        assert inbound["welcome:7"][0] == "done"
        rows = (await conn.execute(text(
            "SELECT platform, payload, tag, status, message_id, owner FROM outbox_reply ORDER BY id"))).all()
    by_status = {(r[0], r[3]) for r in rows}
    assert by_status == {("slack", "sent"), ("slack", "pending"), ("matrix", "pending")}
    sent = next(r for r in rows if r[3] == "sent")
    assert (sent[2], sent[4]) == (f"{rid}:20261101T100000Z:explore", "1700.1")
    matrix = next(r for r in rows if r[0] == "matrix")
    payload = json.loads(matrix[1])
    assert payload["kind"] == "Prerendered" and json.loads(payload["body"])["txn_id"] == "steward-abc"
    assert all(r[5] == "" for r in rows)  # nobody's: taken over by the first Steward that serves the platform

    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0010_pending_reply"))
        assert (await conn.execute(text("SELECT count(*) FROM processed_event"))).scalar() == 3
        assert (await conn.execute(text("SELECT count(*) FROM inbox_event"))).scalar() == 1
    await db.upgrade()
