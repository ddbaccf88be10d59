"""Each member's term profile: the words of every question they answered, for a candidate model (BM25 over members).

The thread model behind the shares reads the 100 past questions most similar to a new one; a member
whose answers are spread over a large topic may hold few of those. The candidate model reads all of
a member's answering at once: one "document" per member, the questions they answered put together,
ranked by BM25 (Balog et al., "Formal models for expert finding", 2006: model 1 over the threads a
member took part in). Its length normalisation favours members whose answering is concentrated on
the question's words, which is what a weekly cap needs further down the list.

Built from the index's own arrays (each answer credits its thread's question terms to its author),
so it needs no text beyond the questions', a deleted or edited message changes it exactly, and a
forgotten member leaves nothing in it. Kept as term-major postings sorted by member (a base, rebuilt
in one vectorised pass after a bulk load and at each save) plus the changes since that base.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from bot.expertise.answers import NOBODY, AnswerLog
from bot.expertise.postings import K1, B, ThreadPostings

CHUNK = 500_000  # terms credited per step of a rebuild: bounds its temporary memory (about 50 bytes each)
MAX_TF = 0xFFFFFFFF


class MemberProfiles:
    """Per term, the members whose answered questions hold it and how often, as flat arrays plus changes."""

    def __init__(self) -> None:
        # The base, one tuple so a reader never sees half of a swap: term offsets into members/tfs
        # (len = terms + 1), members ascending within a term, counts.
        self._base: tuple[array[int], array[int], array[int]] = (array("q", [0]), array("I"), array("I"))
        self._delta: dict[int, dict[int, int]] = {}  # term -> member -> count added since the base
        self.lens = array("q")  # per member: the words of the questions credited to them

    def _grow(self, m: int) -> None:
        if m >= len(self.lens):
            self.lens.extend([0] * (m + 1 - len(self.lens)))

    def credit(self, m: int, terms: Sequence[int], tfs: Sequence[int], length: int, sign: int) -> None:
        """Add (sign=+1) or take back (sign=-1) one answered question's terms to a member's profile."""
        self._grow(m)
        self.lens[m] += sign * length
        delta = self._delta
        for t, f in zip(terms, tfs, strict=True):
            d = delta.get(t)
            if d is None:
                d = delta[t] = {}
            v = d.get(m, 0) + sign * f
            if v:
                d[m] = v
            else:
                d.pop(m, None)
                if not d:
                    del delta[t]

    def wipe(self, m: int) -> None:
        """Empty a member's profile (a forgotten member)."""
        if m >= len(self.lens):
            return
        at, members, tfs = self._base
        hits = np.flatnonzero(np.frombuffer(members, dtype=np.uint32) == m)
        terms = np.searchsorted(np.frombuffer(at, dtype=np.int64), hits, side="right") - 1
        in_base = dict(zip(terms.tolist(), np.frombuffer(tfs, dtype=np.uint32)[hits].tolist(), strict=True))
        for t in [t for t, d in self._delta.items() if m in d]:
            del self._delta[t][m]
            if not self._delta[t]:
                del self._delta[t]
        for t, f in in_base.items():
            self._delta.setdefault(t, {})[m] = -f
        self.lens[m] = 0

    def rebuild(self, postings: ThreadPostings, answers: AnswerLog) -> None:
        """Recount every profile from the index's threads and answers (after a bulk load)."""
        self._base, self.lens = base(postings, answers)
        self._delta = {}

    def fold(self, n_terms: int, n_members: int) -> None:
        """Merge the changes into the base (before a save), for `n_terms` terms and `n_members` members.

        Only the terms that changed are recounted; the rest is copied as it is, so this costs one copy of
        the base, never a recount of the whole community.
        """
        self._grow(n_members - 1)
        at, members, tfs = self._base
        offsets = np.frombuffer(at, dtype=np.int64)
        nb = len(offsets) - 1
        if not self._delta and nb == n_terms:
            return
        mem, cnt = np.frombuffer(members, dtype=np.uint32), np.frombuffer(tfs, dtype=np.uint32)
        sizes = np.zeros(n_terms, dtype=np.int64)
        sizes[:nb] = np.diff(offsets)
        pieces_m: list[Any] = []
        pieces_f: list[Any] = []
        done = 0  # base postings copied so far
        for t in sorted(self._delta):
            lo, hi = (int(offsets[t]), int(offsets[t + 1])) if t < nb else (len(mem), len(mem))
            pieces_m.append(mem[done:lo])
            pieces_f.append(cnt[done:lo])
            changed = self._delta[t]
            ms = np.concatenate([mem[lo:hi], np.fromiter(changed, dtype=np.uint32, count=len(changed))])
            fs = np.concatenate([cnt[lo:hi].astype(np.int64), np.fromiter(changed.values(), dtype=np.int64,
                                                                          count=len(changed))])
            u, inv = np.unique(ms, return_inverse=True)
            total = np.bincount(inv, weights=fs, minlength=len(u)).astype(np.int64)
            keep = total > 0
            pieces_m.append(u[keep])
            pieces_f.append(np.minimum(total[keep], MAX_TF).astype(np.uint32))
            sizes[t] = int(keep.sum())
            done = hi
        pieces_m.append(mem[done:])
        pieces_f.append(cnt[done:])
        new_at = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(sizes, out=new_at[1:])
        base = (array("q", new_at.tobytes()), array("I", np.concatenate(pieces_m).astype(np.uint32).tobytes()),
                array("I", np.concatenate(pieces_f).astype(np.uint32).tobytes()))
        del mem, cnt, offsets, pieces_m, pieces_f
        self._base, self._delta = base, {}

    def arrays(self) -> tuple[array[int], array[int], array[int]]:
        """The base's arrays (offsets, members, counts): a snapshot saves them after a `fold`."""
        return self._base

    @classmethod
    def from_arrays(cls, at: array[int], members: array[int], tfs: array[int], lens: array[int]) -> MemberProfiles:
        """Profiles from saved arrays (checked by the caller)."""
        p = cls()
        p._base, p.lens = (at, members, tfs), lens
        return p

    def pending(self) -> int:
        """How many (term, member) counts changed since the base."""
        return sum(map(len, self._delta.values()))

    def scores(self, terms: Sequence[int], cands: Sequence[int]) -> list[float]:
        """BM25 of the query terms against each candidate's profile (0.0 for members without one)."""
        (at, members, tfs), delta = self._base, self._delta
        lens = np.frombuffer(self.lens, dtype=np.int64)
        n = int(np.count_nonzero(lens))
        out = np.zeros(len(cands))
        if not n or not cands:
            return [0.0] * len(cands)
        avg = float(lens.sum()) / n
        c = np.array(cands, dtype=np.int64)
        clen = np.zeros(len(c))
        inside = c < len(lens)
        clen[inside] = lens[c[inside]]
        norm = K1 * (1.0 - B + B * clen / avg)
        offsets = np.frombuffer(at, dtype=np.int64)
        mem, cnt = np.frombuffer(members, dtype=np.uint32), np.frombuffer(tfs, dtype=np.uint32)
        for t in terms:
            f = np.zeros(len(c))
            df = 0
            if t + 1 < len(offsets):
                lo, hi = int(offsets[t]), int(offsets[t + 1])
                ms, fs = mem[lo:hi], cnt[lo:hi]
                df = hi - lo
                if df:
                    pos = np.minimum(np.searchsorted(ms, c), df - 1)
                    f = np.where(ms[pos] == c, fs[pos], 0).astype(np.float64)
            else:
                ms, fs = mem[:0], cnt[:0]
            d = delta.get(t)
            if d:
                for m, v in d.items():  # the few members whose answering changed since the base
                    b = _count(ms, fs, m)
                    df += int(b + v > 0) - int(b > 0)
                f += np.array([d.get(m, 0) for m in cands], dtype=np.float64)
            if df <= 0:
                continue
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            out += idf * (K1 + 1.0) * f / (f + norm)
        return [float(x) for x in out]


