"""Nothing is lost: work failing after the ack is replayed from the inbound ledger; 429 storms only slow us down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from sqlalchemy import text
from sqlmodel import select

from adapters.slack.translate import Identity, translate
from bot.config import Config
from bot.replies import Post
from storage import inbound
from storage.db import Database
from storage.models import InboundEvent
from tests.slack.conftest import Running, Slack, event_body, msg, start_bot
from tests.slack.fake_slack import TEAM, FakeSlack


@asynccontextmanager
async def commits_fail(db: Database) -> AsyncIterator[None]:
    """While inside, every transaction that claims an event fails at COMMIT (as on a full disk).

    SQLite: a deferred foreign key violated by a trigger; PostgreSQL: a deferred constraint trigger.
    """
    if db.is_sqlite:
        setup = ["CREATE TABLE fail_commit (x INTEGER REFERENCES community(id) DEFERRABLE INITIALLY DEFERRED)",
                 "CREATE TRIGGER fail_commit_trg AFTER UPDATE OF status ON inbound_event WHEN NEW.status = 'done' "
                 "BEGIN INSERT INTO fail_commit VALUES (-1); END"]
        teardown = ["DROP TRIGGER fail_commit_trg", "DROP TABLE fail_commit"]
    else:
        setup = ["CREATE FUNCTION steward_fail_commit() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$",
                 "CREATE CONSTRAINT TRIGGER fail_commit AFTER UPDATE ON inbound_event DEFERRABLE "
                 "INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'done') EXECUTE FUNCTION steward_fail_commit()"]
        teardown = ["DROP TRIGGER fail_commit ON inbound_event", "DROP FUNCTION steward_fail_commit()"]
    async with db.engine.begin() as conn:
        for sql in setup:
            await conn.execute(text(sql))
    try:
        yield
    finally:
        async with db.engine.begin() as conn:
            for sql in teardown:
                await conn.execute(text(sql))


@asynccontextmanager
async def inbox_fails(db: Database) -> AsyncIterator[None]:
    """While inside, writing to the inbox fails (as when the database is unreachable)."""
    if db.is_sqlite:
        setup = ["CREATE TRIGGER inbox_fails BEFORE INSERT ON inbound_event BEGIN SELECT RAISE(ABORT, 'down'); END"]
        teardown = ["DROP TRIGGER inbox_fails"]
    else:
        setup = ["CREATE FUNCTION steward_inbox_fails() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN RAISE EXCEPTION 'down (test)'; END $$",
                 "CREATE TRIGGER inbox_fails BEFORE INSERT ON inbound_event FOR EACH ROW "
                 "EXECUTE FUNCTION steward_inbox_fails()"]
        teardown = ["DROP TRIGGER inbox_fails ON inbound_event", "DROP FUNCTION steward_inbox_fails()"]
    async with db.engine.begin() as conn:
        for sql in setup:
            await conn.execute(text(sql))
    try:
        yield
    finally:
        async with db.engine.begin() as conn:
            for sql in teardown:
                await conn.execute(text(sql))


async def _inbox(db: Database) -> list[InboundEvent]:
    """Deliveries still waiting (done ones keep only their id, to refuse a second effect)."""
    async with db.session() as session:
        return list((await session.exec(select(InboundEvent).where(InboundEvent.status != "done"))).all())


async def test_commit_failing_after_ack_is_done_on_restart(db: Database, sconfig: Config,
                                                           fake_slack: FakeSlack) -> None:
    steward, adapter = await start_bot(db, sconfig, fake_slack)
    async with commits_fail(db), aiohttp.ClientSession() as session:
        status, _ = await Slack(adapter.url, session).event(event_body(msg("<@UBOT> help")))
        assert status == 200  # acknowledged: the event is in the inbox
        await adapter.intake.wait(30)
        await steward.stop()
    assert fake_slack.called("chat.postMessage") == []
    [row] = await _inbox(db)
    assert (row.status, row.attempts) == ("pending", 1)

    steward, adapter = await start_bot(db, sconfig, fake_slack)  # the next run, on the same database
    await adapter.intake.wait(30)
    await steward.stop()
    [post] = fake_slack.called("chat.postMessage")
    assert "Here is what you can ask me" in post["text"]
    assert await _inbox(db) == []


async def test_crash_after_persisting_is_replayed(db: Database, sconfig: Config, fake_slack: FakeSlack) -> None:
    body = event_body(msg("who knows about helm", channel="DANA", channel_type="im"))
    event = translate(body, Identity(team_id=TEAM, bot_user_id="UBOT"))
    assert event is not None
    async with db.session() as session:  # what accept() wrote before the process died
        assert await inbound.put_many(session, "slack", "a-dead-process", [(event.event_id, json.dumps(body))])

    steward, adapter = await start_bot(db, sconfig, fake_slack)
    await adapter.intake.wait(30)
    await steward.stop()
    [post] = fake_slack.called("chat.postMessage")
    assert post["channel"] == "DANA"
    assert "“helm”" in post["text"]
    assert await _inbox(db) == []


async def test_rate_limit_storm_delivers_everything_in_order(db: Database, sconfig: Config,
                                                             fake_slack: FakeSlack) -> None:
    steward, adapter = await start_bot(db, sconfig, fake_slack)
    fake_slack.rate_limit("chat.postMessage", times=4, retry_after=1)
    channels = ("C1", "C2", "C3")
    refs = await asyncio.gather(*(adapter.send(Post(channel=ch, text=f"{ch} #{i}"))
                                  for i in range(6) for ch in channels))
    await steward.stop()
    assert all(ref.message_id for ref in refs)
    posts = fake_slack.called("chat.postMessage")
    assert len(posts) == 18
    for ch in channels:
        assert [p["text"] for p in posts if p["channel"] == ch] == [f"{ch} #{i}" for i in range(6)]


async def test_rate_limited_users_info_does_not_block_the_answer(db: Database, sconfig: Config,
                                                                 fake_slack: FakeSlack) -> None:
    fake_slack.fail("users.info", "user_not_found")
    steward, adapter = await start_bot(db, sconfig, fake_slack)
    async with aiohttp.ClientSession() as session:
        await Slack(adapter.url, session).event(event_body(msg("<@UBOT> help")))
    await adapter.intake.wait(30)
    await steward.stop()
    assert len(fake_slack.called("chat.postMessage")) == 1


async def test_unacked_delivery_is_handled_when_slack_retries(db: Database, running: Running) -> None:
    body = event_body(msg("<@UBOT> help"))
    async with inbox_fails(db):
        assert (await running.slack.event(body))[0] == 500
    assert (await running.slack.event(body, retry=1))[0] == 200
    await running.settle()
    assert len(running.fake.called("chat.postMessage")) == 1


async def test_a_direct_message_with_an_image_uploads_it_in_the_conversation(running: Running) -> None:
    from bot.replies import DirectMessage

    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    sent = await running.adapter.send(DirectMessage(user="USPONSOR", text="Your digest", image=png,
                                                    image_name="k8s-2026-10.png"))
    await running.settle()
    assert sent.channel == "DUSPONSOR"
    [opened] = running.fake.called("files.getUploadURLExternal")
    assert opened["filename"] == "k8s-2026-10.png" and int(opened["length"]) == len(png)
    assert list(running.fake.uploads.values()) == [png]
    [completed] = running.fake.called("files.completeUploadExternal")
    assert completed["channel_id"] == "DUSPONSOR"


async def test_send_takes_the_cores_reply_key(running: Running) -> None:
    sent = await running.adapter.send(Post(channel="C1", text="Kept as reply 17"), key="17")
    [post] = running.fake.called("chat.postMessage")
    assert sent.channel == "C1" and sent.message_id
    assert post["text"] == "Kept as reply 17"


async def test_a_reply_slack_accepted_before_a_crash_is_not_sent_again(db: Database, sconfig: Config,
                                                                        fake_slack: FakeSlack) -> None:
    """The dead process's reply reached Slack (its key is in the message's metadata) but was not crossed
    out: the process taking it over finds it and does not post it twice; one that never left is sent."""
    from bot import reply_codec
    from bot.replies import DirectMessage, ReplyInThread
    from storage import outbox

    sent_before = [Post(channel="C1", text="posted before the crash"),
                   ReplyInThread(channel="C1", thread="1700000000.000100", text="answered before the crash"),
                   DirectMessage(user="UANA", text="told before the crash")]
    never_sent = Post(channel="C2", text="never left")
    first, early = await start_bot(db, sconfig, fake_slack)  # stands in for the dead process's last sends
    async with db.session() as session:  # what a process killed after Slack's answer leaves behind
        ids = await outbox.keep(session, "a-dead-process", "slack", "Ev-crash",
                                [outbox.Entry(r.channel if not isinstance(r, DirectMessage) else "dm:UANA",
                                              reply_codec.encode(r)) for r in [*sent_before, never_sent]])
    for reply, reply_id in zip(sent_before, ids, strict=False):
        await early.send(reply, f"o{reply_id}")
    await first.stop()  # (it has its own owner id: the rows still belong to the dead one)
    assert len(fake_slack.called("chat.postMessage")) == 3

    steward, _adapter = await start_bot(db, sconfig, fake_slack)  # the next process takes the rows over
    await steward.delivery.idle()
    await steward.stop()
    posts = [c["text"] for c in fake_slack.called("chat.postMessage")]
    assert sorted(posts) == sorted([*(r.text for r in sent_before), "never left"])  # each exactly once
    async with db.session() as session:
        assert await outbox.other_owners(session, "nobody") == []  # all crossed out
