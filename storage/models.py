"""The tables. One module so migrations and readers see the whole schema at once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    # JSON: the settings chat or the config file set, and the file's values last applied (bot/community_settings.py)
    settings: str = Field(default="{}", sa_column=Column(Text, nullable=False))


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
    away_until: date | None = None  # not asked to help before this date
    weekly_cap: int | None = None  # routed questions per week; None: the community's default
    team: str | None = Field(default=None, max_length=60)  # as the member (or the operator's CSV) named it
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Message(SQLModel, table=True):
    """A message Steward indexed; `thread_id` is the root's platform id for replies, None for roots."""

    __table_args__ = (
        # Slack's message ids (`ts`) are unique within a channel only; platform_id first serves the
        # lookups that know no channel.
        UniqueConstraint("community_id", "platform_id", "channel_id"),
        Index("ix_message_thread", "community_id", "thread_id"),
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

    # ix_reaction_at: a month's thanks are the reactions given in it (storage/digest.py, `thanks`)
    __table_args__ = (UniqueConstraint("message_id", "member_id", "emoji"), Index("ix_reaction_at", "at"))
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("message.id", ondelete="CASCADE"),
                                             nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    emoji: str = Field(max_length=100)
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Contribution(SQLModel, table=True):
    """One entry of the contribution ledger: who did what, when, with a link to the evidence."""

    __table_args__ = (Index("ix_contribution_member", "member_id", "at"),
                      Index("ix_contribution_member_kind", "member_id", "kind", "at"))
    id: int | None = Field(default=None, primary_key=True)
    # One entry per (member, kind, thing): e.g. "answered:<member>:<thread>" (see storage/ledger.py).
    # NULL for entries counted each time (pulse surveys). Live events and imports share the same keys.
    key: str | None = Field(default=None, max_length=255, unique=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False))
    kind: str = Field(max_length=32)  # answered, accepted, thanked, shared, hosted, welcomed, surveyed
    topic: str | None = Field(default=None, max_length=100)
    # Indexed: deleting a message looks its entries up (forget me deletes thousands of messages at once).
    message_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("message.id", ondelete="SET NULL"), nullable=True, index=True))
    evidence_url: str = Field(default="", max_length=500)
    note: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_column=_when())
    # Who gave a kudos ("thanked" entries): forgetting the giver removes the kudos they gave.
    giver_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=True, index=True))


