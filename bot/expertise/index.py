"""The in-memory expertise index behind "who knows about X?" and "was this asked before?"."""

from __future__ import annotations

import time

from bot.expertise import features, learning, replay, scoring
from bot.expertise.answers import NOBODY, AnswerLog
from bot.expertise.idtable import IdList, IdTable
from bot.expertise.postings import ThreadPostings
from bot.expertise.records import ACCEPT_EMOJI, UPVOTE_EMOJI, Evidence, Post, Suggestion, ThreadHit
from bot.expertise.scoring import TopicEvidence
from bot.expertise.text import tokens

__all__ = ["Evidence", "ExpertiseIndex", "Post", "Suggestion", "ThreadHit"]

MAX_QUERY_TERMS = 64  # a pasted log must not cost more than a question
EVIDENCE_THREADS = 5
MIN_LESSONS = 30
COUNTED = ACCEPT_EMOJI | UPVOTE_EMOJI  # the only reactions the index counts (and so remembers)


def _reaction_key(message_id: str, emoji: str, reactor: str) -> str:
    return f"{message_id}\x1f{emoji}\x1f{reactor}"


class ExpertiseIndex:
    """Incremental index of threads, answers, reactions and declared topics, ranked in memory."""

    def __init__(self) -> None:
        self._postings = ThreadPostings()
        self._answers = AnswerLog()
        self._ids = IdTable()  # message id -> slot * 2 (+1 for a reply)
        self._counted = IdTable()  # reaction key -> 1 while counted: re-applying a reaction changes nothing
        self._thread_ids = IdList()  # thread slot -> its root's message id
        self._root_known = bytearray()
        self._declared: dict[int, list[tuple[str, frozenset[str]]]] = {}
        self._latest = 0.0
        self._fillers: tuple[tuple[int, int], list[int]] | None = None  # ((hour, forgets), members)
        self._forgets = 0
        self.weights: tuple[float, ...] = features.PRIOR

    def _thread(self, thread_id: str) -> int:
        t = len(self._thread_ids)
        v = self._ids.setdefault(thread_id, t * 2)
        if v is None:
            self._answers.new_thread()
            self._thread_ids.append(thread_id)
            self._root_known.append(0)
            return t
        # A reply to a reply (not a Slack shape, but cheap to honour) joins that reply's thread.
        return self._answers.r_thread[v >> 1] if v & 1 else v >> 1

    def add(self, post: Post) -> None:
        """Index one post; replies may come before their root, duplicates are ignored."""
        ans = self._answers
        m = ans.ids.get(post.author)
        if m is None:
            m = ans.member(post.author)
        ans.seen(m, post.at)
        if post.at > self._latest:
            self._latest = post.at
        if post.is_root:
            t = self._thread(post.message_id)
            if self._root_known[t]:
                return
            self._root_known[t] = 1
            ans.set_root(t, m, post.at)
            self._postings.add(t, tokens(post.text))
            return
        r = len(ans.r_thread)
        if self._ids.setdefault(post.message_id, r * 2 + 1) is not None:
            return
        accepted = upvotes = 0
        for emoji, reactor in post.reactions:
            if emoji not in COUNTED or self._counted.setdefault(
                    _reaction_key(post.message_id, emoji, reactor), 1) is not None:
                continue
            if reactor != post.author:
                if emoji in ACCEPT_EMOJI:
                    accepted += 1
                elif emoji in UPVOTE_EMOJI:
                    upvotes += 1
        ans.add_reply(self._thread(post.thread_id), m, post.at, accepted, upvotes)

    def bulk_load(self) -> None:
        """Prepare for a load of many posts and reactions: activity is counted once, at `loaded`."""
        self._answers.defer()

    def loaded(self) -> None:
        """End a bulk load (see `bulk_load`)."""
        self._answers.settle()
        self._fillers = None

    def add_reaction(self, message_id: str, emoji: str, reactor: str) -> None:
        """Count a reaction that arrived after its message (unknown messages, and reactions already
        counted, are ignored: a process applies its own changes live and again when following storage)."""
        v = self._ids.get(message_id)
        if v is None or not v & 1 or emoji not in COUNTED:
            return  # reactions on questions say nothing about who answers, other emoji nothing at all
        key = _reaction_key(message_id, emoji, reactor)
        if self._counted.get(key) == 1:
            return
        self._counted.put(key, 1)
        r = v >> 1
        author = self._answers.r_author[r]
        by_author = author != NOBODY and self._answers.names[author] == reactor
        self._answers.react(r, emoji, by_author=by_author)

    def remove_reaction(self, message_id: str, emoji: str, reactor: str) -> None:
        """Take back a reaction counted earlier (unknown messages and uncounted reactions are ignored)."""
        v = self._ids.get(message_id)
        if v is None or not v & 1 or emoji not in COUNTED:
            return
        key = _reaction_key(message_id, emoji, reactor)
        if self._counted.get(key) != 1:
            return
        self._counted.put(key, 0)
        r = v >> 1
        author = self._answers.r_author[r]
        by_author = author != NOBODY and self._answers.names[author] == reactor
        self._answers.react(r, emoji, by_author=by_author, sign=-1)

    def edit(self, message_id: str, text: str) -> None:
        """Re-read an edited question (replies are indexed by who wrote them, not by their words)."""
        v = self._ids.get(message_id)
        if v is None or v & 1 or self._answers.t_asker[v >> 1] == NOBODY:
            return
        t = v >> 1
        self._postings.remove(t)
        self._postings.add(t, tokens(text))

    def remove(self, message_id: str) -> None:
        """Forget a deleted message: a question stops being found, a reply stops counting for its author."""
        v = self._ids.get(message_id)
        if v is None:
            return
        if v & 1:
            self._answers.drop_reply(v >> 1)
        elif self._root_known[v >> 1]:
            t = v >> 1
            self._postings.remove(t)
            self._answers.unset_root(t)
            self._root_known[t] = 0
        self._fillers = None

    def declare(self, member: str, topics: list[str]) -> None:
        """Replace the topics a member says they know about."""
        m = self._answers.member(member)
        found = [(t.strip(), frozenset(tokens(t))) for t in topics]
        self._declared[m] = [(label, words) for label, words in found if words]
        self._fillers = None

    def restore(self, post: Post) -> bool:
        """Index a post of a member who opted back in, whose posts the index may hold detached.

        Returns True when the post was new to the index: its reactions are then still to be added
        (a detached reply kept its own).
        """
        v = self._ids.get(post.message_id)
        if v is None or not (v & 1 or self._root_known[v >> 1]):
            self.add(post)
            return True
        ans = self._answers
        m = ans.member(post.author)
        ans.seen(m, post.at)
        if v & 1:
            if ans.r_author[v >> 1] == NOBODY:
                ans.attach_reply(v >> 1, m)
        elif ans.t_asker[v >> 1] == NOBODY:
            ans.set_root(v >> 1, m, post.at)
            self._postings.add(v >> 1, tokens(post.text))
        self._fillers = None
        return False

    def forget_member(self, member: str) -> None:
        """Remove a member's questions, answers, declarations and statistics."""
        m = self._answers.ids.get(member)
        if m is None:
            return
        for t in self._answers.forget(m):
            self._postings.remove(t)
        self._declared.pop(m, None)
        self._forgets += 1
        self._fillers = None

    def calibrate(self) -> float:
        """Refit the ranking weights on this community's own recent threads; return their held-out MRR.

        Below MIN_LESSONS answered threads the prior weights stay (a handful would only teach noise).
        The figure returned is the mean reciprocal rank of who really answered the newest replayed
        threads, ranked as of when they were asked: a health check, not a promise.
        """
        done = replay.lessons(self._postings, self._answers)
        if len(done) < MIN_LESSONS:
            self.weights = features.PRIOR
            return learning.mrr(done, self.weights)
        weights, held_out = learning.choose(done, features.PRIOR)
        self.weights = tuple(weights)
        self._fillers = None
        return held_out

    def _most_active(self, now: float) -> list[int]:
        # Activity ranks move slowly: recompute at most once an hour of `now`, or after a forget.
        key = (int(now // 3600), self._forgets)
        if self._fillers is None or self._fillers[0] != key:
            self._fillers = (key, replay.fillers(self._answers, self._answers.activity, now))
        return self._fillers[1]

    def candidates(
        self,
        question: str,
        *,
        asker: str | None,
        exclude: set[str] | frozenset[str] = frozenset(),
        now: float | None = None,
    ) -> tuple[list[int], list[list[float]], dict[int, TopicEvidence], list[int]]:
        """Return the members worth ranking for a question, their feature rows, evidence and query terms.

        `rank` scores these rows with the fitted weights; benchmarks read them to fit other weights.
        """
        words = tokens(question)[: MAX_QUERY_TERMS * 4]
        if not words:
            return [], [], {}, []
        now = time.time() if now is None else now
        terms = self._postings.term_ids(words)[:MAX_QUERY_TERMS]
        ev = scoring.topic_evidence(self._postings, self._answers, terms)
        qwords = set(words)
        for m, declared in self._declared.items():
            hit = tuple(label for label, ws in declared if ws <= qwords)
            if hit:
                e = ev.setdefault(m, TopicEvidence())
                e.share += scoring.DECLARED_SHARE
                e.declared = hit
        found = [m for m, e in ev.items() if e.threads or e.declared]
        if not found:
            return [], [], ev, terms  # nobody has answered or declared anything like it
        names = self._answers.names
        banned = set(exclude) | ({asker} if asker else set()) | {""}
        cands = [m for m in dict.fromkeys([*found, *self._most_active(now)]) if names[m] not in banned]
        return cands, features.vectors(ev, cands, self._answers.activity, now), ev, terms

    def members(self) -> list[str]:
        """The platform ids of every member the index holds something of."""
        return [name for name in self._answers.names if name]

    def size(self) -> int:
        """How many threads and replies the index has slots for (a measure of its memory)."""
        return len(self._thread_ids) + len(self._answers.r_thread)

    def member_name(self, m: int) -> str:
        """The platform id of an internal member number (as `candidates` returns them)."""
        return self._answers.names[m]

    def rank(
        self,
        question: str,
        *,
        asker: str | None,
        exclude: set[str] | frozenset[str] = frozenset(),
        top: int = 10,
        now: float | None = None,
    ) -> list[Suggestion]:
        """Return up to `top` members most likely to answer the question, best first.

        A suggestion's score is its estimated chance of being the one who answers (see `features.chances`).
        """
        if top <= 0:
            return []
        cands, rows, ev, terms = self.candidates(question, asker=asker, exclude=exclude, now=now)
        shares = [e.share if (e := ev.get(m)) is not None else 0.0 for m in cands]
        chances = features.chances(self.weights, rows, shares)
        scored = sorted(zip(chances, cands, strict=True), key=lambda x: (-x[0], x[1]))[:top]
        names = self._answers.names
        return [Suggestion(names[m], s, self._evidence(m, ev.get(m), terms)) for s, m in scored]

    def _evidence(self, m: int, ev: TopicEvidence | None, terms: list[int]) -> Evidence:
        ans = self._answers
        ev = ev or TopicEvidence()
        qterms = set(terms)
        matched: dict[int, None] = {}
        for _, t in ev.threads:
            matched.update((w, None) for w in self._postings.terms_of(t) if w in qterms)
        return Evidence(
            similar_threads=len(ev.threads),
            accepted=ev.accepted,
            upvotes=ev.upvotes,
            answers=ans.m_answers[m],
            last_answer_at=ans.m_last[m] or None,
            matched_terms=tuple(self._postings.words[w] for w in matched),
            declared=ev.declared,
            thread_ids=tuple(self._thread_ids[t] for _, t in ev.threads[:EVIDENCE_THREADS]),
        )

    def threads_like(self, question: str, top: int = 3) -> list[ThreadHit]:
        """Return past answered threads most similar to the question, best first."""
        terms = self._postings.term_ids(tokens(question)[: MAX_QUERY_TERMS * 4])[:MAX_QUERY_TERMS]
        out: list[ThreadHit] = []
        ans = self._answers
        for t, s in self._postings.search(terms, top * 5):
            rs = [r for r in ans.replies(t) if ans.is_answer(r)]
            if rs:
                accepted = any(ans.r_acc[r] for r in rs)
                out.append(ThreadHit(self._thread_ids[t], s, len(rs), accepted))
            if len(out) >= top:
                break
        return out
