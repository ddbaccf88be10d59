"""opt out, opt in, forget me (with confirmation) and my data: the data is really gone from every table."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlmodel import SQLModel, col
from sqlmodel import select as sm_select

from adapters.recording import RecordingAdapter
from bot.core import Steward
from bot.events import ReactionAdded, Sender
from bot.features.privacy import NOTHING_BUT_TOMBSTONE
from bot.replies import AskChoice
from storage.db import Database
from storage.models import Contribution, Member, Message, Reaction
from storage.privacy import member_references
from tests.events import command, message, pick


async def _scalar(db: Database, stmt: object) -> int:
    async with db.session() as session:
        return int((await session.exec(stmt)).scalar_one())  # type: ignore[call-overload]


async def _seed_history(steward: Steward, platform: RecordingAdapter) -> str:
    """Ana asks, Bruno answers, each reacts to the other; returns Ana's root message id."""
    root = message("how do I pin helm chart versions?", user="UANA", message_id="100.1")
    await platform.inject(root)
    await platform.inject(message("use a lock file per env", user="UBRUNO", thread="100.1", message_id="100.2"))
    await platform.inject(message("thanks, that worked", user="UANA", thread="100.1", message_id="100.3"))
    for user, target in (("UANA", "100.2"), ("UBRUNO", "100.1")):
        await platform.inject(ReactionAdded(event_id=f"r-{user}", platform="recording", channel="C1",
                                            sender=Sender(id=user), message_id=target, emoji="white_check_mark"))
    async with steward.db.session() as session:
        ana = (await session.exec(sm_select(Member).where(Member.platform_user_id == "UANA"))).one()
        session.add(Contribution(community_id=ana.community_id, member_id=ana.id or 0, kind="answered"))
    return "100.1"


