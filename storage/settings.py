"""The log of community settings changes: each change made in chat or by the config file, with who and when."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import SettingsChange

CONFIG = "config"  # `changed_by` of a change the config file made


async def log_change(session: AsyncSession, community_id: int, key: str, old: str, new: str, by: str,
                     at: datetime) -> SettingsChange:
    """Keep one change of one setting."""
    change = SettingsChange(community_id=community_id, key=key[:32], old_value=old, new_value=new,
                            changed_by=by[:300], at=at)
    session.add(change)
    await session.flush()
    return change


async def recent_changes(session: AsyncSession, community_id: int, limit: int = 15) -> list[SettingsChange]:
    """The community's latest changes, newest first."""
    stmt = select(SettingsChange).where(SettingsChange.community_id == community_id)
    stmt = stmt.order_by(col(SettingsChange.at).desc(), col(SettingsChange.id).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


async def last_change_per_key(session: AsyncSession, community_id: int) -> dict[str, SettingsChange]:
    """The latest change of each setting of the community."""
    latest: dict[str, SettingsChange] = {}
    stmt = select(SettingsChange).where(SettingsChange.community_id == community_id)
    for change in (await session.exec(stmt.order_by(col(SettingsChange.at), col(SettingsChange.id)))).all():
        latest[change.key] = change
    return latest
