"""Member preferences beyond routing: may Steward quote a member to sponsors?"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import MemberPreference


async def set_quotes(session: AsyncSession, member_id: int, allowed: bool) -> None:
    """Record the member's choice."""
    pref = await session.get(MemberPreference, member_id)
    if pref is None:
        session.add(MemberPreference(member_id=member_id, quotes=allowed))
    else:
        pref.quotes = allowed
    await session.flush()


async def quotable(session: AsyncSession, member_ids: set[int], default: bool) -> set[int]:
    """Those of `member_ids` who may be quoted (their own choice, else the community's default)."""
    if not member_ids:
        return set()
    stmt = select(MemberPreference).where(col(MemberPreference.member_id).in_(member_ids))
    chosen = {p.member_id: p.quotes for p in (await session.exec(stmt)).all()}
    return {m for m in member_ids if (chosen.get(m) if chosen.get(m) is not None else default)}
