"""Rendering that cannot be abused (issue 14, point 3): what people type never pings, links or escapes.

A member's agenda item, display name, question or kudos reason goes out through the real Slack adapter
(signed requests, a recorded Web API), the real Synapse and the terminal: no ping token, no HTML, no link
of theirs, no terminal escape. Mass kudos are bounded per message and per giver hour.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from adapters.console.adapter import ConsoleAdapter
from adapters.console.render import render_text
from adapters.matrix import render as matrix_render
from adapters.recording import RecordingAdapter
from adapters.slack import render as slack_render
from app.runtime import ensure_local_community
from bot.config import Config, RitualConfig
from bot.core import Steward
from bot.features import build_router
from bot.features.ritual_common import schedule_of
from bot.markup import Markup, literal, plain
from bot.replies import DirectMessage
from rituals import jobs
from rituals.jobs import fire_ritual
from rituals.setup import sync_config_rituals
from storage.db import Database
from storage.models import Ritual
from tests.events import command
from tests.matrix.conftest import bot_factory, people, synapse  # noqa: F401  (the real Synapse's fixtures)
from tests.slack.conftest import (
    Running,
    Slack,
    event_body,
    fake_slack,  # noqa: F401  (the recorded Slack Web API)
    msg,
    slack_config,
    start_bot,
)
from tests.slack.fake_slack import FakeSlack

PINGS = ("<!channel", "<!here", "<!everyone", "<!subteam", "<@U", "<#C")
HOSTILE = ("[our story](!channel) [a](!here) [b](!everyone) [c](!subteam^S0123|devs) [d](@UBOSS) "
           "[e](#C0999) <!channel> @here please come")


@pytest.fixture
async def slack_meetup(db: Database, config: Config, fake_slack: FakeSlack) -> AsyncIterator[Running]:  # noqa: F811
    """Steward on Slack for community k8s in C1, with a meetup declared in its config."""
    base = slack_config(config)
    meetup = RitualConfig(kind="meetup", title="Helm clinic", schedule="every 2nd tuesday at 16:00 America/Montreal")
    cfg = dataclasses.replace(base, communities=(dataclasses.replace(base.communities[0], rituals=(meetup,)),))
    steward, adapter = await start_bot(db, cfg, fake_slack)
    await sync_config_rituals(db, cfg)
    jobs.bind(steward)
    async with aiohttp.ClientSession() as session:
        yield Running(steward, adapter, fake_slack, Slack(adapter.url, session))
        jobs.bind(None)
        await steward.stop()


def _sent(fake: FakeSlack) -> list[dict[str, Any]]:
    return [c.args for c in fake.calls if c.method in ("chat.postMessage", "chat.postEphemeral", "chat.update")]


def _pings(args: dict[str, Any]) -> list[str]:
    dumped = json.dumps(args, ensure_ascii=False)
    return [token for token in PINGS if token in dumped]


async def test_slack_posts_carry_no_ping_written_by_a_member(slack_meetup: Running) -> None:
    running = slack_meetup
    running.fake.users["UANA"] = {"profile": {"display_name": "[boss](@UBOSS) <!channel> @everyone"}}
    await running.slack.event(event_body(msg(f"<@UBOT> add to agenda: {HOSTILE}")))
    await running.slack.event(event_body(msg(f"<@UBOT> who knows about {HOSTILE}")))
    await running.slack.event(event_body(msg(f"thanks <@UBRUNO> for {HOSTILE}")))
    await running.settle()
    async with running.steward.db.session() as session:
        ritual = (await session.exec(select(Ritual).where(Ritual.kind == "meetup"))).one()
    assert ritual.id is not None
    occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
    announce = occurrence - timedelta(days=7)
    assert await fire_ritual(ritual.id, announce, now=announce + timedelta(seconds=5)) == 1
    await running.steward.delivery.idle()
    await running.settle()

    sent = _sent(running.fake)
    roots = [a for a in sent if a.get("channel") == "C1" and not a.get("thread_ts") and "our story" in a["text"]]
    assert roots, "the announcement, with the agenda item, is posted at the channel root"
    dm = [a for a in sent if str(a.get("channel", "")).startswith("D") and "thanked you" in a["text"]]
    assert dm and "our story" in dm[0]["text"]  # the kudos reason reached Bruno, as text
    assert any("who knows about" in a["text"] for a in sent)  # the question was echoed back
    assert [(a["text"], found) for a in sent if (found := _pings(a))] == []
    assert "@\u2060everyone" in json.dumps(roots[0], ensure_ascii=False)  # the display name, defused
    for block in (b for a in sent for b in a.get("blocks") or [] if b.get("type") == "section"):
        assert block["text"].get("verbatim") is True  # Slack parses no mention or link by itself


async def test_forty_people_thanked_at_once_get_five_dms_without_the_link(slack_meetup: Running) -> None:
    running = slack_meetup
    everyone = " ".join(f"<@U{i:03d}>" for i in range(1, 41))
    await running.slack.event(event_body(msg(
        f"thanks {everyone} for [your SSO expired, re-login](https://evil.example/login) https://evil.example/x")))
    await running.settle()
    dms = [a for a in _sent(running.fake) if str(a.get("channel", "")).startswith("D")]
    assert len(dms) == 5
    for dm in dms:
        dumped = json.dumps(dm, ensure_ascii=False)
        assert "evil.example" not in dumped and "your SSO expired, re-login 🔗" in dm["text"]
        assert _pings(dm) == []
    note = [a for a in _sent(running.fake) if a.get("user") == "UANA"]
    assert note and "at most 5 people" in note[-1]["text"]  # the giver is told, kindly


async def test_a_giver_passes_on_at_most_kudos_per_hour(bot: tuple[Steward, RecordingAdapter]) -> None:
    _steward, platform = bot
    start = datetime.now(UTC)

    def dms() -> int:
        return sum(isinstance(r, DirectMessage) for r in platform.sent)

    for batch in range(3):
        people_ = " ".join(f"<@U{batch}{i}>" for i in range(5))
        await platform.inject(dataclasses.replace(command(f"thanks {people_} for the demo"),
                                                  at=start + timedelta(minutes=batch)))
    assert dms() == 10  # kudos_per_hour: the third message passes nothing on
    assert "a lot of thanks in one hour" in platform.texts()[-1]
    await platform.inject(dataclasses.replace(command("thanks <@UZED> for the demo"),
                                              at=start + timedelta(minutes=61)))
    assert dms() == 11  # an hour later, thanks flow again


async def _highlights(synapse_: Any, token: str, room: str) -> int:
    data = await asyncio.to_thread(synapse_.request, "GET", "/_matrix/client/v3/sync?timeout=0", None, token)
    return int(data["rooms"]["join"][room]["unread_notifications"].get("highlight_count", 0))


async def test_matrix_announcement_pings_nobody_and_answers_are_escaped_html(
        synapse: Any, people: Any, bot_factory: Any) -> None:  # noqa: F811
    ana, bob, carol = await people("ana"), await people("bob"), await people("carol")
    bot_account = bot_factory.register()
    room = await ana.create_room(invite=(bot_account.user_id, bob.user_id, carol.user_id))
    levels = await ana.client.room_get_state_event(room, "m.room.power_levels")
    content = dict(levels.content)
    content["users"] = {**content.get("users", {}), bot_account.user_id: 50}  # a moderator bot: @room is allowed
    await ana.client.room_put_state(room, "m.room.power_levels", content)
    await bob.join(room)
    await carol.join(room)
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)
    meetup = RitualConfig(kind="meetup", title="Helm clinic", schedule="every 2nd tuesday at 16:00 America/Montreal")
    config = bot.steward.config
    await sync_config_rituals(bot.db, dataclasses.replace(config, communities=(dataclasses.replace(
        config.communities[0], rituals=(meetup,)),)))

    bob_name = bob.user_id.split(":")[0].lstrip("@")  # his display name: a body naming him would ping him
    await carol.say(room, f"!steward add to agenda: @room {bob_name} <script>alert(1)</script> "
                          "[x](javascript:alert(1)) [y](https://evil.example/login)", **{"m.mentions": {}})
    added = (await bob.reply_from(bot.user_id, room, "the agenda item confirmed"))["content"]
    html = added["formatted_body"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert "<a " not in html and "javascript:" in html  # shown as typed, not a link

    jobs.bind(bot.steward)
    try:
        async with bot.db.session() as session:
            ritual = (await session.exec(select(Ritual).where(Ritual.kind == "meetup"))).one()
        assert ritual.id is not None
        occurrence = schedule_of(ritual).next(datetime.now(UTC), 1)[0]
        announce = occurrence - timedelta(days=7)
        assert await fire_ritual(ritual.id, announce, now=announce + timedelta(seconds=5)) == 1
    finally:
        jobs.bind(None)
    poll = await bob.wait_for(lambda e: e.get("sender") == bot.user_id and "Helm clinic" in e["content"].get(
        "body", ""), "the meetup announcement")  # a poll: not a notice, so push rules read its body
    assert poll["content"]["m.mentions"] == {} and not re.search(r"@room\b", poll["content"]["body"])
    assert bob_name in poll["content"]["body"]  # the agenda item is there, as typed
    assert await _highlights(synapse, bob.account.access_token, room) == 0


async def test_terminal_prints_no_escape_sequence_a_member_typed(db: Database, config: Config) -> None:
    steward = Steward(db, config, build_router())
    await ensure_local_community(steward, "demo")
    hostile = "who knows about \x1b]0;pwned\x07\x1b[2J\x1b[31mred\u202e [x](javascript:alert(1)) \x9b1m"

    def script() -> Iterator[str]:
        yield hostile
        raise EOFError

    lines, out = script(), io.StringIO()
    console = ConsoleAdapter("demo", "ana", read_line=lambda _prompt: next(lines), out=out)
    steward.add_adapter(console)
    await steward.start_adapters()
    await console.run()
    await steward.stop()
    printed = out.getvalue()
    assert "who knows about" in printed and "red" in printed
    assert re.findall(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", printed) == []
    assert "<javascript:" not in printed  # not rendered as a link


TARGETS = st.sampled_from(["!channel", "!here", "!everyone", "!subteam^S1|devs", "@U1", "#C1", "javascript:alert(1)",
                           "https://x.org/a?b=1&c=2", "https://x.org/<!channel>", "steward://message/C1/1.0"])
LINKS = st.tuples(st.text(max_size=8), st.one_of(TARGETS, st.text(max_size=12))).map(lambda p: f"[{p[0]}]({p[1]})")
MARKUP = st.lists(st.one_of(LINKS, st.sampled_from(["**", "_", "`", "- ", "\n", "<", ">", "&", "|"]),
                            st.text(max_size=8)), max_size=12).map("".join)


TEMPLATES = ("{v}", "**{v}**", "- {v}", "[{v}](https://example.org)", "[see]({v})", "`{v}`", "_{v}_")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TEMPLATES), st.one_of(MARKUP, st.text(max_size=80)))
def test_any_value_renders_as_text_on_every_platform(template: str, value: str) -> None:
    text = Markup(template).format(v=value)
    slack = json.dumps(slack_render.message(text), ensure_ascii=False)
    assert _pings({"s": slack}) == []
    assert "<" not in slack_render.mrkdwn(literal(value))  # a value alone never opens a Slack `<…>`
    html = matrix_render.to_html(text)
    if "[see]" not in template:
        assert "<a " not in html or (html.count("<a ") == 1 and 'href="https://example.org"' in html)
    assert "<script" not in html.lower() and not re.search(r"@room\b", matrix_render.plain(text))
    assert re.findall(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", render_text(text, color=False)) == []


@settings(max_examples=300, deadline=None)
@given(st.one_of(MARKUP, st.text(max_size=120)))
def test_no_text_at_all_makes_slack_ping_or_matrix_link_to_a_script(text: str) -> None:
    """Even Steward's own markup (or a corrupted stored reply) cannot: links go to http(s) only."""
    assert _pings({"s": slack_render.mrkdwn(text)}) == []
    hrefs = re.findall(r'<a href="([^"]*)"', matrix_render.to_html(text))
    assert all(h.startswith(("http://", "https://")) for h in hrefs)


def test_a_value_cannot_close_its_literal_span_or_pass_for_markup() -> None:
    sneaky = "\ue001**[x](!channel)**\ue000"  # the span's own markers, typed by someone
    text = Markup("Hi {name}, **{title}**").format(name=sneaky, title=Markup("bold"))
    assert plain(text) == "Hi **[x](!channel)**, **bold**"
    assert slack_render.mrkdwn(text) == "Hi **[x](!channel)**, *bold*"  # the value stays text, the markup works
    assert slack_render.mrkdwn(Markup(" - ").join(["[a](@U1)", Markup("**c**")])) == "[a](@U1) - *c*"
    assert slack_render.mrkdwn(Markup("**x**") + "[y](!here)") == "*x*[y](!here)"
    stored = Markup("[see](\ue000https://x.org/?a=1&b=2\ue001)")  # a link target filled in: read as typed
    assert slack_render.mrkdwn(stored) == "<https://x.org/?a=1&amp;b=2|see>"
