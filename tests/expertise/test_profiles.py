"""Member profiles (the candidate model): every question a member answered, exact as the index changes."""

from __future__ import annotations

import math
import random

from bot.expertise import ExpertiseIndex, Post, features
from bot.expertise.text import tokens
from tests.expertise.test_ranking import DAY, NOW, thread


def counts(ix: ExpertiseIndex) -> tuple[dict[tuple[int, int], int], list[int]]:
    """Every (term, member) count of the profiles, base and changes together, and the non-zero lengths."""
    p = ix._profiles
    at, members, tfs = p.arrays()
    out: dict[tuple[int, int], int] = {}
    for t in range(len(at) - 1):
        for i in range(at[t], at[t + 1]):
            out[t, members[i]] = tfs[i]
    for t, changed in p._delta.items():
        for m, v in changed.items():
            out[t, m] = out.get((t, m), 0) + v
    lens = list(p.lens)
    return {k: v for k, v in out.items() if v}, [*lens, *[0] * (len(ix._answers.names) - len(lens))]


def recounted(ix: ExpertiseIndex) -> tuple[dict[tuple[int, int], int], list[int]]:
    ix._profiles.rebuild(ix._postings, ix._answers)
    return counts(ix)


def profile_score(ix: ExpertiseIndex, member: str, question: str) -> float:
    terms = ix._postings.term_ids(tokens(question))
    return ix._profiles.scores(terms, [ix._answers.ids[member]])[0]


def test_a_member_whose_answered_questions_hold_the_words_gets_the_estimate() -> None:
    ix = ExpertiseIndex()
    # Cleo answered many vault questions long ago; none is among the threads closest to the new one.
    for k in range(8):
        thread(ix, f"A{k}", f"vault token renewal and lease policy {k}", [("cleo", "renew it")], at=NOW - 300 * DAY)
    thread(ix, "B", "grafana dashboards for postgres", [("dan", "use the exporter")])
    assert profile_score(ix, "cleo", "vault lease expired") > 0.0
    assert profile_score(ix, "dan", "vault lease expired") == 0.0
    assert profile_score(ix, "A1", "vault lease expired") == 0.0  # asking is not answering
    ranked = ix.rank("vault lease expired", asker=None, top=5)
    assert ranked[0].member == "cleo"
    assert math.isclose(sum(s.score for s in ix.rank("vault lease expired", asker=None, top=50)), 1.0)


def test_chances_pool_the_candidate_model_with_the_other_two_estimates() -> None:
    rows = [[0.0] * len(features.PRIOR), [0.0] * len(features.PRIOR)]
    two = features.chances(features.PRIOR, rows, [1.0, 1.0])
    three = features.chances(features.PRIOR, rows, [1.0, 1.0], [3.0, 1.0])
    assert two == [0.5, 0.5]
    assert math.isclose(three[0], (0.5 + 0.5 + 0.75) / 3) and math.isclose(sum(three), 1.0)
    assert features.chances(features.PRIOR, rows, [1.0, 1.0], [0.0, 0.0]) == two  # no profile says nothing


def test_profiles_stay_exact_through_edits_deletions_forgetting_and_restoring() -> None:
    rng = random.Random(4)
    words = "helm chart vault terraform kafka ingress probe lease topic partition".split()
    people = [f"U{k}" for k in range(8)]
    ix = ExpertiseIndex()
    posts: list[Post] = []
    for k in range(60):
        root = Post(f"q{k}", f"q{k}", rng.choice(people), " ".join(rng.choices(words, k=5)), NOW + k)
        posts.append(root)
        for j in range(rng.randint(0, 3)):
            posts.append(Post(f"q{k}.{j}", root.message_id, rng.choice(people), "an answer", NOW + k + j + 1))
    rng.shuffle(posts)  # replies may come before their question
    for p in posts:
        ix.add(p)
    assert counts(ix) == recounted(ix)
    for p in rng.sample(posts, 15):
        ix.remove(p.message_id)
    for p in [p for p in posts if p.is_root][:10]:
        ix.edit(p.message_id, " ".join(rng.choices(words, k=4)))
    ix.forget_member("U3")
    assert counts(ix) == recounted(ix)
    for p in posts:
        if p.author == "U3":
            ix.restore(p)
    ix.add(Post("late", "late", "U1", "kafka partition lag", NOW + 500))
    ix.add(Post("late.1", "late", "U2", "raise the consumers", NOW + 501))
    assert counts(ix) == recounted(ix)
    assert profile_score(ix, "U2", "kafka partition") > 0.0


def test_a_bulk_load_counts_the_profiles_once_at_the_end() -> None:
    live, bulk = ExpertiseIndex(), ExpertiseIndex()
    bulk.bulk_load()
    for ix in (live, bulk):
        for k in range(5):
            thread(ix, f"Q{k}", f"terraform state lock {k}", [("ana", "use a lock table"), ("bob", "or not")])
    bulk.loaded()
    assert counts(bulk) == counts(live) and counts(bulk)[0]


def test_a_save_merges_the_changes_into_the_arrays_without_changing_a_count() -> None:
    ix = ExpertiseIndex()
    ix.bulk_load()
    for k in range(6):
        thread(ix, f"Q{k}", f"kafka partition rebalance {k}", [("ana", "pin it"), ("bob", "or not")])
    ix.loaded()
    thread(ix, "Q9", "kafka consumer lag on a new topic", [("cleo", "add consumers")])  # a new word, a new member
    ix.remove(f"{thread(ix, 'Q8', 'kafka quotas', [('bob', 'raise them')])}.0")
    ana = ix._answers.ids["ana"]
    ix.forget_member("ana")
    live = counts(ix)
    assert ix._profiles.pending()
    ix._profiles.fold(len(ix._postings.words), len(ix._answers.names))
    assert not ix._profiles.pending()
    assert counts(ix) == live == recounted(ix)
    assert profile_score(ix, "cleo", "consumer lag") > 0.0
    assert ix._profiles.lens[ana] == 0 and all(m != ana for _, m in live[0])
