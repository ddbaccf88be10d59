"""ritual occurrences keep their identity: one-off moves and skips, a meetup's status, when it was held, its hosts

A meetup row is an occurrence's identity (its agenda, RSVPs, hosts and notes hang off it); a schedule
change or a move re-dates the row instead of leaving it behind. Hosts named ahead wait in `meetup_host`
and are credited once the meetup has happened. Meetups already past when this runs count as held.

Revision ID: 0019_ritual_occurrences
Revises: 0017_question_loop
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0019_ritual_occurrences'
down_revision: str | None = '0017_question_loop'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ritual', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moves', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('meetup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='planned'))
        batch_op.add_column(sa.Column('held_at', storage.types.UTCDateTime(), nullable=True))
    meetup = sa.table('meetup', sa.column('starts_at', storage.types.UTCDateTime()),
                      sa.column('held_at', storage.types.UTCDateTime()))
    op.execute(meetup.update().where(meetup.c.starts_at < datetime.now(UTC)).values(held_at=meetup.c.starts_at))
    op.create_table('meetup_host',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetup.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meetup_id', 'member_id')
    )
    with op.batch_alter_table('meetup_host', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetup_host_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('meetup_host', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetup_host_member_id'))
    op.drop_table('meetup_host')
    with op.batch_alter_table('meetup', schema=None) as batch_op:
        batch_op.drop_column('held_at')
        batch_op.drop_column('status')
    with op.batch_alter_table('ritual', schema=None) as batch_op:
        batch_op.drop_column('moves')
