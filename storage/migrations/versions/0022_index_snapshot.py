"""index_snapshot: the expertise index files a process may load instead of rebuilding

Revision ID: 0022_index_snapshot
Revises: 0020_digest
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0022_index_snapshot'
down_revision: str | None = '0021_community_settings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('index_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('mark', sa.Integer(), nullable=False),
    sa.Column('saved_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token'),
    )
    op.create_index(op.f('ix_index_snapshot_community_id'), 'index_snapshot', ['community_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_index_snapshot_community_id'), table_name='index_snapshot')
    op.drop_table('index_snapshot')
