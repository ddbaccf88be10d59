"""a message is keyed by its channel too: Slack's `ts` is unique within a channel only

Revision ID: 0016_import_limits
Revises: 0013_anonymous_participation
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0016_import_limits'
down_revision: str | None = '0013_anonymous_participation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ('message_community_id_platform_id_key', ['community_id', 'platform_id'])
NEW = ('message_community_id_platform_id_channel_id_key', ['community_id', 'platform_id', 'channel_id'])
# SQLite names no constraint: batch mode names the reflected one by this convention to drop it.
CONVENTION = {'uq': 'message_%(column_0_N_name)s_key'}


def _swap(drop: tuple[str, list[str]], create: tuple[str, list[str]]) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(drop[0], 'message', type_='unique')
        op.create_unique_constraint(create[0], 'message', create[1])
        return
    # SQLite rebuilds the table, and dropping the old one (foreign keys on, inside this transaction) runs its
    # ON DELETE actions: reactions would go and contributions lose their message. Keep them aside meanwhile.
    op.execute('CREATE TEMPORARY TABLE keep_reaction AS SELECT * FROM reaction')
    op.execute('CREATE TEMPORARY TABLE keep_evidence AS SELECT id, message_id FROM contribution '
               'WHERE message_id IS NOT NULL')
    with op.batch_alter_table('message', recreate='always', naming_convention=CONVENTION) as batch_op:
        batch_op.drop_constraint(drop[0], type_='unique')
        batch_op.create_unique_constraint(create[0], create[1])
    op.execute('INSERT INTO reaction SELECT * FROM keep_reaction WHERE message_id IN (SELECT id FROM message) '
               'AND id NOT IN (SELECT id FROM reaction)')
    op.execute('UPDATE contribution SET message_id = (SELECT k.message_id FROM keep_evidence k '
               'WHERE k.id = contribution.id) WHERE message_id IS NULL AND id IN (SELECT id FROM keep_evidence)')
    op.execute('DROP TABLE keep_reaction')
    op.execute('DROP TABLE keep_evidence')


def upgrade() -> None:
    _swap(OLD, NEW)


def downgrade() -> None:
    # The old key cannot hold the same id in two channels: the later copies go.
    op.execute('DELETE FROM message WHERE EXISTS (SELECT 1 FROM message o WHERE o.community_id = '
               'message.community_id AND o.platform_id = message.platform_id AND o.id < message.id)')
    _swap(NEW, OLD)
