"""Ledger entries from live events, on the whole bot with the recording adapter."""

from __future__ import annotations

from adapters.recording import RecordingAdapter
from bot.core import Steward
from storage.ledger import record
from tests.events import command, message
from tests.reputation.conftest import joined, ledger, member_id, react

Bot = tuple[Steward, RecordingAdapter]


async def test_a_reply_to_a_question_counts_once_per_thread_per_member(bot: Bot) -> None:
    steward, platform = bot
    root = message("How do I roll back a helm release?", user="UANA")
    await platform.inject(root)
    for text in ("helm rollback <release> <revision>", "and check helm history first"):
        await platform.inject(message(text, user="UBRUNO", thread=root.message_id))
    await platform.inject(message("thanks, trying it", user="UANA", thread=root.message_id))  # the asker
    assert await ledger(steward) == [("UBRUNO", "answered", "release roll back")]


async def test_a_reply_to_a_statement_is_no_answer_but_the_askers_check_makes_it_one(bot: Bot) -> None:
    steward, platform = bot
    root = message("Our ingress controller keeps restarting", user="UANA")
    await platform.inject(root)
    reply = message("raise its memory limit", user="UBRUNO", thread=root.message_id)
    await platform.inject(reply)
    assert await ledger(steward) == []
    await platform.inject(react(reply.message_id, "white_check_mark", user="UCHLOE"))  # not the root's author
    assert await ledger(steward) == []
    await platform.inject(react(reply.message_id, "white_check_mark", user="UANA"))
    await platform.inject(react(reply.message_id, "heavy_check_mark", user="UANA"))  # the same answer again
    kinds = [k for _u, k, _t in await ledger(steward)]
    assert kinds == ["accepted", "answered"]


async def test_shared_resource_needs_a_link_and_a_comment(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(message("https://example.org/bare-link", user="UANA"))
    await platform.inject(message("Great write-up on helm chart testing: https://example.org/helm-tests",
                                  user="UBRUNO"))
    await platform.inject(message("See <https://example.org/x|the guide> about kustomize overlays", user="UCHLOE"))
    assert [(u, k) for u, k, _t in await ledger(steward)] == [("UBRUNO", "shared"), ("UCHLOE", "shared")]


async def test_replying_to_a_newcomers_first_message_welcomes_them(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(joined("UNEW"))
    hello = message("Hi all, new here, working on platform tooling", user="UNEW")
    await platform.inject(hello)
    await platform.inject(message("Welcome aboard!", user="UANA", thread=hello.message_id))
    later = message("Another statement from me", user="UNEW")
    await platform.inject(later)
    await platform.inject(message("Nice", user="UBRUNO", thread=later.message_id))  # not a first message
    veteran = message("A veteran's first message Steward sees", user="UOLD")  # never seen joining
    await platform.inject(veteran)
    await platform.inject(message("hello", user="UBRUNO", thread=veteran.message_id))
    assert [(u, k) for u, k, _t in await ledger(steward)] == [("UANA", "welcomed")]


async def test_opted_out_members_get_no_entries(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(command("opt out", user="UBRUNO"))
    root = message("Which CNI do you use?", user="UANA")
    await platform.inject(root)
    await platform.inject(message("cilium", user="UBRUNO", thread=root.message_id))
    assert await ledger(steward) == []


async def test_survey_participation_is_counted_without_any_link(bot: Bot) -> None:
    steward, platform = bot
    await platform.inject(message("hello", user="UANA"))
    ana = await member_id(steward, "UANA")
    async with steward.db.session() as session:
        from storage.models import Member

        member = await session.get(Member, ana)
        assert member is not None
        for _ in range(2):  # two surveys, two entries (written at their closing: storage/surveys.py seal)
            await record(session, community_id=member.community_id, member_id=ana, kind="surveyed", key=None)
    assert [k for _u, k, _t in await ledger(steward)] == ["surveyed", "surveyed"]
    platform.sent.clear()
    await platform.inject(command("my contributions", user="UANA"))
    text = platform.texts()[-1]
    assert "Pulse surveys you answered: 2 (only you see this" in text and "steward://" not in text
