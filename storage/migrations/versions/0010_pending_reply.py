"""pending_reply: replies committed with their event, kept until delivered (crash between the two)

Revision ID: 0010_pending_reply
Revises: 0009_contribution_kind_index
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0010_pending_reply'
down_revision: str | None = '0009_contribution_kind_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pending_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pending_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_reply_owner'), ['owner'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_reply_owner'))
    op.drop_table('pending_reply')
