"""Survey answers and participation that cannot be paired: survey_answer loses its id (primary key
(survey_id, token, question), WITHOUT ROWID on SQLite); closed surveys' answers get random tokens;
"surveyed" contributions get their survey's closing time and are rewritten in member order.

Before, an answer row and a "surveyed" row were written together, one member after the other: sorting
both tables by id (or time, or row position) paired every member with their answers. After this
upgrade nothing stored follows that order any more. Participation in a still-open survey is dropped:
its closing counts it again, from the answers' tokens (storage/surveys.py `seal`).

Revision ID: 0013_anonymous_participation
Revises: 0012_index_follow
"""
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0013_anonymous_participation'
down_revision: str | None = '0012_index_follow'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = storage.types.UTCDateTime


def _survey() -> sa.TableClause:
    return sa.table('survey', sa.column('id'), sa.column('community_id'), sa.column('status'),
                    sa.column('opened_at', _WHEN()), sa.column('closes_at', _WHEN()),
                    sa.column('closed_at', _WHEN()))


def _answer() -> sa.TableClause:
    return sa.table('survey_answer', sa.column('survey_id'), sa.column('token'), sa.column('question'),
                    sa.column('value'))


def _contribution() -> sa.TableClause:
    return sa.table('contribution', sa.column('id'), sa.column('community_id'), sa.column('member_id'),
                    sa.column('kind'), sa.column('key'), sa.column('topic'), sa.column('message_id'),
                    sa.column('evidence_url'), sa.column('note'), sa.column('at', _WHEN()),
                    sa.column('giver_id'))


def _columns(with_id: bool) -> list[Any]:
    return [
        *([sa.Column('id', sa.Integer(), nullable=False)] if with_id else []),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('question', sa.Integer(), nullable=False),
        sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], ondelete='CASCADE'),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    survey, answer, contribution = _survey(), _answer(), _contribution()
    surveys = bind.execute(sa.select(survey.c.id, survey.c.community_id, survey.c.status, survey.c.opened_at,
                                     sa.func.coalesce(survey.c.closed_at, survey.c.closes_at))).all()
    status = {sid: state for sid, _c, state, _o, _e in surveys}
    rows = bind.execute(sa.select(answer.c.survey_id, answer.c.token, answer.c.question, answer.c.value)).all()

    # Answers: a table without a surrogate id (nor, on SQLite, a rowid), closed surveys re-keyed.
    op.drop_table('survey_answer')
    new = op.create_table('survey_answer', *_columns(with_id=False),
                          sa.PrimaryKeyConstraint('survey_id', 'token', 'question'), sqlite_with_rowid=False)
    fresh: dict[tuple[int, str], str] = {}
    for sid, token, _q, _v in rows:
        if status.get(sid) != 'open':
            fresh.setdefault((sid, token), secrets.token_hex(32))
    kept = sorted(({'survey_id': sid, 'token': fresh.get((sid, token), token), 'question': q, 'value': v}
                   for sid, token, q, v in rows), key=lambda r: (r['survey_id'], r['token'], r['question']))
    if kept:
        op.bulk_insert(new, kept)

    # Participation: the closing time of its survey, rewritten in member order; an open survey's goes.
    entries = bind.execute(sa.select(contribution.c.community_id, contribution.c.member_id, contribution.c.at)
                           .where(contribution.c.kind == 'surveyed')).all()
    carried: list[dict[str, Any]] = []
    for community_id, member_id, at in entries:
        within = [(state, end) for _sid, c, state, opened, end in surveys
                  if c == community_id and opened <= at and (state == 'open' or at <= end)]
        if any(state == 'open' for state, _end in within):
            continue
        when: datetime = min((end for _state, end in within), default=at)
        carried.append({'community_id': community_id, 'member_id': member_id, 'kind': 'surveyed', 'key': None,
                        'topic': None, 'message_id': None, 'evidence_url': '', 'note': '', 'at': when,
                        'giver_id': None})
    bind.execute(sa.delete(contribution).where(contribution.c.kind == 'surveyed'))
    if carried:
        carried.sort(key=lambda r: (r['community_id'], r['at'], r['member_id']))
        op.bulk_insert(contribution, carried)


def downgrade() -> None:
    bind = op.get_bind()
    answer = _answer()
    rows = bind.execute(sa.select(answer.c.survey_id, answer.c.token, answer.c.question, answer.c.value)
                        .order_by(answer.c.survey_id, answer.c.token, answer.c.question)).all()
    op.drop_table('survey_answer')
    old = op.create_table('survey_answer', *_columns(with_id=True), sa.PrimaryKeyConstraint('id'),
                          sa.UniqueConstraint('survey_id', 'token', 'question'))
    if rows:
        op.bulk_insert(old, [{'id': n, 'survey_id': s, 'token': t, 'question': q, 'value': v}
                             for n, (s, t, q, v) in enumerate(rows, 1)])
        if bind.dialect.name == 'postgresql':  # the ids were given: the sequence must follow
            op.execute("SELECT setval(pg_get_serial_sequence('survey_answer', 'id'), (SELECT max(id) "
                       "FROM survey_answer))")
