"""Values that go in and out of the expertise index: posts, suggestions and their evidence."""

from __future__ import annotations

from dataclasses import dataclass

ACCEPT_EMOJI = frozenset({"white_check_mark", "heavy_check_mark"})
UPVOTE_EMOJI = frozenset({"+1", "thumbsup"})


@dataclass(frozen=True, slots=True)
class Post:
    """One stored message; a reply's `thread_id` is its root's `message_id`."""

    message_id: str
    thread_id: str
    author: str
    text: str
    at: float
    reactions: tuple[tuple[str, str], ...] = ()

    @property
    def is_root(self) -> bool:
        """True when the post starts its own thread."""
        return self.thread_id == self.message_id or not self.thread_id


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a member is suggested, in numbers a reply can show and link to."""

    similar_threads: int  # similar past questions the member answered
    accepted: int  # of those answers, how many were accepted (check mark)
    upvotes: int  # +1 / thumbsup on those answers
    answers: int  # all the member's answers in the index
    last_answer_at: float | None  # unix seconds of their latest answer, any topic
    matched_terms: tuple[str, ...]  # question words found in the similar threads they answered
    declared: tuple[str, ...]  # declared topics the question matches
    thread_ids: tuple[str, ...]  # the most similar threads they answered, best first


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A member worth asking, with a comparable score and the evidence behind it."""

    member: str
    score: float
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class ThreadHit:
    """A past thread that may already answer the question."""

    thread_id: str
    score: float
    answers: int
    accepted: bool
