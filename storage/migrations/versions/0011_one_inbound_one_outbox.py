"""One inbound ledger and one outbox: inbox_event + processed_event + ritual_delivery claims → inbound_event;
pending_reply + matrix_outbox + ritual_delivery message ids → outbox_reply. Existing rows are carried.

Revision ID: 0011_one_inbound_one_outbox
Revises: 0010_pending_reply
"""
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0011_one_inbound_one_outbox'
down_revision: str | None = '0010_pending_reply'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_WHEN = storage.types.UTCDateTime


def _inbound() -> sa.Table:
    return sa.table('inbound_event', sa.column('event_id'), sa.column('platform'), sa.column('status'),
                    sa.column('payload'), sa.column('owner'), sa.column('attempts'),
                    sa.column('received_at', _WHEN()))


def _outbox() -> sa.Table:
    return sa.table('outbox_reply', sa.column('owner'), sa.column('platform'), sa.column('event_id'),
                    sa.column('lane'), sa.column('payload'), sa.column('tag'), sa.column('status'),
                    sa.column('attempts'), sa.column('channel'), sa.column('message_id'),
                    sa.column('created_at', _WHEN()), sa.column('sent_at', _WHEN()))


def upgrade() -> None:
    op.create_table('inbound_event',
    sa.Column('event_id', _S(length=255), nullable=False),
    sa.Column('platform', _S(length=16), nullable=False),
    sa.Column('status', _S(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('owner', _S(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', _WHEN(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('inbound_event', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_event_waiting', ['status', 'platform', 'received_at'], unique=False)
    op.create_table('outbox_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', _S(length=32), nullable=False),
    sa.Column('platform', _S(length=16), nullable=False),
    sa.Column('event_id', _S(length=255), nullable=False),
    sa.Column('lane', _S(length=255), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('tag', _S(length=255), nullable=True),
    sa.Column('status', _S(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('channel', _S(length=255), nullable=True),
    sa.Column('message_id', _S(length=255), nullable=True),
    sa.Column('created_at', _WHEN(), nullable=False),
    sa.Column('sent_at', _WHEN(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,  # ids are idempotency keys: never reused after a row is crossed out
    )
    with op.batch_alter_table('outbox_reply', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_reply_waiting', ['status', 'owner'], unique=False)
        batch_op.create_index('ix_outbox_reply_message', ['platform', 'message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_reply_tag'), ['tag'], unique=False)
    _carry()
    with op.batch_alter_table('inbox_event', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_event_pending')
    op.drop_table('inbox_event')
    op.drop_table('processed_event')
    with op.batch_alter_table('pending_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_reply_owner'))
    op.drop_table('pending_reply')
    op.drop_table('matrix_outbox')
    with op.batch_alter_table('ritual_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ritual_delivery_ritual_id'))
    op.drop_table('ritual_delivery')


def _carry() -> None:
    """Carry every row of the five old tables (an owner of '' is a stopped process: taken over at start)."""
    conn = op.get_bind()
    inbound, outbox = _inbound(), _outbox()
    seen: set[str] = set()
    rows: list[dict[str, object]] = []
    for event_id, platform, status, at in conn.execute(sa.text(
            "SELECT event_id, platform, status, processed_at FROM processed_event")):
        seen.add(event_id)
        rows.append({"event_id": event_id, "platform": platform, "status": status, "payload": None, "owner": None,
                     "attempts": 0, "received_at": _utc(at)})
    for event_id, platform, payload, status, attempts, at in conn.execute(sa.text(
            "SELECT event_id, platform, payload, status, attempts, received_at FROM inbox_event")):
        if event_id not in seen:
            seen.add(event_id)
            rows.append({"event_id": event_id, "platform": platform, "status": status, "payload": payload,
                         "owner": "", "attempts": attempts, "received_at": _utc(at)})
    kept: list[dict[str, object]] = []
    for key, ritual_id, platform, channel, message_id, at in conn.execute(sa.text(
            "SELECT key, ritual_id, platform, channel, message_id, at FROM ritual_delivery")):
        event_id = f"ritual:{key}" if ritual_id is not None else key
        if event_id not in seen:
            seen.add(event_id)
            rows.append({"event_id": event_id, "platform": platform or "steward", "status": "done", "payload": None,
                         "owner": None, "attempts": 0, "received_at": _utc(at)})
        if message_id:
            kept.append({"owner": "", "platform": platform, "event_id": event_id, "lane": channel, "payload": None,
                         "tag": key, "status": "sent", "attempts": 0, "channel": channel, "message_id": message_id,
                         "created_at": _utc(at), "sent_at": _utc(at)})
    for owner, platform, event_id, payload, at in conn.execute(sa.text(
            "SELECT owner, platform, event_id, payload, created_at FROM pending_reply ORDER BY id")):
        kept.append({"owner": "", "platform": platform, "event_id": event_id, "lane": "", "payload": payload,
                     "tag": None, "status": "pending", "attempts": 0, "channel": None, "message_id": None,
                     "created_at": _utc(at), "sent_at": None})
    for txn, room, user, kind, content, poll, attempts, at in conn.execute(sa.text(
            "SELECT txn_id, room_id, user_id, event_type, content, poll, attempts, created_at FROM matrix_outbox "
            "ORDER BY id")):
        body = {"txn_id": txn, "room_id": room, "user_id": user, "event_type": kind, "content": json.loads(content),
                "poll": json.loads(poll) if poll else None}
        kept.append({"owner": "", "platform": "matrix", "event_id": f"matrix-outbox:{txn}",
                     "lane": room or f"dm:{user}", "payload": json.dumps(
                         {"kind": "Prerendered", "platform": "matrix", "body": json.dumps(body)}),
                     "tag": None, "status": "pending", "attempts": attempts, "channel": None, "message_id": None,
                     "created_at": _utc(at), "sent_at": None})
    if rows:
        op.bulk_insert(inbound, rows)
    if kept:
        op.bulk_insert(outbox, kept)


def _utc(value: object) -> datetime:
    """Rows read back as text on SQLite, as datetimes on PostgreSQL: always an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def downgrade() -> None:
    op.create_table('processed_event',
    sa.Column('event_id', _S(length=255), nullable=False),
    sa.Column('platform', _S(length=16), nullable=False),
    sa.Column('status', _S(length=16), nullable=False),
    sa.Column('processed_at', _WHEN(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_table('inbox_event',
    sa.Column('event_id', _S(length=255), nullable=False),
    sa.Column('platform', _S(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', _S(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', _WHEN(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('inbox_event', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_event_pending', ['platform', 'status', 'received_at'], unique=False)
    op.create_table('pending_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', _S(length=32), nullable=False),
    sa.Column('platform', _S(length=16), nullable=False),
    sa.Column('event_id', _S(length=255), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', _WHEN(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pending_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_reply_owner'), ['owner'], unique=False)
    op.create_table('matrix_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('txn_id', _S(length=64), nullable=False),
    sa.Column('room_id', _S(length=255), nullable=True),
    sa.Column('user_id', _S(length=255), nullable=True),
    sa.Column('event_type', _S(length=100), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('poll', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', _WHEN(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('txn_id')
    )
    op.create_table('ritual_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', _S(length=255), nullable=False),
    sa.Column('ritual_id', sa.Integer(), nullable=True),
    sa.Column('step', _S(length=32), nullable=False),
    sa.Column('occurrence_at', _WHEN(), nullable=False),
    sa.Column('status', _S(length=16), nullable=False),
    sa.Column('platform', _S(length=16), nullable=False),
    sa.Column('channel', _S(length=255), nullable=False),
    sa.Column('message_id', _S(length=255), nullable=True),
    sa.Column('at', _WHEN(), nullable=False),
    sa.ForeignKeyConstraint(['ritual_id'], ['ritual.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('ritual_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ritual_delivery_ritual_id'), ['ritual_id'], unique=False)
    op.execute("INSERT INTO processed_event (event_id, platform, status, processed_at) "
               "SELECT event_id, platform, status, received_at FROM inbound_event WHERE status IN ('done', 'failed')")
    op.execute("INSERT INTO inbox_event (event_id, platform, payload, status, attempts, received_at) "
               "SELECT event_id, platform, payload, status, attempts, received_at FROM inbound_event "
               "WHERE status IN ('pending', 'dead') AND payload IS NOT NULL")
    op.execute("INSERT INTO pending_reply (owner, platform, event_id, payload, created_at) "
               "SELECT owner, platform, event_id, payload, created_at FROM outbox_reply "
               "WHERE status = 'pending' AND payload IS NOT NULL")
    with op.batch_alter_table('outbox_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_reply_tag'))
        batch_op.drop_index('ix_outbox_reply_message')
        batch_op.drop_index('ix_outbox_reply_waiting')
    op.drop_table('outbox_reply')
    with op.batch_alter_table('inbound_event', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_event_waiting')
    op.drop_table('inbound_event')
