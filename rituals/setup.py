"""Rituals that come from the config file: declared ones, and each community's built-in moments.

Built-in: the renewal moment on the founding anniversary, the "what should we explore next?" prompt
(`explore`, quarterly by default) and the daily check of members' anniversaries; their titles are
messages, shown in the reader's language. They are upserted by `source_key`, so a restart changes
nothing unless the config changed (then their revision moves); one-off skips and moves made in chat
are kept unless the rule itself changed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.community_settings import effective
from bot.config import CommunityConfig, Config
from bot.features.digest import DIGEST_KIND
from bot.features.onboarding import ANNIVERSARIES
from bot.features.renewal import EXPLORE, RENEWAL
from bot.i18n import N_
from bot.schedule import Schedule, parse_schedule
from storage.communities import get_community
from storage.db import Database
from storage.models import Community, Ritual
from storage.rituals import bump, list_rituals

_SYSTEM_HOUR = "10:00"


def _wanted(cc: CommunityConfig, today: date) -> dict[str, tuple[str, str, Schedule, str, dict[str, Any]]]:
    """source_key → (kind, title, schedule, channel, settings)."""
    wanted: dict[str, tuple[str, str, Schedule, str, dict[str, Any]]] = {}
    if cc.founded is not None:
        months = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                  "october", "november", "december")
        text = f"every year on {months[cc.founded.month - 1]} {cc.founded.day} at {_SYSTEM_HOUR} from {cc.founded}"
        wanted["system:renewal"] = (RENEWAL.name, cc.name or cc.slug, parse_schedule(
            text, default_tz=cc.timezone, today=today)[0], "", {"text": text})
    explore = parse_schedule(cc.explore, default_tz=cc.timezone, today=today)[0]
    wanted["system:explore"] = (EXPLORE.name, N_("What next?"), explore, "", {"text": cc.explore})
    text = f"every day at {_SYSTEM_HOUR}"
    wanted["system:anniversaries"] = (ANNIVERSARIES.name, N_("Anniversaries"), parse_schedule(
        text, default_tz=cc.timezone, today=today)[0], "", {"text": text})
    if cc.sponsors:  # the sponsor digest, on the 1st of each month, about the month before
        text = f"every month on the 1st at {_SYSTEM_HOUR}"
        wanted["system:digest"] = (DIGEST_KIND.name, N_("Sponsor digest"), parse_schedule(
            text, default_tz=cc.timezone, today=today)[0], "", {"text": text})
    for rc in cc.rituals:
        schedule, _ = parse_schedule(rc.schedule, default_tz=cc.timezone, today=today)
        settings = {"text": rc.schedule, "announce_days": rc.announce_days, "reminders": list(rc.reminders),
                    "followup_hours": rc.followup_hours}
        wanted[f"config:{rc.title}"] = (rc.kind, rc.title, schedule, rc.channel, settings)
    return wanted


async def sync_config_rituals(db: Database, config: Config, today: date | None = None) -> None:
    """Create, update or cancel config-made rituals so they match the config file (and the settings chat
    changed: time zone, sponsors)."""
    async with db.session() as session:
        for cc in config.communities:
            community = await get_community(session, cc.slug)
            if community is not None:
                await sync_rituals_of(config, session, community, today)


async def sync_rituals_of(config: Config, session: AsyncSession, community: Community,
                          today: date | None = None) -> None:
    """The same for one community, in the caller's transaction (a settings change in chat calls it)."""
    today = today or datetime.now(UTC).date()
    cc = effective(config, community)
    if config.community(community.slug) is None or cc is None or community.id is None:
        return  # built-in moments are for the communities of the config file
    existing = {r.source_key: r for r in await list_rituals(
        session, community.id, ("active", "paused", "cancelled")) if r.source in ("config", "system")}
    wanted = _wanted(cc, today)
    for key, (kind, title, schedule, channel, settings) in wanted.items():
        fields: dict[str, Any] = {
            "kind": kind, "title": title, "rrule": schedule.rrule, "timezone": schedule.timezone,
            "exdates": ",".join(d.isoformat() for d in schedule.exdates), "channel": channel,
                  "settings": json.dumps(settings, sort_keys=True)}
        ritual = existing.get(key)
        if ritual is None:
            session.add(Ritual(community_id=community.id, source=key.split(":")[0], source_key=key,
                               status="active", dtstart=schedule.dtstart.isoformat(timespec="seconds"),
                               created_by="config", **fields))
        elif any(getattr(ritual, k) != v for k, v in fields.items()) or ritual.status == "cancelled":
            # Keep the original dtstart (interval rules count from it) unless the rule or time changed.
            start = datetime.fromisoformat(ritual.dtstart)
            if start.time() != schedule.dtstart.time() or ritual.rrule != schedule.rrule:
                fields["dtstart"] = schedule.dtstart.isoformat(timespec="seconds")
                fields["moves"] = ""  # one-off moves and skips were made for the old rule
            bump(ritual, status="active" if ritual.status == "cancelled" else ritual.status, **fields)
    for source_key, ritual in existing.items():
        if source_key not in wanted and ritual.status != "cancelled":
            bump(ritual, status="cancelled")
