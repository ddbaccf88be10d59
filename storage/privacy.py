"""What Steward keeps about a person, and forgetting it."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Table, and_, delete, func, or_, update
from sqlmodel import AutoString, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Consultation,
    Contribution,
    InboundEvent,
    MatrixPoll,
    Member,
    Message,
    OutboxReply,
    Question,
    Reaction,
    Ritual,
    Survey,
)
from storage.surveys import forget_open_answers
from storage.types import utcnow

FORGOTTEN = "forgotten"  # what a forgotten person's id becomes where others' words or records mention it
# Columns the id scrub leaves alone: members' own ids (hers is replaced whole; others' are not hers),
# and the tombstones themselves (keyed hashes, never an id).
_NOT_SCRUBBED = {("member", "platform_user_id"), ("tombstone", "digest"), ("tombstone_key", "secret")}


@dataclass(frozen=True)
class KeptData:
    """A summary of what is stored about one membership."""

    community_id: int
    display_name: str
    locale: str | None
    timezone: str | None
    opted_out: bool
    team: str | None
    messages: int
    reactions: int
    contributions: int


async def kept_data(session: AsyncSession, member: Member) -> KeptData:
    """Counts of the main rows tied to `member`."""
    assert member.id is not None

    async def count(stmt: object) -> int:
        return int((await session.exec(stmt)).one())  # type: ignore[call-overload]

    mid = member.id
    return KeptData(
        community_id=member.community_id, display_name=member.display_name, locale=member.locale,
        timezone=member.timezone, opted_out=member.opted_out, team=member.team,
        messages=await count(select(func.count()).select_from(Message).where(col(Message.author_id) == mid)),
        reactions=await count(select(func.count()).select_from(Reaction).where(col(Reaction.member_id) == mid)),
        contributions=await count(
            select(func.count()).select_from(Contribution).where(col(Contribution.member_id) == mid)),
    )


def member_references(*, nullable: bool = False) -> list[tuple[Table, str]]:
    """Every (table, column) pointing at member.id, children first, so new feature tables are covered.

    With `nullable`, only the `ON DELETE SET NULL` references (rows that belong to someone else and
    merely mention the member); without it, only the references whose rows belong to the member.
    """
    refs: list[tuple[Table, str]] = []
    for table in reversed(SQLModel.metadata.sorted_tables):
        for fk in table.foreign_keys:
            if fk.column.table.name == "member" and fk.column.name == "id":
                if (fk.ondelete == "SET NULL") == nullable:
                    refs.append((table, fk.parent.name))
    return refs


async def forget_member(session: AsyncSession, member: Member) -> None:
    """Delete every row that references the member; anonymise the member row itself; take their platform
    id out of every other row of the database (what they created for the community stays, unsigned).

    The row stays (so counts such as anonymous survey turnout stay right) but no longer names anyone:
    the platform id becomes a random token. The caller writes their tombstone (`storage.tombstones`),
    so that nothing about them is collected again until they opt in.
    """
    platform, uid = member.platform, member.platform_user_id
    await _scrub_waiting(session, platform, uid)
    await _scrub_signatures(session, platform, uid)
    await forget_open_answers(session, member.community_id, platform, uid)
    mine = select(Message.id).where(col(Message.author_id) == member.id)
    await _untopic_their_threads(session, member)
    await session.exec(delete(Reaction).where(col(Reaction.message_id).in_(mine)))
    await session.exec(delete(Contribution).where(col(Contribution.message_id).in_(mine)))
    for table, column in member_references(nullable=True):
        await session.exec(update(table).where(table.c[column] == member.id).values({column: None}))
    for table, column in member_references():
        await session.exec(delete(table).where(table.c[column] == member.id))
    member.platform_user_id = f"forgotten:{uuid.uuid4().hex}"
    member.display_name = ""
    member.timezone = member.locale = member.away_until = member.weekly_cap = member.team = None
    member.joined_at = member.left_at = None
    member.opted_out = True
    member.forgotten_at = utcnow()
    await session.flush()
    await scrub_id_everywhere(session, uid)


async def _untopic_their_threads(session: AsyncSession, member: Member) -> None:
    """Others' entries for answering in their threads keep the credit, not the topic drawn from their words."""
    reply, root = Message.__table__.alias("reply"), Message.__table__.alias("root")  # type: ignore[attr-defined]
    asked: Any = Question.__table__  # type: ignore[attr-defined]
    in_their_threads = select(reply.c.id).join(root, and_(
        root.c.community_id == reply.c.community_id, root.c.platform_id == reply.c.thread_id,
        root.c.author_id == member.id))
    in_their_questions = select(reply.c.id).join(asked, and_(
        asked.c.community_id == reply.c.community_id, asked.c.thread == reply.c.thread_id,
        asked.c.asker_id == member.id))
    await session.exec(update(Contribution).where(or_(col(Contribution.message_id).in_(in_their_threads),
                                                      col(Contribution.message_id).in_(in_their_questions)))
                       .values(topic=None))


