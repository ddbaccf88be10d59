"""consultation.decision, decided_at, reminded_at: the sponsor's answer to the community, and the one reminder

Revision ID: 0020_digest
Revises: 0019_ritual_occurrences
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0020_digest'
down_revision: str | None = '0019_ritual_occurrences'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ('decision', 'decided_at', 'reminded_at')


def upgrade() -> None:
    op.add_column('consultation', sa.Column('decision', sa.Text(), nullable=True))
    op.add_column('consultation', sa.Column('decided_at', storage.types.UTCDateTime(), nullable=True))
    op.add_column('consultation', sa.Column('reminded_at', storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN on both databases (SQLite 3.35+): a batch rebuild of the table would run the ON DELETE
    # CASCADE of consultation_voice on SQLite and lose the voices.
    for column in reversed(COLUMNS):
        op.drop_column('consultation', column)
