"""Pulse-survey anonymity against someone holding the whole database (issue 14, point 1).

The attacker reads every table with raw SQL, including what the engine keeps for itself (SQLite's
rowid; PostgreSQL's ctid and xmin), and tries to pair members with their answers by ordering both
sides the same way. The guarantees tested are structural, not lucky draws: after a survey closes its
answers carry no id, time, transaction or position that depends on when (or by whom) they were
given, and its participation rows carry only the closing time, in member order.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from alembic import command as alembic
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.reputation.scores import reputation
from storage.db import Database, alembic_config
from storage.models import Survey
from tests.conftest import BACKEND, create_pg_database, drop_pg_database
from tests.events import command, message, pick
from tests.surveys.conftest import Bot, close, survey_now

SPEC = '"How useful was this month?" scale 0-10; "Anything to add?" text'
ARRIVAL = (3, 7, 0, 9, 1, 5, 8, 2, 6, 4)  # the order in which U0…U9 answer (neither id nor value order)
USERS = [f"U{i}" for i in range(len(ARRIVAL))]


def _value(i: int) -> str:
    return str(len(ARRIVAL) - 1 - i)  # U0 answers 9, U9 answers 0: every member a distinct value


def _comment(i: int) -> str:
    return f"comment number {i}, only U{i} wrote this"


def _token(salt: str, user: str) -> str:
    """What anyone holding the salt computes: the member's answer token (storage/surveys.answer_token)."""
    return hmac.new(bytes.fromhex(salt), f"recording:{user}".encode(), hashlib.sha256).hexdigest()


async def _rows(db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]] | None:
    """Raw SQL on a connection of its own; None when the database refuses it (no such column)."""
    try:
        async with db.engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]
    except DBAPIError:
        return None


def _orders(db: Database, *, answers: bool) -> list[str | None]:
    """Every ordering the attacker tries: the surrogate id, time, physical position, transaction id."""
    engine = ["rowid"] if db.is_sqlite else ["ctid", "xmin::text::bigint"]
    return [*engine, "id", None] if answers else [*engine, "id", "at", "member_id"]


async def _run_survey(bot: Bot, arrival: Sequence[int] = ARRIVAL) -> tuple[Survey, str]:
    """Members answer through the real bot path (a tap, then a private free text); returns the survey and
    the salt as a backup taken while it was open would hold it."""
    _steward, platform = bot
    survey, asks = await survey_now(bot, SPEC)
    for i in arrival:
        await platform.inject(pick(asks[0].key, _value(i), user=USERS[i]))
    for i in arrival:
        await platform.inject(command(f"answer survey {survey.id}: {_comment(i)}", user=USERS[i], direct=True))
    return survey, survey.salt


async def _attack(db: Database, survey_id: int) -> int:
    """The best pairing the attacker gets by ordering answers and participation alike: how many members
    it pairs with their own answer and comment (out of len(USERS))."""
    names = dict(await _rows(db, "SELECT id, platform_user_id FROM member") or [])
    truth = {f"U{i}": (_value(i), _comment(i)) for i in range(len(USERS))}
    best = 0
    for a_order, p_order in product(_orders(db, answers=True), _orders(db, answers=False)):
        answers = await _rows(db, "SELECT token, question, value FROM survey_answer WHERE survey_id = :s"
                                  + (f" ORDER BY {a_order}" if a_order else ""), s=survey_id)
        members = await _rows(db, f"SELECT member_id FROM contribution WHERE kind = 'surveyed' ORDER BY {p_order}")
        if answers is None or members is None:
            continue  # that column does not exist: nothing to order by
        by_token: dict[str, dict[int, str]] = {}
        for token, question, value in answers:
            by_token.setdefault(token, {})[question] = value
        guess = zip([names[m] for (m,) in members], by_token.values(), strict=False)
        best = max(best, sum(truth[user] == (given.get(0), given.get(1)) for user, given in guess))
    return best