class InboundEvent(SQLModel, table=True):
    """The one inbound ledger: every event Steward was given, from a platform or from the clock.

    A platform delivery acknowledged before its work is done is kept `pending` with its payload and
    the process that acked it (`owner`), so a crash loses nothing: the owner's next start, or a live
    process once the owner is dead, handles it. The core claims an event by turning its row `done`
    (or inserting it so) in the event's own transaction: the same event id never has a second effect.
    Done rows keep no payload (it may hold a member's words).
    """

    __tablename__ = "inbound_event"
    __table_args__ = (Index("ix_inbound_event_waiting", "status", "platform", "received_at"),)

    event_id: str = Field(primary_key=True, max_length=255)
    platform: str = Field(max_length=16)
    status: str = Field(default="done", max_length=16)  # pending | done | failed | dead
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # while pending
    owner: str | None = Field(default=None, max_length=32)  # the process that acked a pending delivery
    attempts: int = 0
    received_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class OutboxReply(SQLModel, table=True):
    """The one outbox: a reply written with its event's effects, sent after commit, crossed out once sent.

    `owner` is the process that sends it; when that process dies, another takes the row over. The row
    id is the reply's idempotency key on platforms that have one (a Matrix transaction id), so a resend
    after a crash is recognised by the homeserver. A reply with a `tag` (a feature's name for that
    message, e.g. a ritual step's key) is kept once sent, without its payload, to find its message id.
    """

    __tablename__ = "outbox_reply"
    # AUTOINCREMENT on SQLite: an id is never handed out twice, even after its row was crossed out
    # (the id is a platform idempotency key: a reused one would be taken for a resend and dropped).
    __table_args__ = (Index("ix_outbox_reply_waiting", "status", "owner"),
                      Index("ix_outbox_reply_message", "platform", "message_id"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=32)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=255)
    lane: str = Field(default="", max_length=255)  # replies of one conversation leave in order
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON (bot/reply_codec.py)
    tag: str | None = Field(default=None, max_length=255, index=True)
    status: str = Field(default="pending", max_length=16)  # pending | sent
    attempts: int = 0
    channel: str | None = Field(default=None, max_length=255)  # where it went (a DM's channel)
    message_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    sent_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class AdapterState(SQLModel, table=True):
    """Small durable values an adapter keeps between runs (e.g. Matrix's sync token)."""

    __tablename__ = "adapter_state"

    platform: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class IndexChange(SQLModel, table=True):
    """A change to what the expertise indexes read, so every Steward process can follow the others.

    Written in the transaction of the change itself; rows say what to re-check (a message, a
    reaction, a member's topics or privacy choice), never the content, and are pruned after an hour.
    AUTOINCREMENT on SQLite: pruning must never let a later row reuse an id a follower has passed.
    """

    __tablename__ = "index_change"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False))
    kind: str = Field(max_length=16)  # posted | edited | deleted | reaction | topics | member | rebuild
    message_id: int | None = None  # the message row (no foreign key: a deleted message's row is gone)
    platform_id: str | None = Field(default=None, max_length=255)  # the message's, for message and reaction kinds
    member_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=True))  # reactor, declarer, member
    emoji: str | None = Field(default=None, max_length=100)
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class DeclaredTopic(SQLModel, table=True):
    """A topic a member says they know about ("I know about terraform, helm")."""

    __tablename__ = "declared_topic"
    __table_args__ = (UniqueConstraint("member_id", "topic"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    topic: str = Field(max_length=100)
    declared_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Question(SQLModel, table=True):
    """A "who knows about X?" question Steward routed, followed until someone answers it."""

    __table_args__ = (Index("ix_question_open", "status", "next_step_at"),
                      Index("ix_question_asker", "asker_id", "asked_at"),
                      Index("ix_question_community", "community_id", "status", "asked_at"))
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False))
    asker_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False))
    platform: str = Field(max_length=16)
    channel: str = Field(max_length=255)
    thread: str = Field(max_length=255)  # the thread where the question lives (and answers arrive)
    is_direct: bool = False
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | answered | escalated | solved
    # The asker's choice: "" (not yet) | ask (DM the experts) | post (a DM question posted in a channel) | no.
    # Only ask and post are followed up (escalation, `unanswered`).
    choice: str = Field(default="", max_length=8)
    round: int = 0  # 0: first suggestions; 1: next candidates asked; 2: coordinators told
    asked_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    next_step_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    answered_by: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="SET NULL"), nullable=True))
    solved_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class RoutingRequest(SQLModel, table=True):
    """One expert suggested for (and perhaps asked about) a question: the basis of the weekly cap."""

    __tablename__ = "routing_request"
    __table_args__ = (UniqueConstraint("question_id", "member_id"), Index("ix_routing_request_member", "member_id",
                                                                           "at"))
    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(sa_column=Column(Integer, ForeignKey("question.id", ondelete="CASCADE"),
                                              nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False))
    round: int = 0
    status: str = Field(default="suggested", max_length=16)  # suggested | asked | declined (the member said `not me`)
    # Why this member, as facts rendered in the reader's language (bot/routing/explain.py), a JSON list
    # such as [{"kind": "answered_threads", "n": 4, "topic": "helm"}].
    facts: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Ritual(SQLModel, table=True):
    """A recurring moment of a community (meetup, reminder, renewal…), with its RFC 5545 rule.

    `dtstart` is local wall-clock time in `timezone`, so a 16:00 meetup stays 16:00 across DST changes.
    `revision` grows on every change; the scheduler's leader re-syncs a ritual whose `synced_revision`
    lags behind, whichever process made the change.
    """

    __table_args__ = (UniqueConstraint("community_id", "source_key"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    kind: str = Field(max_length=16)  # meetup | reminder | renewal | explore | anniversaries
    title: str = Field(default="", max_length=200)
    rrule: str = Field(max_length=500)  # e.g. "FREQ=MONTHLY;BYDAY=+2TU"
    dtstart: str = Field(max_length=19)  # naive local ISO time, e.g. "2026-03-10T16:00:00"
    timezone: str = Field(max_length=64)
    exdates: str = Field(default="", max_length=1000)  # comma-separated local dates
    # One-off changes kept across restarts and config syncs: "original>new" (moved) or "original>" (skipped),
    # comma-separated naive local ISO times; cleared when the rule itself changes.
    moves: str = Field(default="", sa_column=Column(Text, nullable=False))
    channel: str = Field(default="", max_length=300)  # "platform:channel id"
    settings: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    status: str = Field(default="draft", max_length=16, index=True)  # draft | active | paused | cancelled
    pending: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # an edit awaiting OK
    revision: int = 1
    synced_revision: int = Field(default=0, index=True)
    source: str = Field(default="chat", max_length=16)  # chat | config | system
    source_key: str | None = Field(default=None, max_length=200)
    created_by: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Meetup(SQLModel, table=True):
    """One occurrence of a meetup ritual: its agenda, RSVPs, hosts and notes hang off it.

    The row is the occurrence's identity: when the schedule changes or the occurrence moves, `starts_at`
    moves and everything attached stays. `held_at` is set by the step that runs after it happened.
    """

    __table_args__ = (UniqueConstraint("ritual_id", "starts_at"),)
    id: int | None = Field(default=None, primary_key=True)
    ritual_id: int = Field(sa_column=Column(Integer, ForeignKey("ritual.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    starts_at: datetime = Field(sa_column=_when())
    status: str = Field(default="planned", max_length=16)  # planned | skipped | dropped (no longer scheduled)
    held_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    agenda_closed: bool = False
    notes_url: str = Field(default="", max_length=500)
    notes_by: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="SET NULL"), nullable=True))


class MeetupRsvp(SQLModel, table=True):
    """A member's answer (going | maybe | no) and whether they confirmed attending afterwards."""

    __tablename__ = "meetup_rsvp"
    __table_args__ = (UniqueConstraint("meetup_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meetup_id: int = Field(sa_column=Column(Integer, ForeignKey("meetup.id", ondelete="CASCADE"), nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    answer: str = Field(default="going", max_length=8)
    attended: bool = False
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class MeetupHost(SQLModel, table=True):
    """Someone who hosts or presents at one meetup; credited in the ledger once the meetup has happened."""

    __tablename__ = "meetup_host"
    __table_args__ = (UniqueConstraint("meetup_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meetup_id: int = Field(sa_column=Column(Integer, ForeignKey("meetup.id", ondelete="CASCADE"), nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False, index=True))


class AgendaItem(SQLModel, table=True):
    """A topic proposed for a meetup's agenda."""

    __tablename__ = "agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    meetup_id: int = Field(sa_column=Column(Integer, ForeignKey("meetup.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False))
    text: str = Field(max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class IntroPair(SQLModel, table=True):
    """Two members Steward introduced to each other (never the same pair twice); member_a < member_b."""

    __tablename__ = "intro_pair"
    __table_args__ = (UniqueConstraint("member_a", "member_b"),)
    id: int | None = Field(default=None, primary_key=True)
    member_a: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False))
    member_b: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                           nullable=False, index=True))
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class ExploreIdea(SQLModel, table=True):
    """An answer to "what should we explore next?", sent to the coordinators in a digest."""

    __tablename__ = "explore_idea"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False))
    text: str = Field(max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_column=_when())
    digested_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class MatrixPoll(SQLModel, table=True):
    """A choice question Steward asked on Matrix as a poll: its answers come back as ChoicePicked."""

    __tablename__ = "matrix_poll"

    event_id: str = Field(primary_key=True, max_length=255)
    room_id: str = Field(max_length=255)
    key: str = Field(max_length=100)
    options: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of option ids, in order
    user_id: str | None = Field(default=None, max_length=255)  # set: only this member may answer
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Survey(SQLModel, table=True):
    """One run of a pulse survey: its questions, where it was posted, when it closes.

    `salt` is the per-survey secret behind the answer tokens; it is erased when the survey closes, so
    afterwards no one (not even the operator) can link an answer to a member.
    """

    __table_args__ = (Index("ix_survey_open", "status", "closes_at"), Index("ix_survey_community", "community_id",
                                                                          "closed_at"))
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False))
    ritual_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("ritual.id", ondelete="SET NULL"), nullable=True))
    title: str = Field(default="", max_length=300)
    questions: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of question specs
    platform: str = Field(default="", max_length=16)
    channel: str = Field(default="", max_length=255)
    message_id: str | None = Field(default=None, max_length=255)
    status: str = Field(default="open", max_length=16)  # open | closed
    salt: str = Field(default="", max_length=64)
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    remind_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    closes_at: datetime = Field(sa_column=_when())
    closed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    created_by: str = Field(default="", max_length=300)
    min_answers: int = 0  # the anonymity threshold k when it opened: results never use a lower one (0: not kept)