async def test_forget_me_removes_every_trace(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    await _seed_history(steward, platform)
    platform.sent.clear()

    await platform.inject(command("forget me", user="UANA"))
    question = platform.sent[-1]
    assert isinstance(question, AskChoice) and question.user == "UANA"
    assert await _scalar(steward.db, select(func.count()).select_from(Message)) == 3  # nothing yet

    await platform.inject(pick(question.key, "yes", user="UANA"))
    assert "forgotten" in platform.texts()[-1]

    db = steward.db
    ana_rows = await _scalar(db, select(func.count()).select_from(Member).where(
        col(Member.platform_user_id) == "UANA"))
    assert ana_rows == 0
    async with db.session() as session:
        anonymised = (await session.exec(sm_select(Member).where(col(Member.forgotten_at).is_not(None)))).one()
        assert anonymised.display_name == "" and anonymised.opted_out
        ana_id = anonymised.id
    # Nothing in any table still points at her, and nothing hangs off her deleted messages.
    for table, column in member_references() + member_references(nullable=True):
        assert await _scalar(db, select(func.count()).select_from(table).where(table.c[column] == ana_id)) == 0
    assert await _scalar(db, select(func.count()).select_from(Message)) == 1  # Bruno's answer stays
    assert await _scalar(db, select(func.count()).select_from(Reaction)) == 0  # hers, and Bruno's on hers
    # Bruno's entries for his answer (answered, accepted) are his and stay; none of them quotes her.
    assert await _scalar(db, select(func.count()).select_from(Contribution)) == 2
    # Her text is nowhere in the database any more.
    async with db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                if column.type.python_type is str:
                    hits = await session.exec(select(func.count()).select_from(table).where(  # type: ignore[call-overload]
                        column.like("%pin helm chart%")))
                    assert hits.one()[0] == 0, f"{table.name}.{column.name}"

    platform.sent.clear()
    await platform.inject(command("my data", user="UANA"))  # only her tombstone: a keyed hash, not her id
    assert platform.texts() == [NOTHING_BUT_TOMBSTONE]


async def test_forget_me_can_be_cancelled(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    await _seed_history(steward, platform)
    await platform.inject(command("forget me", user="UANA"))
    key = platform.sent[-1].key  # type: ignore[union-attr]
    await platform.inject(pick(key, "no", user="UANA"))
    assert platform.texts()[-1] == "OK, I forget nothing."
    assert await _scalar(steward.db, select(func.count()).select_from(Message)) == 3


async def test_opt_out_stops_indexing_and_opt_in_resumes(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    await platform.inject(command("opt out", user="UCHLOE"))
    await platform.inject(message("prometheus relabeling tip", user="UCHLOE"))
    await platform.inject(ReactionAdded(event_id="r-chloe", platform="recording", channel="C1",
                                        sender=Sender(id="UCHLOE"), message_id="nope", emoji="+1"))
    assert await _scalar(steward.db, select(func.count()).select_from(Message)) == 0
    await platform.inject(command("my data", user="UCHLOE"))
    assert "opted out" in platform.texts()[-1]
    await platform.inject(command("opt in", user="UCHLOE"))
    await platform.inject(message("grafana alerting tip", user="UCHLOE"))
    assert await _scalar(steward.db, select(func.count()).select_from(Message)) == 1


async def test_my_data_lists_what_is_kept(bot: tuple[Steward, RecordingAdapter]) -> None:
    steward, platform = bot
    await _seed_history(steward, platform)
    await platform.inject(command("my data", user="UANA"))
    reply = platform.texts()[-1]
    assert "**k8s**" in reply and "2 messages" in reply and "1 reaction," in reply and "1 contribution" in reply


async def test_someone_else_cannot_confirm_for_ana(bot: tuple[Steward, RecordingAdapter]) -> None:
    """Whoever answers the confirmation is the one forgotten: Bruno's click never erases Ana."""
    steward, platform = bot
    await _seed_history(steward, platform)
    await platform.inject(command("forget me", user="UANA"))
    await platform.inject(pick("forget:confirm", "yes", user="UBRUNO"))
    async with steward.db.session() as session:
        assert (await session.exec(sm_select(Member).where(Member.platform_user_id == "UANA"))).first()
        assert (await session.exec(text("select count(*) from message"))).one()[0] == 2  # type: ignore[call-overload]


async def test_forget_me_scrubs_what_waits_in_the_inbound_ledger_and_the_outbox(
        bot: tuple[Steward, RecordingAdapter]) -> None:
    """A delivery of hers not handled yet and a reply still to be sent to her go; others' stay."""
    import json

    from bot import reply_codec
    from bot.replies import DirectMessage
    from storage import inbound, outbox
    from storage.models import InboundEvent, OutboxReply

    steward, platform = bot
    await _seed_history(steward, platform)
    db = steward.db
    async with db.session() as session:
        await inbound.put_many(session, "recording", steward.owner, [  # a live owner: nobody takes them over
            ("Ev-hers", json.dumps({"user": "UANA", "text": "my secret helm plan"})),
            ("Ev-his", json.dumps({"user": "UBRUNO", "text": "his own words"}))])
        await outbox.keep(session, steward.owner, "recording", "Ev-x", [
            outbox.Entry("dm:UANA", reply_codec.encode(DirectMessage(user="UANA", text="for Ana"))),
            outbox.Entry("dm:UBRUNO", reply_codec.encode(DirectMessage(user="UBRUNO", text="for Bruno")))])
    await platform.inject(command("forget me", user="UANA"))
    await platform.inject(pick(platform.sent[-1].key, "yes", user="UANA"))  # type: ignore[union-attr]
    assert "forgotten" in platform.texts()[-1]
    await steward.delivery.flush()  # the confirmation to her was sent: crossed out (and gone) once written
    async with db.session() as session:
        waiting = (await session.exec(select(InboundEvent.event_id).where(  # type: ignore[call-overload]
            col(InboundEvent.payload).is_not(None)))).scalars().all()
        replies = (await session.exec(select(OutboxReply.payload).where(  # type: ignore[call-overload]
            col(OutboxReply.status) == "pending"))).scalars().all()
    assert waiting == ["Ev-his"]
    assert [json.loads(p)["user"] for p in replies] == ["UBRUNO"]
