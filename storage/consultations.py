"""Queries on consultations (a sponsor's question to a community) and the voices they gather."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import outbox
from storage.models import Consultation, ConsultationVoice, MemberPreference
from storage.types import utcnow


async def open_for_thread(session: AsyncSession, platform: str, message_id: str) -> Consultation | None:
    """The open consultation whose post is `message_id` (replies in its thread are voices)."""
    stmt = select(Consultation).where(Consultation.platform == platform, Consultation.message_id == message_id,
                                      Consultation.status == "open")
    found = (await session.exec(stmt)).first()
    if found is not None:
        return found
    tag = await outbox.tag_of(session, platform, message_id)
    if tag is None or not tag.startswith("consultation:") or not tag.partition(":")[2].isdigit():
        return None
    found = await session.get(Consultation, int(tag.partition(":")[2]))
    return found if found is not None and found.status == "open" else None


async def add_voice(session: AsyncSession, consultation_id: int, member_id: int, *, stance: str | None = None,
                    text: str = "") -> ConsultationVoice:
    """Record what a member said: a stance replaces the previous one, words are added to theirs."""
    stmt = select(ConsultationVoice).where(ConsultationVoice.consultation_id == consultation_id,
                                           ConsultationVoice.member_id == member_id)
    voice = (await session.exec(stmt)).first()
    if voice is None:
        voice = ConsultationVoice(consultation_id=consultation_id, member_id=member_id)
        session.add(voice)
    if stance is not None:
        voice.stance = stance
    if text:
        voice.text = f"{voice.text}\n{text}".strip()[:2000]
    voice.at = utcnow()
    await session.flush()
    return voice


async def stance_counts(session: AsyncSession, consultation_id: int) -> tuple[int, dict[str, int]]:
    """(number of voices, voices per stance)."""
    stmt = select(ConsultationVoice.stance, func.count()).where(
        ConsultationVoice.consultation_id == consultation_id).group_by(col(ConsultationVoice.stance))
    rows = (await session.exec(stmt)).all()
    return sum(int(n) for _, n in rows), {stance: int(n) for stance, n in rows if stance is not None}


async def quotable_words(session: AsyncSession, consultation_id: int, default: bool, limit: int = 10) -> list[str]:
    """Words of members who allow quoting (their preference, else the community's default), oldest first."""
    allowed = col(MemberPreference.quotes).is_(True) if not default else col(MemberPreference.quotes).is_not(False)
    stmt = (select(ConsultationVoice.text)
            .outerjoin(MemberPreference, col(MemberPreference.member_id) == col(ConsultationVoice.member_id))
            .where(ConsultationVoice.consultation_id == consultation_id, ConsultationVoice.text != "", allowed)
            .order_by(col(ConsultationVoice.at)).limit(limit))
    return list((await session.exec(stmt)).all())


async def due(session: AsyncSession, now: datetime) -> list[Consultation]:
    """Open consultations past their deadline (locked for this transaction on PostgreSQL)."""
    stmt = select(Consultation).where(Consultation.status == "open", col(Consultation.deadline) <= now)
    return list((await session.exec(stmt.order_by(col(Consultation.id)).with_for_update(skip_locked=True))).all())


async def of_community(session: AsyncSession, community_id: int, past: int = 10) -> list[Consultation]:
    """The community's open consultations (soonest deadline first), then its `past` latest closed ones."""
    base = select(Consultation).where(Consultation.community_id == community_id)
    opened = (await session.exec(base.where(Consultation.status == "open")
                                 .order_by(col(Consultation.deadline), col(Consultation.id)))).all()
    closed = (await session.exec(base.where(Consultation.status != "open")
                                 .order_by(col(Consultation.closed_at).desc(), col(Consultation.id).desc())
                                 .limit(past))).all()
    return [*opened, *closed]


async def waiting_for_decision(session: AsyncSession, summary_before: datetime) -> list[Consultation]:
    """Closed consultations whose summary went before `summary_before`, with no answer and no reminder yet."""
    stmt = select(Consultation).where(Consultation.status == "closed", col(Consultation.decision).is_(None),
                                      col(Consultation.reminded_at).is_(None),
                                      col(Consultation.closed_at) <= summary_before)
    return list((await session.exec(stmt.order_by(col(Consultation.id)))).all())


def decide(consultation: Consultation, decision: str, now: datetime) -> None:
    """Keep the sponsor's answer (their words, what the community reads)."""
    consultation.decision, consultation.decided_at = decision, now
