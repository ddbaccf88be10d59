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
        self.r_acc = array("B")  # 1 when someone other than the author marked the reply ✅
        self.r_acc_n = array("B")  # how many did (so taking one ✅ back keeps the others')
        self.r_up = array("H")
        self._r_prev = array("i")
        self._deferred = False  # during a bulk load, answers are counted once at the end (see settle)

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

    def unset_root(self, t: int) -> None:
        """Forget the thread's root (deleted): as if it had never been seen, the asker's replies count again."""
        asker = self.t_asker[t]
        self.t_asker[t] = NOBODY
        self.t_at[t] = 0.0
        for r in self.replies(t):
            if asker != NOBODY and self.r_author[r] == asker:
                self._count(r, +1)

    def add_reply(self, t: int, author: int, at: float, accepted: int, upvotes: int) -> int:
        """Record a reply in thread t, with the reactions it already has, and return its slot.

        `accepted` is how many members other than the author marked it ✅.
        """
        r = len(self.r_thread)
        self.r_thread.append(t)
        self.r_author.append(author)
        self.r_at.append(at)
        self.r_acc.append(1 if accepted else 0)
        self.r_acc_n.append(min(accepted, 255))
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

    def react(self, r: int, emoji: str, by_author: bool, sign: int = +1) -> None:
        """Apply (sign=+1) or take back (sign=-1) a reaction to a reply; the author's own are ignored."""
        if by_author:
            return
        if emoji in ACCEPT_EMOJI:
            n = self.r_acc_n[r] + sign
            if not 0 <= n <= 255:
                return
            self._count(r, -1)
            self.r_acc_n[r], self.r_acc[r] = n, 1 if n else 0
            self._count(r, +1)
        elif emoji in UPVOTE_EMOJI:
            n = self.r_up[r] + sign
            if not 0 <= n <= 65535:
                return
            self._count(r, -1)
            self.r_up[r] = n
            self._count(r, +1)

    def attach_reply(self, r: int, author: int) -> None:
        """Give a detached reply (its author forgotten by the index) back to its author."""
        self.r_author[r] = author
        self._count(r, +1)

    def drop_reply(self, r: int) -> None:
        """Forget one reply (deleted): it no longer counts for its author."""
        self._count(r, -1)
        self.r_author[r] = NOBODY

    def weight(self, r: int) -> float:
        """Quality weight of a reply."""
        return quality(self.r_acc[r], self.r_up[r])

    def defer(self) -> None:
        """Stop counting activity until `settle`: a bulk load then counts each answer once, not once
        per reaction and root that changes its weight afterwards."""
        self._deferred = True

    def settle(self) -> None:
        """Count every answer's activity afresh and resume counting as things arrive."""
        self._deferred = False
        self.activity.clear_counts()
        for r in range(len(self.r_thread)):
            self._count(r, +1)

    def _count(self, r: int, sign: int) -> None:
        if not self._deferred and self.is_answer(r):
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
