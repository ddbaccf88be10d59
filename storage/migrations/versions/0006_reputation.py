"""reputation: contribution ledger keys (idempotent entries) and the kudos giver

Revision ID: 0006_reputation
Revises: 0005_matrix
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006_reputation'
down_revision: str | None = '0005_matrix'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a foreign key to an existing table, so the table is rebuilt there.
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('giver_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_contribution_giver_id'), ['giver_id'], unique=False)
        batch_op.create_unique_constraint('uq_contribution_key', ['key'])
        batch_op.create_foreign_key('fk_contribution_giver_id_member', 'member', ['giver_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.drop_constraint('fk_contribution_giver_id_member', type_='foreignkey')
        batch_op.drop_constraint('uq_contribution_key', type_='unique')
        batch_op.drop_index(batch_op.f('ix_contribution_giver_id'))
        batch_op.drop_column('giver_id')
        batch_op.drop_column('key')
