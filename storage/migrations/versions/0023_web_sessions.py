"""web_link, web_session: one-time sign-in links (hashed) and the sessions they open for the web pages

Revision ID: 0023_web_sessions
Revises: 0022_index_snapshot
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0023_web_sessions'
down_revision: str | None = '0022_index_snapshot'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_link',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('operator', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index(op.f('ix_web_link_community_id'), 'web_link', ['community_id'], unique=False)
    op.create_index(op.f('ix_web_link_member_id'), 'web_link', ['member_id'], unique=False)
    op.create_table('web_session',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('operator', sa.Boolean(), nullable=False),
    sa.Column('csrf', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index(op.f('ix_web_session_community_id'), 'web_session', ['community_id'], unique=False)
    op.create_index(op.f('ix_web_session_member_id'), 'web_session', ['member_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_session_member_id'), table_name='web_session')
    op.drop_index(op.f('ix_web_session_community_id'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_index(op.f('ix_web_link_member_id'), table_name='web_link')
    op.drop_index(op.f('ix_web_link_community_id'), table_name='web_link')
    op.drop_table('web_link')
