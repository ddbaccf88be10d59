"""The question loop: the asker's choice and `solved`; why a member was suggested kept as facts.

question: `choice` ("" | ask | post | no) and `solved_at`. Old questions: those with an expert asked
were "Ask them"; the others were never sent to anyone, so they no longer escalate.
routing_request: `reason` (text rendered in the asker's language) becomes `facts` (a JSON list rendered
in the reader's); old reasons are read back into facts when they follow the known English or French
sentences, else kept as one `legacy` fact shown as it was written.

Revision ID: 0017_question_loop
Revises: 0015_feed_token
"""
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0017_question_loop'
down_revision: str | None = '0015_feed_token'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONTHS = {name: i for i, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), 1)}
_MONTHS.update({name: i for i, name in enumerate(
    ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
     "novembre", "décembre"), 1)})
# The sentences bot/routing/explain.py wrote before facts, in English and in French (bot/locale/fr.po).
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("answered_threads", r"(?:answered|a répondu à) (?P<n>\d+) (?:similar threads|discussions semblables)"
                         r"(?: (?:on|sur) (?P<topic>.+))?"),
    ("accepted", r"(?P<n>\d+) (?:marked as the answer|marquées comme la réponse)"),
    ("declared", r"(?:declared|a déclaré) (?P<topic>.+)"),
    ("regular_helper", r"(?:one of the community's regular helpers|l'une des personnes qui aident le plus souvent)"
                       r" \((?P<n>\d+) (?:answers|réponses)\)"),
    ("last_answer", r"(?:last answer in|dernière réponse en) (?P<month>\w+) (?P<year>\d{4})"),
    ("active", r"active in this community|actif·ve dans cette communauté|know this community well|"
               r"connaît bien cette communauté|-"),
)


def facts_of(reason: str) -> list[dict[str, Any]]:
    """An old rendered reason as facts (see the module's docstring)."""
    if not reason.strip():
        return []
    out: list[dict[str, Any]] = []
    for part in reason.split("; "):
        fact = _fact(part.strip())
        if fact is None:
            return [{"kind": "legacy", "text": reason}]
        if fact:
            out.append(fact)
    return out


def _fact(part: str) -> dict[str, Any] | None:
    for kind, pattern in _PATTERNS:
        m = re.fullmatch(pattern, part)
        if m is None:
            continue
        if kind == "active":
            return {}
        found = m.groupdict()
        if kind == "last_answer":
            month = _MONTHS.get(found["month"].casefold())
            if month is None:
                return None
            return {"kind": kind, "at": int(datetime(int(found["year"]), month, 15, tzinfo=UTC).timestamp())}
        fact: dict[str, Any] = {"kind": kind}
        if found.get("n"):
            fact["n"] = int(found["n"])
        if found.get("topic"):
            fact["topic"] = found["topic"]
        return fact
    return None


def upgrade() -> None:
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('choice', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('solved_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_question_asker', ['asker_id', 'asked_at'], unique=False)
        batch_op.create_index('ix_question_community', ['community_id', 'status', 'asked_at'], unique=False)
    with op.batch_alter_table('routing_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.Text(), nullable=False, server_default='[]'))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE question SET choice = 'ask' WHERE id IN "
                         "(SELECT question_id FROM routing_request WHERE status = 'asked')"))
    bind.execute(sa.text("UPDATE question SET next_step_at = NULL WHERE choice = ''"))
    rows = bind.execute(sa.text("SELECT id, reason FROM routing_request WHERE reason <> ''")).all()
    update = sa.text("UPDATE routing_request SET facts = :facts WHERE id = :id")
    for row_id, reason in rows:
        bind.execute(update, {"id": row_id, "facts": json.dumps(facts_of(str(reason)), ensure_ascii=False)})
    with op.batch_alter_table('routing_request', schema=None) as batch_op:
        batch_op.drop_column('reason')


def downgrade() -> None:
    with op.batch_alter_table('routing_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, facts FROM routing_request WHERE facts <> '[]'")).all()
    update = sa.text("UPDATE routing_request SET reason = :reason WHERE id = :id")
    for row_id, stored in rows:  # English, as the old code wrote it for an English asker
        bind.execute(update, {"id": row_id, "reason": _english(json.loads(stored))[:500]})
    with op.batch_alter_table('routing_request', schema=None) as batch_op:
        batch_op.drop_column('facts')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index('ix_question_community')
        batch_op.drop_index('ix_question_asker')
        batch_op.drop_column('solved_at')
        batch_op.drop_column('choice')


def _english(found: list[dict[str, Any]]) -> str:
    parts = []
    for f in found:
        kind, n, topic = f.get("kind"), f.get("n"), f.get("topic")
        if kind == "answered_threads":
            parts.append(f"answered {n} similar threads" + (f" on {topic}" if topic else ""))
        elif kind == "accepted":
            parts.append(f"{n} marked as the answer")
        elif kind == "declared":
            parts.append(f"declared {topic}")
        elif kind == "regular_helper":
            parts.append(f"one of the community's regular helpers ({n} answers)")
        elif kind == "last_answer":
            parts.append("last answer in " + datetime.fromtimestamp(int(f.get("at") or 0), UTC).strftime("%B %Y"))
        elif kind == "legacy":
            parts.append(str(f.get("text") or ""))
    return "; ".join(parts) or "active in this community"
