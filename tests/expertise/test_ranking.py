"""Behaviour of the expertise index on small hand-made communities."""

from __future__ import annotations

import itertools

from bot.expertise import ExpertiseIndex, Post

DAY = 86_400.0
NOW = 1_700_000_000.0
_ids = itertools.count(1)


def thread(
    ix: ExpertiseIndex,
    asker: str,
    question: str,
    answers: list[tuple[str, str]],
    at: float = NOW - 10 * DAY,
    accepted: str | None = None,
    upvotes: int = 0,
) -> str:
    """Add a question and its answers; return the thread id."""
    tid = f"t{next(_ids)}"
    ix.add(Post(tid, tid, asker, question, at))
    for i, (who, text) in enumerate(answers):
        reactions = [("+1", f"V{k}") for k in range(upvotes)]
        if who == accepted:
            reactions.append(("white_check_mark", asker))
        ix.add(Post(f"{tid}.{i}", tid, who, text, at + 60 * (i + 1), tuple(reactions)))
    return tid


def community() -> ExpertiseIndex:
    """Ana answers everything about terraform (a lot), Bob a little about kubernetes."""
    ix = ExpertiseIndex()
    for k in range(30):
        thread(ix, f"Q{k}", f"terraform state lock error on apply number {k}?", [("ana", "use a lock table")])
    for k in range(3):
        thread(ix, f"R{k}", f"kubernetes pod stuck in CrashLoopBackOff {k}", [("bob", "check the probe")])
    return ix


def members(ix: ExpertiseIndex, question: str, **kw: object) -> list[str]:
    return [s.member for s in ix.rank(question, now=NOW, **kw)]  # type: ignore[arg-type]


def test_ranking_follows_the_question() -> None:
    ix = community()
    assert members(ix, "how do I fix a terraform state lock?", asker="zed")[0] == "ana"
    assert members(ix, "my kubernetes pod keeps crashing", asker="zed")[0] == "bob"


def test_asker_and_excluded_are_never_suggested() -> None:
    ix = community()
    assert "ana" not in members(ix, "terraform state lock", asker="ana")
    got = members(ix, "terraform state lock", asker="zed", exclude={"ana", "bob"})
    assert not {"ana", "bob", "zed"} & set(got)


def test_declared_topics_matter() -> None:
    ix = community()
    assert "cleo" not in members(ix, "helm chart values for kubernetes", asker="zed")
    ix.declare("cleo", ["Helm charts", "argo cd"])
    ix.declare("dan", ["helm"])
    got = ix.rank("how to override helm values", asker="zed", now=NOW)
    assert got[0].member in {"cleo", "dan"}
    dan = next(s for s in got if s.member == "dan")
    assert dan.evidence.declared == ("helm",)
    ix.declare("dan", [])  # declarations are replaced, not accumulated
    assert "dan" not in members(ix, "how to override helm values", asker="zed")


def test_evidence_counts() -> None:
    ix = ExpertiseIndex()
    t1 = thread(ix, "q1", "postgres vacuum is slow", [("eve", "tune autovacuum")], accepted="eve", upvotes=3)
    t2 = thread(ix, "q2", "postgres index bloat", [("eve", "reindex"), ("fay", "pg_repack")], upvotes=1)
    thread(ix, "q3", "redis eviction policy", [("eve", "allkeys-lru")], at=NOW - 2 * DAY)
    (eve,) = [s for s in ix.rank("postgres vacuum bloat", asker="zed", now=NOW) if s.member == "eve"]
    ev = eve.evidence
    assert (ev.similar_threads, ev.accepted, ev.upvotes, ev.answers) == (2, 1, 4, 3)
    assert ev.last_answer_at == NOW - 2 * DAY + 60
    assert set(ev.thread_ids) == {t1, t2}
    assert set(ev.matched_terms) == {"postgres", "vacuum", "bloat"}


def test_replies_before_root_and_late_reactions() -> None:
    ix = ExpertiseIndex()
    ix.add(Post("r1", "root", "gus", "use sops with age keys", NOW - 5 * DAY))
    ix.add(Post("r2", "root", "asker", "thanks, that worked", NOW - 5 * DAY))
    ix.add(Post("root", "root", "asker", "how to encrypt secrets in git?", NOW - 6 * DAY))
    got = ix.rank("encrypt secrets in git", asker=None, now=NOW)
    assert [s.member for s in got] == ["gus"]  # the asker's own reply is not an answer
    assert got[0].evidence.accepted == 0
    ix.add_reaction("r1", "heavy_check_mark", "asker")
    ix.add_reaction("r1", "thumbsup", "hal")
    ix.add_reaction("r1", "+1", "gus")  # self-votes do not count
    ix.add_reaction("unknown", "+1", "hal")
    ev = ix.rank("encrypt secrets in git", asker=None, now=NOW)[0].evidence
    assert (ev.accepted, ev.upvotes, ev.answers) == (1, 1, 1)


def test_duplicates_are_ignored() -> None:
    ix = ExpertiseIndex()
    for _ in range(2):
        ix.add(Post("q", "q", "a", "grafana alert routing", NOW))
        ix.add(Post("r", "q", "b", "use notification policies", NOW + 1))
    assert ix.rank("grafana alert", asker=None, now=NOW)[0].evidence.answers == 1
    assert len(ix.threads_like("grafana alert")) == 1


def test_empty_and_very_long_questions() -> None:
    ix = community()
    assert ix.rank("", asker="zed") == []
    assert ix.rank("   :smile: <@U123>  ", asker="zed") == []
    assert ix.rank("nothing anyone ever said", asker="zed") == []
    long = "terraform " + " ".join(f"word{i}" for i in range(20_000))
    assert members(ix, long, asker="zed")[0] == "ana"
    assert ix.threads_like("") == []


def test_threads_like_finds_answered_threads() -> None:
    ix = community()
    ix.add(Post("lonely", "lonely", "x", "kubernetes ingress without answers", NOW))
    hits = ix.threads_like("kubernetes pod CrashLoopBackOff", top=3)
    assert len(hits) == 3 and all(h.answers == 1 for h in hits)
    assert "lonely" not in [h.thread_id for h in hits]
