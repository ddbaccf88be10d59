"""Who reads a page: their session, community, member row and roles (from Steward's own config, as in chat).

- member: their own page and the community's public figures (aggregates, never a survey answer);
- coordinator: also the digest archive, with the names the chat digest shows (members who allow quoting);
- sponsor: the digest archive and the portfolio of the communities they sponsor;
- operator: the person running Steward (a link from the command line): everything, every community.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config
from storage.models import Community, Member, WebSession


@dataclass(frozen=True)
class Reader:
    """A signed-in reader, resolved afresh for each request (roles follow the config as it is now)."""

    cookie: str
    community: Community
    member: Member | None
    operator: bool
    roles: frozenset[str]
    csrf: str
    locale: str

    @property
    def member_id(self) -> int | None:
        """Their member row's id (None for the operator)."""
        return self.member.id if self.member else None

    @property
    def sees_digests(self) -> bool:
        """The digest archive: as `digest` in chat, sponsors and coordinators."""
        return bool(self.roles & {"coordinator", "sponsor", "operator"})

    @property
    def sees_portfolio(self) -> bool:
        """The portfolio: as `portfolio` in chat, sponsors and coordinators (of their communities)."""
        return self.sees_digests

    @property
    def ref(self) -> str | None:
        """`platform:user id`, as the config names people."""
        return f"{self.member.platform}:{self.member.platform_user_id}" if self.member else None


def roles_of(config: Config, community: Community, member: Member | None, operator: bool) -> frozenset[str]:
    """The reader's roles in `community`, read from the config as the chat reads them (bot/middleware.py)."""
    if operator:
        return frozenset({"member", "coordinator", "sponsor", "operator"})
    roles = {"member"}
    cc = config.community(community.slug)
    if cc is not None and member is not None:
        ref = f"{member.platform}:{member.platform_user_id}"
        if ref in cc.coordinators:
            roles.add("coordinator")
        if ref in cc.sponsors:
            roles.add("sponsor")
    return frozenset(roles)


def reader_locale(config: Config, row: WebSession, community: Community, member: Member | None) -> str:
    """The reader's choice on the page, else theirs in chat, else the community's, else Steward's."""
    return row.locale or (member.locale if member else None) or community.locale or config.locale
