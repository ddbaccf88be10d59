"""The post-import pass: the same ledger entries as live events, idempotent, with topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import col

from bot.history import HistoryChannel, HistoryMessage, HistoryUser
from bot.importer import HistoryImport, derive_ledger
from storage.db import Database
from storage.models import Contribution, Member

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _history() -> list[HistoryMessage]:
    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    return [
        HistoryMessage("1.0", "CH", "UANA", "How do I roll back a helm release?", at(0)),
        HistoryMessage("1.1", "CH", "UBRUNO", "helm rollback <rel> <rev>", at(1), thread="1.0",
                       reactions=(("white_check_mark", ("UANA",)), ("+1", ("UCHLOE",)))),
        HistoryMessage("1.2", "CH", "UBRUNO", "and read helm history", at(2), thread="1.0"),
        HistoryMessage("1.3", "CH", "UCHLOE", "same here", at(3), thread="1.0"),
        HistoryMessage("1.4", "CH", "UANA", "thanks both", at(4), thread="1.0"),
        HistoryMessage("1.5", "CH", "UBOT", "beep", at(5), thread="1.0"),
        # a statement, with an answer its author accepted: accepted + answered for Dan only
        HistoryMessage("2.0", "CH", "UCHLOE", "Ingress keeps restarting", at(10)),
        HistoryMessage("2.1", "CH", "UDAN", "raise the memory limit", at(11), thread="2.0",
                       reactions=(("white_check_mark", ("UCHLOE",)),)),
        HistoryMessage("2.2", "CH", "UANA", "saw that too", at(12), thread="2.0"),
        HistoryMessage("3.0", "CH", "UDAN", "Nice write-up on kustomize overlays https://example.org/k", at(20)),
        HistoryMessage("4.0", "CH", "UDAN", "https://example.org/just-a-link", at(21)),
    ]


async def _import(db: Database) -> HistoryImport:
    job = HistoryImport(db, "k8s", platform="slack")
    await job.begin([HistoryUser(u, u.title(), is_bot=u == "UBOT") for u in ("UANA", "UBRUNO", "UCHLOE", "UDAN",
                                                                             "UBOT")],
                    [HistoryChannel("CH", "helm")])
    await job.add(_history())
    await job.finish([])
    return job


async def _entries(db: Database) -> list[tuple[str, str, str | None, str]]:
    async with db.session() as session:
        stmt = (select(Member.platform_user_id, Contribution.kind, Contribution.topic, Contribution.evidence_url)
                .join(Member, col(Member.id) == col(Contribution.member_id))
                .order_by(Member.platform_user_id, Contribution.kind))
        return [(u, k, t, e) for u, k, t, e in (await session.exec(stmt)).all()]  # type: ignore[call-overload]


async def test_import_derives_answered_accepted_and_shared(db: Database) -> None:
    job = await _import(db)
    entries = await _entries(db)
    assert [(u, k) for u, k, _t, _e in entries] == [
        ("UBRUNO", "accepted"), ("UBRUNO", "answered"), ("UCHLOE", "answered"),
        ("UDAN", "accepted"), ("UDAN", "answered"), ("UDAN", "shared")]
    assert job.summary.ledger.added == {"accepted": 2, "answered": 3, "shared": 1, "welcomed": 0, "thanked": 0}
    by = {(u, k): (t, e) for u, k, t, e in entries}
    assert by[("UBRUNO", "answered")] == ("release roll back", "steward://message/CH/1.1")  # first reply
    assert by[("UDAN", "shared")] == ("kustomize overlays write", "steward://message/CH/3.0")


async def test_the_pass_is_idempotent(db: Database) -> None:
    await _import(db)
    async with db.engine.connect() as conn:
        community = (await conn.execute(select(Member.community_id).limit(1))).scalar_one()
    again = await derive_ledger(db, community)
    assert again.added == {"accepted": 0, "answered": 0, "shared": 0, "welcomed": 0, "thanked": 0}
    await _import(db)  # a second import of the same history adds nothing either
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Contribution))).one()[0] == 6  # type: ignore[call-overload]
