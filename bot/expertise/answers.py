"""Who answered which thread, how well it was received, and each member's recent answering rate."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator

from bot.expertise.activity import Activity
from bot.expertise.records import ACCEPT_EMOJI, UPVOTE_EMOJI

NOBODY = -1


def quality(accepted: int, upvotes: int) -> float:
    """Weight of one answer: accepted answers count double, upvotes add with diminishing returns."""
    return 1.0 + accepted + 0.5 * math.log1p(upvotes)


class AnswerLog:
    """Threads, replies and members as parallel flat arrays (no Python object per post)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.ids: dict[str, int] = {}
        self.activity = Activity()
        self.m_answers = self.activity.answers
        self.m_last = self.activity.last
        self.t_asker = array("i")
        self.t_at = array("d")
        self._t_head = array("i")  # last reply of the thread, replies chained through _r_prev
        self.r_thread = array("I")
        self.r_author = array("i")
        self.r_at = array("d")
        self.r_acc = array("B")
        self.r_up = array("H")
        self._r_prev = array("i")

    def member(self, name: str) -> int:
        """Return the member's slot, creating it on first sight."""
        m = self.ids.get(name)
        if m is None:
            m = self.ids[name] = len(self.names)
            self.names.append(name)
            self.activity.add_member()
        return m

    def seen(self, m: int, at: float) -> None:
        """Record that the member posted at that time (starts the exposure clock)."""
        self.activity.seen(m, at)

    def new_thread(self) -> int:
        """Open a thread slot whose root is not known yet."""
        self.t_asker.append(NOBODY)
        self.t_at.append(0.0)
        self._t_head.append(-1)
        return len(self.t_asker) - 1

    def set_root(self, t: int, asker: int, at: float) -> None:
        """Record the thread's root; replies by the asker stop counting as answers."""
        for r in self.replies(t):
            if self.r_author[r] == asker:
                self._count(r, -1)
        self.t_asker[t] = asker
        self.t_at[t] = at

    def add_reply(self, t: int, author: int, at: float, accepted: int, upvotes: int) -> int:
        """Record a reply in thread t, with the reactions it already has, and return its slot."""
        r = len(self.r_thread)
        self.r_thread.append(t)
        self.r_author.append(author)
        self.r_at.append(at)
        self.r_acc.append(accepted)
        self.r_up.append(min(upvotes, 65535))
        self._r_prev.append(self._t_head[t])
        self._t_head[t] = r
        self._count(r, +1)
        return r

    def replies(self, t: int) -> Iterator[int]:
        """Yield the thread's reply slots, latest first."""
        r = self._t_head[t]
        while r >= 0:
            yield r
            r = self._r_prev[r]

    def is_answer(self, r: int) -> bool:
        """True when the reply is by someone other than the asker (and not forgotten)."""
        a = self.r_author[r]
        return a != NOBODY and a != self.t_asker[self.r_thread[r]]

    def react(self, r: int, emoji: str, by_author: bool) -> None:
        """Apply a reaction to a reply; reactions by the reply's own author are ignored."""
        if by_author:
            return
        if emoji in ACCEPT_EMOJI and not self.r_acc[r]:
            self._count(r, -1)
            self.r_acc[r] = 1
            self._count(r, +1)
        elif emoji in UPVOTE_EMOJI and self.r_up[r] < 65535:
            self._count(r, -1)
            self.r_up[r] += 1
            self._count(r, +1)

    def weight(self, r: int) -> float:
        """Quality weight of a reply."""
        return quality(self.r_acc[r], self.r_up[r])

    def _count(self, r: int, sign: int) -> None:
        if self.is_answer(r):
            self.activity.count(self.r_author[r], self.r_at[r], self.weight(r), self.r_acc[r], sign)

    def forget(self, m: int) -> list[int]:
        """Detach a member from every reply and thread; return the threads they asked."""
        for r, a in enumerate(self.r_author):
            if a == m:
                self.r_author[r] = NOBODY
        asked = [t for t, a in enumerate(self.t_asker) if a == m]
        for t in asked:
            self.t_asker[t] = NOBODY
        self.activity.reset(m)
        self.ids.pop(self.names[m], None)
        self.names[m] = ""
        return asked