async def test_after_closing_answers_cannot_be_paired_with_participation_by_any_order(ritual_bot: Bot) -> None:
    steward, _platform = ritual_bot
    survey, _salt = await _run_survey(ritual_bot)
    await close(ritual_bot, survey)
    assert survey.id is not None
    # The replay of the attack that worked (7 of 7): every ordering of both sides, paired rank by rank.
    assert await _attack(steward.db, survey.id) < len(USERS)
    # And by construction, not by luck: no surrogate id, no time, no engine row order on the answers …
    async with steward.db.engine.connect() as conn:
        names = list((await conn.execute(text("SELECT * FROM survey_answer LIMIT 1"))).keys())
    assert sorted(names) == ["question", "survey_id", "token", "value"]
    if steward.db.is_sqlite:
        assert await _rows(steward.db, "SELECT rowid FROM survey_answer") is None  # WITHOUT ROWID
    else:
        xmins = await _rows(steward.db, "SELECT DISTINCT xmin::text FROM survey_answer WHERE survey_id = :s",
                            s=survey.id)
        assert xmins is not None and len(xmins) == 1  # rewritten in one transaction at closing
        physical = await _rows(steward.db, "SELECT token, question FROM survey_answer ORDER BY ctid")
        assert physical == sorted(physical or [])  # in the order of the fresh random ids: nothing else
    # … and participation written in one batch at closing: the closing time, in member id order.
    rows = await _rows(steward.db, "SELECT id, member_id, at FROM contribution WHERE kind = 'surveyed' ORDER BY id")
    assert rows is not None and len(rows) == len(USERS)
    assert [m for _i, m, _at in rows] == sorted(m for _i, m, _at in rows)
    assert len({str(at) for _i, _m, at in rows}) == 1
    async with steward.db.session() as session:
        closed = await session.get(Survey, survey.id)
    assert closed is not None and closed.closed_at is not None
    assert {str(at)[:16] for _i, _m, at in rows} == {closed.closed_at.strftime("%Y-%m-%d %H:%M")}


async def test_participation_says_who_took_part_never_in_which_order(ritual_bot: Bot) -> None:
    """Two runs answered by the same members in opposite orders leave the same participation rows."""
    steward, _platform = ritual_bot
    seen = []
    for arrival in (ARRIVAL, tuple(reversed(ARRIVAL))):
        survey, _salt = await _run_survey(ritual_bot, arrival)
        await close(ritual_bot, survey)
        rows = await _rows(steward.db, "SELECT member_id FROM contribution WHERE kind = 'surveyed' ORDER BY id")
        assert rows is not None
        seen.append(rows[-len(USERS):])
        if not steward.db.is_sqlite:
            by_ctid = await _rows(steward.db, "SELECT member_id FROM contribution WHERE kind = 'surveyed' "
                                              "ORDER BY ctid")
            assert by_ctid == rows
    assert seen[0] == seen[1]


async def test_a_salt_kept_from_while_the_survey_was_open_links_nothing_after_it_closes(ritual_bot: Bot) -> None:
    """A backup taken while a survey is open holds its salt: the answers as they stand after closing are
    re-keyed, so that salt recomputes no token still stored."""
    steward, _platform = ritual_bot
    survey, salt = await _run_survey(ritual_bot)
    assert salt
    stored = {t for (t,) in await _rows(steward.db, "SELECT token FROM survey_answer") or []}
    assert {_token(salt, u) for u in USERS} == stored  # while open: linkable by whoever holds the salt
    await close(ritual_bot, survey)
    after = {t for (t,) in await _rows(steward.db, "SELECT token FROM survey_answer") or []}
    assert len(after) == len(USERS) and not after & {_token(salt, u) for u in USERS}


