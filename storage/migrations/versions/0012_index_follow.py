"""index_change: what each Steward process's expertise index must re-check after others' writes

Revision ID: 0012_index_follow
Revises: 0011_one_inbound_one_outbox
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0012_index_follow'
down_revision: str | None = '0011_one_inbound_one_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('index_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('platform_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('emoji', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('index_change')
