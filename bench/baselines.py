"""Classic expert-finding baselines, computed on the same posts as Steward's ranker.

All use BM25 (k1=1.2, b=0.75) over lower-cased word tokens, as in shared/data/README.md.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.expertise import Post
from bot.expertise.records import ACCEPT_EMOJI, UPVOTE_EMOJI

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, nothing removed (the baselines' plain tokeniser)."""
    return _WORD.findall(text.lower())


class BM25:
    """A plain dict-of-postings BM25, good for the sizes the baselines run on."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.post: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.dl = [len(d) for d in docs]
        for i, d in enumerate(docs):
            for w, f in Counter(d).items():
                self.post[w].append((i, f))
        self.n = len(docs)
        self.avg = sum(self.dl) / max(1, self.n)
        self.k1, self.b = k1, b

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """Return BM25 score per matching document (each query word counted once)."""
        out: dict[int, float] = defaultdict(float)
        for w in set(query):
            ps = self.post.get(w)
            if not ps:
                continue
            idf = math.log(1 + (self.n - len(ps) + 0.5) / (len(ps) + 0.5))
            for i, f in ps:
                norm = f + self.k1 * (1 - self.b + self.b * self.dl[i] / self.avg)
                out[i] += idf * f * (self.k1 + 1) / norm
        return out


@dataclass
class Thread:
    """A root and its replies, as the baselines see them."""

    asker: str = ""
    text: str | None = None
    replies: list[tuple[str, int, int]] = field(default_factory=list)  # (author, accepted, upvotes)


def ranked(scores: dict[str, float]) -> list[str]:
    """Members by decreasing score (ties by id, so runs are deterministic)."""
    return [m for m, _ in sorted(scores.items(), key=lambda x: (-x[1], x[0]))]


class Baselines:
    """Fit every baseline on one pass over the posts; `rank` returns each one's member ranking."""

    NAMES = ("most-active", "BM25 candidate", "BM25 document", "BM25 thread", "RRF(active, thread)")

    def __init__(self, posts: Iterable[Post]) -> None:
        self.threads: dict[str, Thread] = defaultdict(Thread)
        self.replies: Counter[str] = Counter()
        profile: dict[str, list[str]] = defaultdict(list)
        msg_docs: list[list[str]] = []
        self.msg_author: list[str] = []
        for p in posts:
            toks = words(p.text)
            profile[p.author] += toks
            msg_docs.append(toks)
            self.msg_author.append(p.author)
            th = self.threads[p.thread_id or p.message_id]
            if p.thread_id in ("", p.message_id):
                th.asker, th.text = p.author, p.text
                continue
            self.replies[p.author] += 1
            acc = int(any(e in ACCEPT_EMOJI for e, _ in p.reactions))
            up = sum(1 for e, _ in p.reactions if e in UPVOTE_EMOJI)
            th.replies.append((p.author, acc, up))
        self.members = sorted(profile)
        self.cand = BM25([profile[m] for m in self.members])
        self.docs = BM25(msg_docs)
        self.roots = [t for t in self.threads.values() if t.text is not None and t.replies]
        self.root_bm = BM25([words(t.text or "") for t in self.roots])
        self.active = ranked({m: float(c) for m, c in self.replies.items()})

    def thread_model(self, q: list[str]) -> list[str]:
        """BM25 over past questions (top 30), answerers weighted by acceptance and upvotes."""
        out: dict[str, float] = defaultdict(float)
        top = heapq.nlargest(30, self.root_bm.scores(q).items(), key=lambda x: x[1])
        for i, s in top:
            t = self.roots[i]
            for a, acc, up in t.replies:
                if a != t.asker:
                    out[a] += s * (1 + acc + 0.5 * math.log1p(up))
        return ranked(out)

    def rank(self, question: str) -> dict[str, list[str]]:
        """Return each baseline's full member ranking for the question."""
        q = words(question)
        cand = ranked({self.members[i]: s for i, s in self.cand.scores(q).items()})
        per: dict[str, list[float]] = defaultdict(list)
        for i, s in self.docs.scores(q).items():
            per[self.msg_author[i]].append(s)
        doc = ranked({m: sum(heapq.nlargest(5, ss)) for m, ss in per.items()})
        thread = self.thread_model(q)
        fused: dict[str, float] = defaultdict(float)
        for r in (self.active, thread):
            for i, m in enumerate(r):
                fused[m] += 1.0 / (10 + i + 1)
        return dict(zip(self.NAMES, (self.active, cand, doc, thread, ranked(fused)), strict=True))
