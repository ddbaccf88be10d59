"""Deriving the ledger from imported history: set-based SQL, idempotent, on SQLite and PostgreSQL.

Run after `steward import` (and safe to run again): the same rules and keys as the live features
(bot/features/contributions.py), so a thread seen live and imported later counts once.

1. accepted: a reply marked ✅ by its thread root's author (not their own reply), found from the ✅s;
2. answered: the first reply of each member in a question's thread (root ending with "?", or a routed
   question), plus the author of each accepted answer;
3. shared: messages with a link and a comment (a cheap SQL filter, then the Python rule);
3a. welcomed: a reply by someone else to a newcomer's first message, for members whose first message
   came at least NEWCOMER_AFTER_DAYS after the history begins (earlier ones were there already);
3b. thanked: a kudos reaction (🙏 by default) by someone else on a message, once per message and person
   (the live 24-hour window between the same two people is not replayed on history);
4. topics: the top terms of each thread root, computed once per root and set in one UPDATE.
Opted-out members and bots get no entries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import bindparam, column, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.bulk import _placeholders
from storage.types import UTCDateTime

LINK = "(CAST(:link AS TEXT) || ch.platform_id || '/' || m.platform_id)"  # the caller's neutral message link, e.g. steward://…
NEWCOMER_AFTER_DAYS = 30
ELIGIBLE = "mb.opted_out = :f AND mb.is_bot = :f"


@dataclass
class LedgerSummary:
    """Entries added per kind by one derivation pass, and its duration."""

    added: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # cumulative seconds at the end of each step


def _count(result: object) -> int:
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def derive_contributions(conn: AsyncConnection, community_id: int, *, accept: Sequence[str],
                               trailing: str, is_shared: Callable[[str], bool],
                               topics_of: Callable[[str], str], link: str,
                               kudos: Sequence[str] = ("pray",)) -> LedgerSummary:
    """Add the ledger entries the community's stored history implies (nothing twice).

    `link` starts the evidence link of a message (`<link><channel>/<message>`): the bot's neutral form,
    which each adapter renders as its platform's own link.
    """
    started = time.perf_counter()
    summary = LedgerSummary()
    params = {"c": community_id, "f": False, "trailing": trailing, "link": link}
    emojis = ", ".join(f"'{e}'" for e in accept if e.replace("_", "").isalnum())
    accepted = await conn.execute(text(f"""
        INSERT INTO contribution (community_id, member_id, kind, key, topic, message_id, evidence_url, note, at)
        SELECT m.community_id, m.author_id, 'accepted', 'accepted:' || m.author_id || ':' || m.platform_id,
               NULL, m.id, {LINK}, '', m.posted_at
        FROM reaction x
        JOIN message m ON m.id = x.message_id
        JOIN message q ON q.community_id = m.community_id AND q.platform_id = m.thread_id
                      AND q.channel_id = m.channel_id
        JOIN channel ch ON ch.id = m.channel_id
        JOIN member mb ON mb.id = m.author_id
        WHERE x.emoji IN ({emojis}) AND m.community_id = :c AND m.thread_id IS NOT NULL
          AND x.member_id = q.author_id AND m.author_id <> q.author_id AND {ELIGIBLE}
        ON CONFLICT DO NOTHING"""), params)
    summary.added["accepted"] = _count(accepted)
    summary.steps["accepted"] = time.perf_counter() - started
    # Question roots once (the "?" test runs per root, not per reply), then each member's first reply.
    await conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS ledger_question "
                               "(platform_id VARCHAR(255) NOT NULL, channel_id INTEGER NOT NULL, "
                               "author_id INTEGER NOT NULL, PRIMARY KEY (platform_id, channel_id))")
    await conn.exec_driver_sql("DELETE FROM ledger_question")
    await conn.execute(text("""
        INSERT INTO ledger_question (platform_id, channel_id, author_id)
        SELECT q.platform_id, q.channel_id, q.author_id FROM message q
        WHERE q.community_id = :c AND q.thread_id IS NULL
          AND (rtrim(q.text, :trailing) LIKE '%?'
               OR EXISTS (SELECT 1 FROM question z JOIN channel zc ON zc.platform_id = z.channel
                          WHERE z.community_id = :c AND z.thread = q.platform_id AND zc.id = q.channel_id))"""),
                       params)
    answered = await conn.execute(text(f"""
        INSERT INTO contribution (community_id, member_id, kind, key, topic, message_id, evidence_url, note, at)
        SELECT m.community_id, m.author_id, 'answered', 'answered:' || m.author_id || ':' || m.thread_id,
               NULL, m.id, {LINK}, '', m.posted_at
        FROM (SELECT MIN(r.id) AS id
              FROM ledger_question q
              JOIN message r ON r.community_id = :c AND r.thread_id = q.platform_id AND r.channel_id = q.channel_id
              WHERE r.author_id <> q.author_id
              GROUP BY r.author_id, r.channel_id, r.thread_id
              UNION
              SELECT c.message_id FROM contribution c
              WHERE c.community_id = :c AND c.kind = 'accepted' AND c.message_id IS NOT NULL) AS firsts
        JOIN message m ON m.id = firsts.id
        JOIN channel ch ON ch.id = m.channel_id
        JOIN member mb ON mb.id = m.author_id
        WHERE {ELIGIBLE}
        ON CONFLICT DO NOTHING"""), params)
    await conn.exec_driver_sql("DROP TABLE ledger_question")
    summary.added["answered"] = _count(answered)
    summary.steps["answered"] = time.perf_counter() - started
    summary.added["shared"] = await _shared(conn, community_id, is_shared, link)
    summary.steps["shared"] = time.perf_counter() - started
    summary.added["welcomed"] = await _welcomed(conn, community_id, link)
    summary.steps["welcomed"] = time.perf_counter() - started
    summary.added["thanked"] = await _thanked(conn, community_id, kudos, link)
    summary.steps["thanked"] = time.perf_counter() - started
    await _topics(conn, community_id, topics_of)
    summary.steps["topics"] = time.perf_counter() - started
    summary.seconds = time.perf_counter() - started
    return summary


async def _welcomed(conn: AsyncConnection, community_id: int, link: str) -> int:
    start = (await conn.execute(text("SELECT MIN(posted_at) FROM message WHERE community_id = :c")
                                .columns(column("posted_at", UTCDateTime())), {"c": community_id})).scalar()
    if start is None:
        return 0
    welcomed = await conn.execute(text(f"""
        INSERT INTO contribution (community_id, member_id, kind, key, topic, message_id, evidence_url, note, at)
        SELECT r.community_id, r.author_id, 'welcomed', 'welcomed:' || r.author_id || ':' || q.author_id,
               NULL, r.id, {LINK.replace("m.", "r.")}, '', r.posted_at
        FROM (SELECT author_id, MIN(id) AS id FROM message WHERE community_id = :c GROUP BY author_id) AS f
        JOIN message q ON q.id = f.id AND q.thread_id IS NULL AND q.posted_at >= :newcomers
        JOIN message r ON r.community_id = :c AND r.thread_id = q.platform_id AND r.channel_id = q.channel_id
                      AND r.author_id <> q.author_id
        JOIN channel ch ON ch.id = r.channel_id
        JOIN member mb ON mb.id = r.author_id
        WHERE {ELIGIBLE}
        ON CONFLICT DO NOTHING""").bindparams(bindparam("newcomers", type_=UTCDateTime())),
        {"c": community_id, "f": False, "link": link,
         "newcomers": start + timedelta(days=NEWCOMER_AFTER_DAYS)})
    return _count(welcomed)


async def _thanked(conn: AsyncConnection, community_id: int, kudos: Sequence[str], link: str) -> int:
    names = [k for k in kudos if k.replace("_", "").replace("+", "").replace("-", "").isalnum()]
    if not names:
        return 0
    emojis = ", ".join(f"'{e}'" for e in names)
    thanked = await conn.execute(text(f"""
        INSERT INTO contribution (community_id, member_id, kind, key, topic, message_id, evidence_url, note, at,
                                  giver_id)
        SELECT m.community_id, m.author_id, 'thanked',
               'thanked:' || m.author_id || ':' || x.member_id || ':r:' || m.platform_id,
               NULL, m.id, {LINK}, '', x.at, x.member_id
        FROM reaction x
        JOIN message m ON m.id = x.message_id
        JOIN channel ch ON ch.id = m.channel_id
        JOIN member mb ON mb.id = m.author_id
        JOIN member gv ON gv.id = x.member_id
        WHERE x.emoji IN ({emojis}) AND m.community_id = :c AND x.member_id <> m.author_id
          AND {ELIGIBLE} AND gv.is_bot = :f
        ON CONFLICT DO NOTHING"""), {"c": community_id, "f": False, "link": link})
    return _count(thanked)


async def _shared(conn: AsyncConnection, community_id: int, is_shared: Callable[[str], bool], link: str) -> int:
    result = await conn.execute(text(f"""
        SELECT m.id, m.author_id, m.platform_id, m.text, m.posted_at, {LINK}
        FROM message m JOIN channel ch ON ch.id = m.channel_id JOIN member mb ON mb.id = m.author_id
        WHERE m.community_id = :c AND m.text LIKE '%http%://%' AND {ELIGIBLE}"""),
        {"c": community_id, "f": False, "link": link})
    rows = [(community_id, author, "shared", f"shared:{author}:{pid}", mid, link, body.splitlines()[0][:200]
             if body.strip() else "", at)
            for mid, author, pid, body, at, link in result.all() if is_shared(body)]
    if not rows:
        return 0
    before = await _total(conn, community_id, "shared")
    sql = ("INSERT INTO contribution (community_id, member_id, kind, key, message_id, evidence_url, note, at) "
           f"VALUES ({_placeholders(conn, 8)}) ON CONFLICT DO NOTHING")
    await conn.exec_driver_sql(sql, rows)
    return await _total(conn, community_id, "shared") - before


async def _total(conn: AsyncConnection, community_id: int, kind: str) -> int:
    result = await conn.execute(text("SELECT count(*) FROM contribution WHERE community_id = :c AND kind = :k"),
                                {"c": community_id, "k": kind})
    return int(result.scalar_one())


async def _topics(conn: AsyncConnection, community_id: int, topics_of: Callable[[str], str]) -> None:
    """Topics of entries still without any, from their thread's root (or the message itself)."""
    roots = await conn.execute(text("""
        SELECT DISTINCT q.id, q.text
        FROM contribution c
        JOIN message m ON m.id = c.message_id
        JOIN message q ON q.community_id = m.community_id AND q.platform_id = COALESCE(m.thread_id, m.platform_id)
                      AND q.channel_id = m.channel_id
        WHERE c.community_id = :c AND c.topic IS NULL"""), {"c": community_id})
    found = [(root_id, topics_of(body)) for root_id, body in roots.all()]
    if not found:
        return
    await conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS ledger_root_topic "
                               "(root_id INTEGER PRIMARY KEY, topic VARCHAR(100) NOT NULL)")
    await conn.exec_driver_sql("DELETE FROM ledger_root_topic")
    await conn.exec_driver_sql(f"INSERT INTO ledger_root_topic VALUES ({_placeholders(conn, 2)})", found)
    await conn.execute(text("""
        UPDATE contribution SET topic = t.topic
        FROM message m, message q, ledger_root_topic t
        WHERE contribution.community_id = :c AND contribution.topic IS NULL
          AND m.id = contribution.message_id
          AND q.community_id = m.community_id AND q.platform_id = COALESCE(m.thread_id, m.platform_id)
          AND q.channel_id = m.channel_id AND t.root_id = q.id"""), {"c": community_id})
    await conn.exec_driver_sql("DROP TABLE ledger_root_topic")
