"""reaction.at indexed: a month's thanks are the reactions given in that month, whenever the message was posted

Revision ID: 0025_reaction_at
Revises: 0024_member_team
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0025_reaction_at'
down_revision: str | None = '0024_member_team'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_reaction_at', 'reaction', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reaction_at', table_name='reaction')
