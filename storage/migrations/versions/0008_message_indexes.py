"""drop ix_message_author: ix_message_author_posted (author_id, posted_at) serves the same lookups

Revision ID: 0008_message_indexes
Revises: 0007_surveys
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0008_message_indexes'
down_revision: str | None = '0007_surveys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_author')


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_author', ['author_id'], unique=False)
