"""Mentions resolved to the community's members, never to a ghost.

A mention is a platform id (Slack `<@U…>`, a Matrix user id or pill, the console's `@ana`). It names a
member when Steward knows that id in the community; a typed `@name` may also be someone's handle or
display name (`@ana` for `@ana:example.org`, or for Ana on Slack) when exactly one member has it. The
people the platform itself marks as mentioned (`MessagePosted.mentions`, the author of a message reacted
to) are real accounts: Steward may keep a row for them. Anything else is unknown: refused with the
nearest names, so no member is created, told or credited for a typo.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.commands import fold
from bot.context import Context
from bot.events import CommandInvoked, MessagePosted, ReactionAdded
from bot.i18n import N_
from bot.markup import Markup
from storage.members import ensure_member, find_member, list_members
from storage.models import Member

NEAREST = 3


@dataclass(frozen=True)
class Unknown:
    """A mention that names nobody here, and the members whose names come closest."""

    handle: str
    nearest: tuple[str, ...]

    def message(self) -> tuple[str, dict[str, str]]:
        """What to tell the member: a msgid and its parameters, for `Context._` or an `InputError`."""
        who = self.handle if self.handle.startswith("@") else f"@{self.handle}"
        if self.nearest:
            return N_("I don't know {who} in this community, so I did nothing for them. Did you mean "
                      "{names}?"), {"who": who, "names": ", ".join(self.nearest)}
        return N_("I don't know {who} in this community, so I did nothing for them. Mention a member as "
                  "your chat app suggests it."), {"who": who}

    def told(self, ctx: Context) -> Markup:
        """The message in the member's language."""
        msgid, params = self.message()
        return ctx._(msgid, **params)


def verified(ctx: Context) -> frozenset[str]:
    """The ids the platform vouches for in this event."""
    event = ctx.event
    if isinstance(event, MessagePosted | CommandInvoked):
        return frozenset(event.mentions)
    if isinstance(event, ReactionAdded) and event.message_author:
        return frozenset({event.message_author})
    return frozenset()


async def member_named(ctx: Context, uid: str, *, keep: bool = True) -> Member | Unknown:
    """The member a mention names (see the module's docstring); `keep=False` never creates a row."""
    assert ctx.community is not None and ctx.community.id is not None
    community_id, platform = ctx.community.id, ctx.event.platform
    found = await find_member(ctx.session, community_id, platform, uid)
    if found is not None and found.forgotten_at is None:
        return found
    if found is None and keep and uid in verified(ctx):
        names = dict(getattr(ctx.event, "mention_names", ()))
        return await ensure_member(ctx.session, community_id, platform, uid, display_name=names.get(uid) or uid)
    people = [m for m in await list_members(ctx.session, community_id)
              if m.platform == platform and m.forgotten_at is None and not m.deleted and not m.is_bot]
    keys: dict[str, set[int]] = {}
    for i, m in enumerate(people):
        for key in _keys(m):
            keys.setdefault(key, set()).add(i)
    same = keys.get(fold(uid.lstrip("@")), set())
    if len(same) == 1:
        return people[next(iter(same))]
    close = difflib.get_close_matches(fold(uid.lstrip("@")), list(keys), n=NEAREST * 3, cutoff=0.6)
    nearest = list(dict.fromkeys(i for key in close for i in sorted(keys[key])))[:NEAREST]
    return Unknown(uid, tuple(_shown(people[i]) for i in nearest))


def _keys(member: Member) -> set[str]:
    """How people may type a member: their id, its local part, their name (with or without spaces)."""
    uid = member.platform_user_id
    keys = {fold(uid.lstrip("@")), fold(uid.lstrip("@").split(":", 1)[0])}
    if member.display_name:
        name = fold(member.display_name)
        keys |= {name, name.replace(" ", ""), name.replace(" ", ".")}
    return {k for k in keys if k}


def _shown(member: Member) -> str:
    """A member as a suggestion: their name and what to type."""
    uid = member.platform_user_id
    handle = uid if uid.startswith("@") else f"@{uid}"
    return f"{member.display_name} ({handle})" if member.display_name and member.display_name != uid else handle
