"""tombstone, tombstone_key: forgetting that lasts (a keyed hash of each account that asked not to be kept);
an index on contribution.message_id (deleting a message looks its entries up: forget me deletes thousands)

Revision ID: 0014_tombstones
Revises: 0016_import_limits
"""
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0014_tombstones'
down_revision: str | None = '0016_import_limits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tombstone',
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest'),
    )
    op.create_table('tombstone_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_contribution_message_id'), 'contribution', ['message_id'], unique=False)
    # Members who opted out before tombstones existed: their choice now covers every community and import.
    conn = op.get_bind()
    member = sa.table('member', sa.column('platform'), sa.column('platform_user_id'), sa.column('opted_out'),
                      sa.column('forgotten_at'))
    out = conn.execute(sa.select(member.c.platform, member.c.platform_user_id).where(
        member.c.opted_out == sa.true(), member.c.forgotten_at.is_(None)).distinct()).all()
    if out:
        now = datetime.now(UTC)
        key = secrets.token_hex(32)
        op.bulk_insert(sa.table('tombstone_key', sa.column('id'), sa.column('secret'),
                                sa.column('created_at', storage.types.UTCDateTime())),
                       [{'id': 1, 'secret': key, 'created_at': now}])
        digests = {hmac.new(bytes.fromhex(key), f"{platform}:{uid}".encode(), hashlib.sha256).hexdigest()
                   for platform, uid in out}
        op.bulk_insert(sa.table('tombstone', sa.column('digest'), sa.column('at', storage.types.UTCDateTime())),
                       [{'digest': d, 'at': now} for d in sorted(digests)])


def downgrade() -> None:
    op.drop_index(op.f('ix_contribution_message_id'), table_name='contribution')
    op.drop_table('tombstone_key')
    op.drop_table('tombstone')