def id_pattern(platform_user_id: str) -> re.Pattern[str]:
    """Where a platform id stands in text as that id: a mention (`<@U123>`, `@ana`), a quoted JSON value, a
    `platform:id` reference, or a Matrix id (`@ana:example.org`, distinctive wherever it stands); never
    inside a longer id or word."""
    escaped = re.escape(platform_user_id)
    before = r"(?<![\w.\-])" if platform_user_id.startswith("@") else r"(?<=[@\":])"
    return re.compile(before + escaped + r"(?![\w\-]|\.[\w\-])")


def scrub_id(text: str, platform_user_id: str) -> str:
    """`text` with every mention of or reference to the id replaced by FORGOTTEN."""
    return id_pattern(platform_user_id).sub(FORGOTTEN, text) if platform_user_id in text else text


async def scrub_id_everywhere(session: AsyncSession, platform_user_id: str) -> None:
    """Replace the id in every text column of every table (others' messages mentioning the person, a
    reply waiting for someone else that names them…): a structural pass, so a new column is covered too.

    One scan per table (forget me is rare); only rows whose text really holds the id are rewritten.
    A row whose own key holds the id is theirs alone, and goes.
    """
    pattern = id_pattern(platform_user_id)
    for table in SQLModel.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | AutoString)  # sqlmodel's str columns too
                   and (table.name, c.name) not in _NOT_SCRUBBED]
        if not columns:
            continue
        keys = list(table.primary_key.columns)
        found = await session.exec(select(*keys, *columns).where(or_(
            *(c.contains(platform_user_id, autoescape=True) for c in columns))))
        for row in found.all():
            where = and_(*(k == v for k, v in zip(keys, row[:len(keys)], strict=True)))
            if any(isinstance(v, str) and pattern.search(v) for v in row[:len(keys)]):
                await session.exec(delete(table).where(where))
                continue
            changed = {c.name: _fit(pattern.sub(FORGOTTEN, v), c) for c, v in zip(columns, row[len(keys):], strict=True)
                       if isinstance(v, str) and pattern.search(v)}
            if changed:
                await session.exec(update(table).where(where).values(changed))


def _fit(text: str, column: Any) -> str:
    length = getattr(column.type, "length", None)
    return text[:length] if length else text


async def _scrub_signatures(session: AsyncSession, platform: str, platform_user_id: str) -> None:
    """What they created for the community (rituals, surveys, consultations as sponsor) stays, unsigned;
    polls only they could answer, and sent replies kept in their direct-message lane, go."""
    ref = f"{platform}:{platform_user_id}"
    rituals: Any = Ritual.__table__  # type: ignore[attr-defined]
    surveys: Any = Survey.__table__  # type: ignore[attr-defined]
    consultations: Any = Consultation.__table__  # type: ignore[attr-defined]
    for table, column in ((rituals, "created_by"), (surveys, "created_by"), (consultations, "asked_by")):
        await session.exec(update(table).where(table.c[column] == ref).values({column: ""}))
    polls: Any = MatrixPoll.__table__  # type: ignore[attr-defined]
    await session.exec(delete(polls).where(polls.c.user_id == platform_user_id))
    replies: Any = OutboxReply.__table__  # type: ignore[attr-defined]
    await session.exec(delete(replies).where(replies.c.platform == platform,
                                             replies.c.lane == f"dm:{platform_user_id}"))


async def _scrub_waiting(session: AsyncSession, platform: str, platform_user_id: str) -> None:
    """Deliveries and replies still waiting that carry the person's platform id go too: an event they
    caused not handled yet (its payload holds their words), a reply still to be sent to them.
    Handled events keep only their id, sent replies only their message id: nothing to scrub there."""
    quoted = json.dumps(platform_user_id)  # how the id appears inside a stored JSON payload
    inbound: Any = InboundEvent.__table__  # type: ignore[attr-defined]
    replies: Any = OutboxReply.__table__  # type: ignore[attr-defined]
    await session.exec(delete(inbound).where(inbound.c.platform == platform, inbound.c.payload.is_not(None),
                                             inbound.c.payload.contains(quoted, autoescape=True)))
    await session.exec(delete(replies).where(replies.c.platform == platform, replies.c.payload.is_not(None),
                                             replies.c.payload.contains(quoted, autoescape=True)))
