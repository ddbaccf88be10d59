"""A community's settings: the config file seeds them, a change made in chat overrides and persists, and a
later edit of the *same key* in the config file wins again (the newest decision stands, and it is logged).

Kept on the community row: time zone and language in their own columns (`Community.timezone`, `.locale`,
read everywhere), the rest in `Community.settings` (JSON) as `{"chat": {key: value}, "file": {key: value}}`:
`chat` holds what was set in chat, `file` the config file's value of each key when Steward last applied it.
At each start `apply_config` compares the file with `file`: a key whose value there did not change keeps
what chat set; a key edited in the file since takes the file's value (a `settings_change` by "config"
says so). So `steward run` never reverts a chat change silently, and an operator's edit is never ignored.
A community that no config file names has only what chat set (`effective` is None until it has any).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import CommunityConfig, Config
from storage.models import Community
from storage.privacy import FORGOTTEN
from storage.settings import CONFIG, log_change

KEYS = ("purpose", "timezone", "language", "leaderboard", "quotes", "survey_min_answers", "coordinators",
        "sponsors")
PEOPLE = ("coordinators", "sponsors")
_COLUMNS = {"timezone": "timezone", "language": "locale"}  # settings kept in a column of the community row
_DEFAULTS = CommunityConfig(slug="-")


def _valid(key: str, value: Any) -> bool:
    """A stored value of the right shape (a hand-edited row must not break every event)."""
    if key in PEOPLE:
        return isinstance(value, list) and all(isinstance(r, str) and ":" in r for r in value)
    if key == "quotes":
        return isinstance(value, bool)
    if key == "survey_min_answers":
        return isinstance(value, int) and not isinstance(value, bool) and 3 <= value <= 1000
    if key == "leaderboard":
        return value in ("off", "levels", "ranks")
    return isinstance(value, str)


def _stored(community: Community) -> tuple[dict[str, Any], dict[str, Any]]:
    """(chat, file) as stored; anything malformed is ignored."""
    try:
        raw = json.loads(community.settings or "{}")
    except ValueError:
        raw = {}
    raw = raw if isinstance(raw, dict) else {}
    chat, file = raw.get("chat"), raw.get("file")
    chat = {k: v for k, v in chat.items() if k in KEYS and _valid(k, v)} if isinstance(chat, dict) else {}
    file = {k: v for k, v in file.items() if k in KEYS} if isinstance(file, dict) else {}
    return chat, file


def _write(community: Community, chat: dict[str, Any], file: dict[str, Any]) -> None:
    community.settings = json.dumps({"chat": chat, "file": file}, ensure_ascii=False, sort_keys=True)


def values_of(cc: CommunityConfig) -> dict[str, Any]:
    """The settings of a community config, as stored (people as lists)."""
    return {"purpose": cc.purpose, "timezone": cc.timezone, "language": cc.locale, "leaderboard": cc.leaderboard,
            "quotes": cc.quotes, "survey_min_answers": cc.survey_min_answers,
            "coordinators": list(cc.coordinators), "sponsors": list(cc.sponsors)}


_EFFECTIVE: dict[tuple[int, str, str, str, str, str], tuple[Config | None, CommunityConfig | None]] = {}
_EFFECTIVE_MAX = 256


def effective(config: Config | None, community: Community) -> CommunityConfig | None:
    """The community's config with what chat changed applied; None for a community neither the config
    file (`config`, None for none) nor chat set up (the terminal's person then runs it: bot/middleware.py).

    Every event asks; the answer depends only on the config and the row's settings, so it is kept by
    those values (the config by identity: a reloaded config is another object)."""
    key = (id(config), community.slug, community.name, community.settings, community.locale, community.timezone)
    kept = _EFFECTIVE.get(key)
    if kept is not None and kept[0] is config:
        return kept[1]
    made = _effective(config, community)
    if len(_EFFECTIVE) >= _EFFECTIVE_MAX:
        _EFFECTIVE.clear()
    _EFFECTIVE[key] = (config, made)
    return made


def _effective(config: Config | None, community: Community) -> CommunityConfig | None:
    base = config.community(community.slug) if config is not None else None
    chat, _file = _stored(community)
    if base is None and not chat:
        return None
    base = base or CommunityConfig(slug=community.slug, name=community.name or community.slug)
    changed: dict[str, Any] = {k: v for k, v in chat.items() if k not in PEOPLE and k not in _COLUMNS}
    for key in PEOPLE:
        if key in chat:  # a forgotten person's reference is scrubbed to "platform:forgotten": no one
            changed[key] = tuple(r for r in chat[key] if r.partition(":")[2] != FORGOTTEN)
    return dataclasses.replace(base, locale=community.locale, timezone=community.timezone, **changed)


def current(config: Config | None, community: Community) -> dict[str, Any]:
    """Every setting's value now (the defaults for a community nobody set up)."""
    cc = effective(config, community) or dataclasses.replace(_DEFAULTS, slug=community.slug,
                                                             locale=community.locale, timezone=community.timezone)
    return values_of(cc)


def as_text(value: Any) -> str:
    """How a value is kept in the change log: people as a JSON list, yes/no as on/off."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def _put(community: Community, chat: dict[str, Any], key: str, value: Any) -> None:
    if key in _COLUMNS:
        setattr(community, _COLUMNS[key], value)
    else:
        chat[key] = list(value) if key in PEOPLE else value


async def change(session: AsyncSession, config: Config | None, community: Community, key: str, value: Any,
                 by: str, at: datetime) -> Any:
    """Set one setting from chat (the row must be this session's); logs it; returns the previous value."""
    assert key in KEYS and community.id is not None
    old = current(config, community)[key]
    chat, file = _stored(community)
    _put(community, chat, key, value)
    _write(community, chat, file)
    await log_change(session, community.id, key, as_text(old), as_text(value), by, at)
    return old


async def apply_config(session: AsyncSession, community: Community, cc: CommunityConfig,
                       at: datetime) -> list[tuple[str, Any, Any]]:
    """Apply the config file to the community's settings (at start): a key the file did not change since it
    was last applied keeps its value, whoever set it; an edited key takes the file's value, logged when it
    replaces a value chat or an earlier file had set. Returns the (key, old, new) the file replaced."""
    assert community.id is not None
    chat, file = _stored(community)
    replaced = []
    for key, new in values_of(cc).items():
        if key in file and file[key] == new:
            continue  # not edited in the file: what chat set (if anything) stays
        if key in _COLUMNS:
            old = getattr(community, _COLUMNS[key])
            setattr(community, _COLUMNS[key], new)
        else:  # the file's value rules this key again (the first time, it was ruling it already)
            old = chat.pop(key, file.get(key, new))
        if old != new:
            await log_change(session, community.id, key, as_text(old), as_text(new), CONFIG, at)
            replaced.append((key, old, new))
        file[key] = new
    _write(community, chat, file)
    await session.flush()
    return replaced