def _count(ms: Any, fs: Any, m: int) -> int:
    i = int(np.searchsorted(ms, m))
    return int(fs[i]) if i < len(ms) and int(ms[i]) == m else 0


def base(postings: ThreadPostings, answers: AnswerLog) -> tuple[tuple[array[int], array[int], array[int]], array[int]]:
    """Every member's profile counted afresh: (offsets, members, counts) and lengths."""
    n_terms, n_members = len(postings.words), len(answers.names)
    lens = array("q", bytes(8 * n_members))
    r_author = np.frombuffer(answers.r_author, dtype=np.int32).astype(np.int64)
    r_thread = np.frombuffer(answers.r_thread, dtype=np.uint32).astype(np.int64)
    t_asker = np.frombuffer(answers.t_asker, dtype=np.int32)
    fwd_n = np.frombuffer(postings._fwd_n, dtype=np.uint16).astype(np.int64)
    fwd_at = np.frombuffer(postings._fwd_at, dtype=np.uint32).astype(np.int64)
    fwd_terms = np.frombuffer(postings._fwd_terms, dtype=np.uint32)
    fwd_tfs = np.frombuffer(postings._fwd_tfs, dtype=np.uint8)
    doc_len = np.frombuffer(postings._len, dtype=np.uint16).astype(np.int64)
    # An answer: a reply by a known member other than its thread's asker, in a thread whose question is indexed.
    ok = (r_author != NOBODY) & (r_author != t_asker[r_thread])
    indexed = np.zeros(len(t_asker), dtype=np.bool_)
    indexed[: len(fwd_n)] = fwd_n > 0
    ok &= indexed[r_thread]
    authors, threads = r_author[ok], r_thread[ok]
    if len(authors):
        np.frombuffer(lens, dtype=np.int64)[:] = np.bincount(authors, weights=doc_len[threads],
                                                             minlength=n_members).astype(np.int64)
    # One member's answers at a time (members never straddle two steps): each step's counts are final,
    # so a step's temporary arrays stay small whatever the size of the community.
    order = np.argsort(authors, kind="stable")
    authors, threads = authors[order], threads[order]
    ends = np.cumsum(fwd_n[threads])
    parts: list[tuple[Any, Any]] = []
    lo = 0
    while lo < len(authors):
        hi = max(lo + 1, int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + CHUNK, side="right")))
        hi = int(np.searchsorted(authors, authors[hi - 1], side="right"))
        a, t = authors[lo:hi], threads[lo:hi]
        count = fwd_n[t]
        where = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) + np.repeat(fwd_at[t], count)
        k, inv = np.unique(fwd_terms[where].astype(np.int64) * n_members + np.repeat(a, count), return_inverse=True)
        parts.append((k, np.bincount(inv, weights=fwd_tfs[where], minlength=len(k)).astype(np.int64)))
        lo = hi
    keys = np.concatenate([k for k, _ in parts]) if parts else np.zeros(0, dtype=np.int64)
    sums = np.concatenate([v for _, v in parts]) if parts else np.zeros(0, dtype=np.int64)
    del parts
    order = np.argsort(keys, kind="stable")
    keys, sums = keys[order], sums[order]
    terms, members = keys // max(1, n_members), keys % max(1, n_members)
    at = array("q", np.searchsorted(terms, np.arange(n_terms + 1)).astype(np.int64).tobytes())
    return (at, array("I", members.astype(np.uint32).tobytes()),
            array("I", np.minimum(sums, MAX_TF).astype(np.uint32).tobytes())), lens