class SurveyAnswer(SQLModel, table=True):
    """An anonymous answer: no member column, no id, no time; only a per-survey token (one answer per token).

    While the survey is open the token is HMAC(salt, member), so a new answer replaces the old; at
    closing every respondent's token becomes a fresh random one and the rows are rewritten in its order
    (storage/surveys.py `seal`). No surrogate key and, on SQLite, no rowid: nothing numbers the rows in
    the order they arrived (PostgreSQL's physical order is reset by that rewrite).
    """

    __tablename__ = "survey_answer"
    __table_args__ = {"sqlite_with_rowid": False}  # primary key (survey, token, question): has_answered's prefix
    survey_id: int = Field(sa_column=Column(Integer, ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True))
    token: str = Field(max_length=64, primary_key=True)  # HMAC-SHA256(salt, "platform:user id") or random, hex
    question: int = Field(default=0, primary_key=True)
    value: str = Field(default="", max_length=500)


class Consultation(SQLModel, table=True):
    """A sponsor's question to the community, open until its deadline."""

    __table_args__ = (Index("ix_consultation_open", "status", "deadline"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    asked_by: str = Field(max_length=300)  # "platform:user id" of the sponsor
    question: str = Field(sa_column=Column(Text, nullable=False))
    options: str = Field(default="[]", max_length=1000)  # JSON list of stances; [] for an open question
    platform: str = Field(default="", max_length=16)
    channel: str = Field(default="", max_length=255)
    message_id: str | None = Field(default=None, max_length=255)
    deadline: datetime = Field(sa_column=_when())
    status: str = Field(default="open", max_length=16)  # open | closed
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    closed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))  # the summary went then
    decision: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the sponsor's answer
    decided_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))  # the one reminder


