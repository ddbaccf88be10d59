"""index (member_id, kind, at) on contribution: a member's latest entries of each kind, for explanations

Revision ID: 0009_contribution_kind_index
Revises: 0008_message_indexes
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0009_contribution_kind_index'
down_revision: str | None = '0008_message_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.create_index('ix_contribution_member_kind', ['member_id', 'kind', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.drop_index('ix_contribution_member_kind')
