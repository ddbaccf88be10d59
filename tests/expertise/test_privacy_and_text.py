"""forget_member, tokenisation and the compact id table."""

from __future__ import annotations

from bot.expertise import ExpertiseIndex, Post
from bot.expertise.idtable import IdTable
from bot.expertise.text import tokens

NOW = 1_700_000_000.0


def experts(ix: ExpertiseIndex, question: str) -> list[str]:
    """Suggested members with topical evidence (the rest are active members, as fillers)."""
    got = ix.rank(question, asker=None, now=NOW)
    return [s.member for s in got if s.evidence.similar_threads or s.evidence.declared]


def build() -> ExpertiseIndex:
    ix = ExpertiseIndex()
    ix.add(Post("1", "1", "ivy", "ansible vault password rotation", NOW - 100))
    ix.add(Post("2", "1", "jon", "use a vault id per environment", NOW - 90, (("+1", "kim"),)))
    ix.add(Post("3", "3", "jon", "packer ami build times out", NOW - 80))
    ix.add(Post("4", "3", "ivy", "raise the ssh timeout", NOW - 70, (("white_check_mark", "jon"),)))
    ix.declare("ivy", ["packer"])
    return ix


def test_forget_member_removes_them_everywhere() -> None:
    ix = build()
    assert experts(ix, "packer build") == ["ivy"]
    ix.forget_member("ivy")
    ix.forget_member("nobody")  # unknown members are a no-op
    assert ix.rank("packer build", asker=None, now=NOW) == []  # answers and declaration gone
    assert ix.threads_like("ansible vault rotation") == []  # her question is no longer searchable
    got = ix.rank("ansible vault", asker=None, now=NOW)
    assert "ivy" not in [s.member for s in got]
    # jon's evidence lost ivy's question and keeps nothing that names her
    assert all(s.member != "ivy" for s in ix.rank("timeout", asker=None, now=NOW))


def test_forgotten_member_can_come_back_fresh() -> None:
    ix = build()
    ix.forget_member("ivy")
    ix.add(Post("9", "9", "lea", "packer plugin install", NOW - 10))
    ix.add(Post("10", "9", "ivy", "run packer init", NOW - 5))
    s = ix.rank("packer", asker=None, now=NOW)[0]
    assert (s.member, s.evidence.answers, s.evidence.declared) == ("ivy", 1, ())
    assert experts(ix, "packer") == ["ivy"]


def test_tokens_strip_slack_markup_and_stop_words() -> None:
    text = "Hey <@U123|ana>, how do I use <https://k8s.io/docs|the K8s docs> with C++ and c#? :smile:"
    assert tokens(text) == ["k8s", "docs", "c++", "c#"]
    assert tokens("Bonjour, est-ce que quelqu'un connaît Kubernetes ? <!here> <#C1|général>") == [
        "connaît",
        "kubernetes",
    ]
    assert tokens("error 42 in 2024 at line 7") == ["error", "2024", "line"]
    assert tokens("") == []


def test_id_table_survives_growth() -> None:
    t = IdTable()
    for i in range(5000):
        assert t.setdefault(f"17000.{i:06d}", i) is None
    assert t.setdefault("17000.000042", 7) == 42
    t.put("17000.000042", 43)
    assert len(t) == 5000
    assert [t.get(f"17000.{i:06d}") for i in (0, 42, 4999)] == [0, 43, 4999]
    assert t.get("missing") is None
