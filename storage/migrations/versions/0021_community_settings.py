"""community settings from chat: community.settings (JSON), settings_change (who changed what, when), and
survey.min_answers (the anonymity threshold a survey opened with, so a later lower one never applies to it)

Revision ID: 0021_community_settings
Revises: 0020_digest
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0021_community_settings'
down_revision: str | None = '0020_digest'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (never a batch rebuild: rebuilding `community` would cascade-delete its rows' children).
    op.add_column('community', sa.Column('settings', sa.Text(), nullable=False, server_default='{}'))
    op.add_column('survey', sa.Column('min_answers', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('settings_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=False),
    sa.Column('new_value', sa.Text(), nullable=False),
    sa.Column('changed_by', sa.String(length=300), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_settings_change_community_id'), 'settings_change', ['community_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_settings_change_community_id'), table_name='settings_change')
    op.drop_table('settings_change')
    op.drop_column('survey', 'min_answers')  # SQLite ≥ 3.35 drops a column in place, without a rebuild
    op.drop_column('community', 'settings')
