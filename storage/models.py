"""The tables. One module so migrations and readers see the whole schema at once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


def _when(nullable: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


class Community(SQLModel, table=True):
    """A community of practice; `slug` is how config, CLI and commands name it."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(default="", max_length=200)
    locale: str = Field(default="en", max_length=8)
    timezone: str = Field(default="UTC", max_length=64)
    founded_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Channel(SQLModel, table=True):
    """A room or channel of a platform, belonging to one community."""

    __table_args__ = (UniqueConstraint("platform", "platform_id"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    platform: str = Field(max_length=16)
    platform_id: str = Field(max_length=255)
    name: str = Field(default="", max_length=200)


class Member(SQLModel, table=True):
    """A person (or bot) in a community, as one platform knows them."""

    __table_args__ = (UniqueConstraint("community_id", "platform", "platform_user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    platform: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=255)
    display_name: str = Field(default="", max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=8)
    opted_out: bool = False
    is_bot: bool = False
    deleted: bool = False  # the platform says the account is gone
    joined_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    left_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    forgotten_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Message(SQLModel, table=True):
    """A message Steward indexed; `thread_id` is the root's platform id for replies, None for roots."""

    __table_args__ = (
        UniqueConstraint("community_id", "platform_id"),
        Index("ix_message_thread", "community_id", "thread_id"),
        Index("ix_message_author", "author_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False))
    channel_id: int = Field(sa_column=Column(Integer, ForeignKey("channel.id", ondelete="CASCADE"),
                                             nullable=False))
    author_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False))
    platform_id: str = Field(max_length=255)
    thread_id: str | None = Field(default=None, max_length=255)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    posted_at: datetime = Field(sa_column=_when())
    edited_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class Reaction(SQLModel, table=True):
    """An emoji reaction by a member on a message."""

    __table_args__ = (UniqueConstraint("message_id", "member_id", "emoji"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("message.id", ondelete="CASCADE"),
                                             nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    emoji: str = Field(max_length=100)
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Contribution(SQLModel, table=True):
    """One entry of the contribution ledger: who did what, when, with a link to the evidence."""

    __table_args__ = (Index("ix_contribution_member", "member_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False))
    kind: str = Field(max_length=32)  # answered, accepted, thanked, shared, hosted, welcomed, surveyed
    topic: str | None = Field(default=None, max_length=100)
    message_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("message.id", ondelete="SET NULL"), nullable=True))
    evidence_url: str = Field(default="", max_length=500)
    note: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class ProcessedEvent(SQLModel, table=True):
    """Platform events already handled: the same event id never has a second effect."""

    __tablename__ = "processed_event"

    event_id: str = Field(primary_key=True, max_length=255)
    platform: str = Field(max_length=16)
    status: str = Field(default="done", max_length=16)  # done | failed
    processed_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class AdapterState(SQLModel, table=True):
    """Small durable values an adapter keeps between runs (e.g. Matrix's sync token)."""

    __tablename__ = "adapter_state"

    platform: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class MatrixPoll(SQLModel, table=True):
    """A choice question Steward asked on Matrix as a poll: its answers come back as ChoicePicked."""

    __tablename__ = "matrix_poll"

    event_id: str = Field(primary_key=True, max_length=255)
    room_id: str = Field(max_length=255)
    key: str = Field(max_length=100)
    options: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of option ids, in order
    user_id: str | None = Field(default=None, max_length=255)  # set: only this member may answer
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class MatrixOutbox(SQLModel, table=True):
    """A Matrix event waiting to be sent: kept until the homeserver accepted it (same txn id on retry)."""

    __tablename__ = "matrix_outbox"

    id: int | None = Field(default=None, primary_key=True)
    txn_id: str = Field(unique=True, max_length=64)
    room_id: str | None = Field(default=None, max_length=255)
    user_id: str | None = Field(default=None, max_length=255)  # a DM to this user, room found on send
    event_type: str = Field(max_length=100)
    content: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    poll: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON: key, options, user
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