async def test_reputation_shown_to_others_says_nothing_of_surveys(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    await platform.inject(message("hello", user="UBOB"))
    async with steward.db.session() as session:
        community = (await _rows(steward.db, "SELECT id FROM community") or [(0,)])[0][0]
        before = await reputation(session, community)
    survey, _salt = await _run_survey(ritual_bot)
    await close(ritual_bot, survey)
    await platform.inject(command("reputation <@U3>", user="UBOB"))
    shown = platform.texts()[-1]
    assert "survey" not in shown.lower(), shown
    async with steward.db.session() as session:
        after = await reputation(session, community)
    assert after == before  # no points either: a score rising after a closing would tell
    await platform.inject(command("leaderboard", user="UBOB"))
    assert "U3" not in platform.texts()[-1]
    await platform.inject(command("my contributions", user="U3"))  # the member alone sees a count
    own = platform.texts()[-1]
    assert "1" in own and "survey" in own.lower(), own


async def test_forget_me_while_a_survey_is_open_takes_the_answers_with_it(ritual_bot: Bot) -> None:
    steward, platform = ritual_bot
    survey, salt = await _run_survey(ritual_bot)
    await platform.inject(command("forget me", user="U3"))
    await platform.inject(pick("forget:confirm", "yes", user="U3"))
    assert "forgotten you" in platform.texts()[-1]
    # The attacker holds the salt (the survey is open) and U3's platform id (from the platform itself).
    found = await _rows(steward.db, "SELECT value FROM survey_answer WHERE token = :t", t=_token(salt, "U3"))
    assert found == []
    out = await close(ritual_bot, survey)
    assert not any(_comment(3) in getattr(r, "text", "") for r in out)
    assert "9 people answered" in " ".join(getattr(r, "text", "") for r in out)
    others = await _rows(steward.db, "SELECT token FROM survey_answer WHERE survey_id = :s AND question = 0",
                         s=survey.id)
    assert others is not None and len(others) == len(USERS) - 1


# -- upgrading a database written by the old code -------------------------------------------------------------

@pytest.fixture
def old_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (it is migrated step by step)."""
    if BACKEND == "postgres":
        url = create_pg_database("steward_anon")
        yield url
        drop_pg_database(url)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"


@pytest.fixture
async def old_db(old_url: str) -> AsyncIterator[Database]:
    """A database migrated up to just before this change (wherever the merge chains it)."""
    db = Database(old_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade_to_before)
    yield db
    await db.dispose()


def _upgrade_to_before(conn: Any) -> None:
    config = alembic_config(conn)
    previous = ScriptDirectory.from_config(config).get_revision("0013_anonymous_participation").down_revision
    assert isinstance(previous, str)
    alembic.upgrade(config, previous)


async def test_the_upgrade_unlinks_what_the_old_code_stored(old_db: Database) -> None:
    t0 = datetime(2026, 3, 2, 10)  # naive UTC, as the columns store it
    async with old_db.engine.begin() as conn:
        async def run(sql: str, **params: Any) -> None:
            await conn.execute(text(sql), params)

        await run("INSERT INTO community (id, slug, name, locale, timezone, created_at) "
                  "VALUES (1, 'k8s', '', 'en', 'UTC', :t)", t=t0)
        for i in range(6):
            await run("INSERT INTO member (id, community_id, platform, platform_user_id, display_name, opted_out, "
                      "is_bot, deleted, created_at) VALUES (:i, 1, 'recording', :u, '', false, false, false, :t)",
                      i=i + 1, u=f"U{i}", t=t0)
        for sid, status, salt, closed in ((1, "closed", "", t0 + timedelta(days=3)),
                                          (2, "open", secrets.token_hex(32), None)):
            await run("INSERT INTO survey (id, community_id, title, questions, platform, channel, status, salt, "
                      "opened_at, closes_at, closed_at, created_by) VALUES (:id, 1, 'Pulse', '[]', 'recording', "
                      "'C1', :st, :salt, :o, :c, :cl, '')", id=sid, st=status, salt=salt,
                      o=t0 + timedelta(days=10 * (sid - 1)), c=t0 + timedelta(days=10 * (sid - 1) + 3), cl=closed)
        # The old way: one answer row, then one "surveyed" row with its time, member after member.
        n = 0
        for sid in (1, 2):
            for k, i in enumerate((4, 1, 5, 0, 3, 2)):
                n += 1
                await run("INSERT INTO survey_answer (id, survey_id, question, token, value) "
                          "VALUES (:n, :s, 0, :t, :v)", n=n, s=sid, t=f"{sid}-{i:062d}", v=str(i))
                await run("INSERT INTO contribution (community_id, member_id, kind, evidence_url, note, at) "
                          "VALUES (1, :m, 'surveyed', '', '', :at)",
                          m=i + 1, at=t0 + timedelta(days=10 * (sid - 1), hours=1, minutes=k))
    async with old_db.engine.begin() as conn:
        await conn.run_sync(lambda c: alembic.upgrade(alembic_config(c), "0013_anonymous_participation"))

    answers = await _rows(old_db, "SELECT survey_id, token, question, value FROM survey_answer")
    assert answers is not None and len(answers) == 12
    closed = [a for a in answers if a[0] == 1]
    assert sorted(v for *_x, v in closed) == [str(i) for i in range(6)]  # every answer kept
    assert not {t for _s, t, _q, _v in closed} & {f"1-{i:062d}" for i in range(6)}  # re-keyed: no old token
    assert {t for s, t, _q, _v in answers if s == 2} == {f"2-{i:062d}" for i in range(6)}  # open: still changeable
    async with old_db.engine.connect() as conn:
        keys = list((await conn.execute(text("SELECT * FROM survey_answer"))).keys())
    assert "id" not in keys
    if old_db.is_sqlite:
        assert await _rows(old_db, "SELECT rowid FROM survey_answer") is None
    # The closed survey's participation: its closing time, in member order; the open survey's is
    # written again when it closes (from the answers' tokens), so the timed rows are gone.
    rows = await _rows(old_db, "SELECT member_id, at FROM contribution WHERE kind = 'surveyed' ORDER BY id")
    assert rows is not None and [m for m, _at in rows] == [1, 2, 3, 4, 5, 6]
    assert {str(at)[:16] for _m, at in rows} == {"2026-03-05 10:00"}
    if not old_db.is_sqlite:
        assert await _rows(old_db, "SELECT member_id FROM contribution ORDER BY ctid") == [(m,) for m, _ in rows]
