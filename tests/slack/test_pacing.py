"""Rate limits are per channel where Slack's are: a 429 in one channel leaves the others at full speed."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.slack.pacing import Limits, Pacer, TooLate
from bot.errors import RateLimited
from tests.slack.conftest import Running, event_body, msg
from tests.slack.fake_slack import Call, FakeSlack


async def _call_in(fake: FakeSlack, method: str, channel: str, within: float = 10) -> Call:
    """The first successful `method` call in `channel`, waiting up to `within` seconds for it."""

    def found() -> list[Call]:
        return [c for c in fake.called(method) if c.args.get("channel") == channel]

    assert await fake.wait_for(lambda: bool(found()), within), f"no {method} in {channel} within {within}s"
    return found()[0]


async def test_a_rate_limited_channel_does_not_hold_up_other_channels(running: Running) -> None:
    fake = running.fake
    fake.rate_limit("chat.postMessage", times=1, retry_after=3, channel="C1")
    await running.slack.event(event_body(msg("<@UBOT> help", channel="C1")))
    assert await fake.wait_for(lambda: bool(fake.limited), 10)  # C1's answer was refused: C1 waits out Retry-After

    asked = time.monotonic()
    await running.slack.event(event_body(msg("<@UBOT> help", channel="C2", user="UBEN")))
    await running.slack.command("/steward", "help", channel="C2", user="UCAT")
    answer = await _call_in(fake, "chat.postMessage", "C2")
    private = await _call_in(fake, "chat.postEphemeral", "C2")
    assert answer.at - asked < 1.5 and private.at - asked < 1.5  # not 3 s: only C1 was told to wait

    c1 = await _call_in(fake, "chat.postMessage", "C1")
    assert c1.at - fake.limited[0].at >= 2.9  # Retry-After honoured, then delivered
    assert "Here is what you can ask me" in c1["text"]


async def test_a_channel_keeps_its_order_through_a_429(running: Running) -> None:
    from bot.replies import Post

    running.fake.rate_limit("chat.postMessage", times=2, retry_after=1, channel="C1")
    await asyncio.gather(*(running.adapter.send(Post(channel=ch, text=f"{ch} #{i}"))
                           for i in range(4) for ch in ("C1", "C2")))
    posts = running.fake.called("chat.postMessage")
    for ch in ("C1", "C2"):
        assert [p["text"] for p in posts if p["channel"] == ch] == [f"{ch} #{i}" for i in range(4)]
    c2_last = max(p.at for p in posts if p["channel"] == "C2")
    assert c2_last < running.fake.limited[0].at + 0.5  # C2 was done before C1's pause ended


async def test_a_429_on_a_workspace_method_pauses_it_for_everyone() -> None:
    pacer = Pacer(Limits.unpaced())
    answers: list[tuple[str, float]] = []
    refused = False

    async def lookup(who: str) -> str:
        nonlocal refused
        if not refused:
            refused = True
            raise RateLimited(0.5, "(users.info)")
        answers.append((who, time.monotonic()))
        return who

    start = time.monotonic()
    first = asyncio.ensure_future(pacer.call("users.info", "", lambda: lookup("UANA")))
    await asyncio.sleep(0.05)
    await pacer.call("users.info", "", lambda: lookup("UBEN"))  # a different caller waits for the same pause
    await first
    assert all(at - start >= 0.45 for _, at in answers)


async def test_a_call_that_would_outlive_its_deadline_fails_instead_of_waiting() -> None:
    pacer = Pacer(Limits.unpaced())
    calls = 0

    async def open_view() -> str:
        nonlocal calls
        calls += 1
        raise RateLimited(5, "(views.open)")

    start = time.monotonic()
    with pytest.raises(TooLate):
        await pacer.call("views.open", "", open_view, deadline=start + 1)
    assert calls == 1 and time.monotonic() - start < 0.5
