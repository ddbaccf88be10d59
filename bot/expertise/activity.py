"""Each member's answering activity at several time scales, as flat arrays that never overflow."""

from __future__ import annotations

import math
from array import array

DAY = 86_400.0
# Short, medium and long memories: which one predicts who answers next differs between communities
# (a Q&A site with churn wants days, a team chat with stable roles wants months); the ranker's
# weights, fitted on the community's own past, choose the mix.
HALF_LIVES_DAYS = (7.0, 30.0, 180.0)


class Activity:
    """Quality-weighted answer counts decayed at each half-life, plus counts and first/last times.

    Each member's sums are kept decayed to that member's latest answer (`_ref`), so values stay
    bounded over any history length and answers may arrive in any order.
    """

    def __init__(self) -> None:
        self.lams = tuple(math.log(2.0) / (h * DAY) for h in HALF_LIVES_DAYS)
        self._sums = [array("d") for _ in HALF_LIVES_DAYS]
        self._ref = array("d")
        self.answers = array("I")
        self.accepted = array("I")
        self.first = array("d")  # first post of any kind
        self.last = array("d")  # latest answer (0.0 when none)

    def copy(self) -> Activity:
        """Return an independent copy (for replaying the past)."""
        c = Activity()
        c._sums = [array("d", s) for s in self._sums]
        c._ref, c.answers, c.accepted = array("d", self._ref), array("I", self.answers), array("I", self.accepted)
        c.first, c.last = array("d", self.first), array("d", self.last)
        return c

    def add_member(self) -> None:
        """Open the next member slot."""
        for s in self._sums:
            s.append(0.0)
        self._ref.append(0.0)
        self.answers.append(0)
        self.accepted.append(0)
        self.first.append(math.inf)
        self.last.append(0.0)

    def seen(self, m: int, at: float) -> None:
        """Record that the member posted at that time."""
        if at < self.first[m]:
            self.first[m] = at

    def count(self, m: int, at: float, weight: float, accepted: int, sign: int) -> None:
        """Add (sign=+1) or remove (sign=-1) one answer of the given quality weight."""
        ref = self._ref[m]
        if ref == 0.0:
            ref = self._ref[m] = at
        if at > ref:
            for lam, s in zip(self.lams, self._sums, strict=True):
                s[m] = s[m] * math.exp(lam * (ref - at)) + sign * weight
            self._ref[m] = at
        else:
            for lam, s in zip(self.lams, self._sums, strict=True):
                s[m] += sign * weight * math.exp(lam * (at - ref))
        self.answers[m] += sign
        self.accepted[m] += sign * accepted
        if sign > 0 and at > self.last[m]:
            self.last[m] = at

    def levels(self, m: int, now: float) -> list[float]:
        """Decayed answer weight at `now`, one value per half-life (0.0 for a member never answering)."""
        dt = self._ref[m] - now
        if dt > 0.0:
            dt = 0.0  # asked about a past moment: the sums cannot be un-decayed reliably
        return [max(0.0, s[m] * math.exp(lam * dt)) for lam, s in zip(self.lams, self._sums, strict=True)]

    def clear_counts(self) -> None:
        """Zero every member's answer statistics (first-seen times stay), to count them again."""
        for s in self._sums:
            for m in range(len(s)):
                s[m] = 0.0
        for m in range(len(self._ref)):
            self._ref[m] = self.last[m] = 0.0
            self.answers[m] = self.accepted[m] = 0

    def reset(self, m: int) -> None:
        """Wipe a member's statistics."""
        for s in self._sums:
            s[m] = 0.0
        self._ref[m] = 0.0
        self.answers[m] = self.accepted[m] = 0
        self.first[m] = math.inf
        self.last[m] = 0.0