class ConsultationVoice(SQLModel, table=True):
    """What one member said in a consultation (their latest stance, their words); forgotten with them."""

    __tablename__ = "consultation_voice"
    __table_args__ = (UniqueConstraint("consultation_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(sa_column=Column(Integer, ForeignKey("consultation.id", ondelete="CASCADE"),
                                                  nullable=False))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    stance: str | None = Field(default=None, max_length=100)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class MemberPreference(SQLModel, table=True):
    """A member's choices that are not about routing: may Steward quote them to sponsors?"""

    __tablename__ = "member_preference"
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), primary_key=True))
    quotes: bool | None = None  # None: the community's default (config `quotes`)



class SettingsChange(SQLModel, table=True):
    """One change of a community setting: which, from what to what, who made it, when.

    `changed_by` is "platform:user id" for a change made in chat, "config" for the config file's.
    Values are stored as shown in `settings` (JSON for lists of people)."""

    __tablename__ = "settings_change"
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    key: str = Field(max_length=32)
    old_value: str = Field(default="", sa_column=Column(Text, nullable=False))
    new_value: str = Field(default="", sa_column=Column(Text, nullable=False))
    # A plain String column: forgetting someone scrubs their id from every String column (storage/privacy.py).
    changed_by: str = Field(default="", sa_column=Column(String(300), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Tombstone(SQLModel, table=True):
    """A platform account that asked not to be kept (`forget me`, `opt out`): never indexed, imported or
    re-created with a history until it says `opt in`. Only a keyed hash of "platform:user id", never the id."""

    digest: str = Field(primary_key=True, max_length=64)  # HMAC-SHA256(tombstone_key, "platform:user id"), hex
    at: datetime = Field(default_factory=utcnow, sa_column=_when())


class TombstoneKey(SQLModel, table=True):
    """The installation's secret for tombstone digests (one row, made at first need): without it, a
    digest cannot be recomputed from a guessed id."""

    __tablename__ = "tombstone_key"
    id: int = Field(default=1, primary_key=True)
    secret: str = Field(max_length=64)  # 32 random bytes, hex
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class CalendarFeed(SQLModel, table=True):
    """The secret in a community's iCalendar feed address; rotating it replaces `token` (the old address dies).

    Kept as is, not hashed: coordinators ask to see the link again, and whoever reads this database
    already reads the rituals the feed is made of.
    """

    __tablename__ = "calendar_feed"
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               primary_key=True))
    token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class WebLink(SQLModel, table=True):
    """A one-time sign-in link to Steward's web pages: only the SHA-256 of its token is kept, so a copy of the
    database opens nothing. It opens one session, once, within 15 minutes. `member_id` None: the operator's."""

    __tablename__ = "web_link"
    token_hash: str = Field(primary_key=True, max_length=64)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    member_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=True, index=True))
    operator: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())
    used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class WebSession(SQLModel, table=True):
    """A signed-in browser: the SHA-256 of its cookie, its CSRF secret and its reader's language. It belongs to
    one community (the link's) and, for a member, to their row: forgetting the member deletes it."""

    __tablename__ = "web_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    member_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=True, index=True))
    operator: bool = False
    csrf: str = Field(max_length=64)
    locale: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())


# Set-based digest queries read a community's messages by month and each author's first message.
_message = Message.__table__  # type: ignore[attr-defined]
Index("ix_message_posted", _message.c.community_id, _message.c.posted_at, _message.c.author_id)
Index("ix_message_author_posted", _message.c.author_id, _message.c.posted_at)


class IndexSnapshot(SQLModel, table=True):
    """An expertise index saved to a file by some process, valid as of change `mark` (bot/routing/registry.py).

    The file lives in that process's data directory, named after `token`; this row is what makes it
    trusted: a file whose row is gone (the community changed in a way the change log cannot replay, or
    the database is another one) is never loaded. Forgetting a member deletes the community's rows.
    """

    __tablename__ = "index_snapshot"
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id", ondelete="CASCADE"),
                                               nullable=False, index=True))
    token: str = Field(max_length=32, unique=True)
    mark: int = Field(sa_column=Column(Integer, nullable=False))
    saved_at: datetime = Field(default_factory=utcnow, sa_column=_when())
