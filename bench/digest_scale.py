"""Digests and surveys at scale.

1. `digest`: the sponsor digest of one month for a community with ~1,000,000 messages (the synthetic
   `synth` database), timed warm (3 runs) and cold (the first run, matplotlib import included).
2. `survey`: 5,000 members answer one survey at once — `asyncio.gather` of 5,000 `ChoicePicked` events
   through the real `Steward.dispatch` on the recording adapter — then the tally is checked: no answer lost;
   then the survey is sealed (participation counted from 5,000 members' tokens, answers re-keyed), timed.

    cp /tmp/sd-scale/steward.db /tmp/digest-scale/steward.db
    .venv/bin/python bench/digest_scale.py digest --url sqlite:////tmp/digest-scale/steward.db --month 2024-10
    .venv/bin/python bench/digest_scale.py survey                       # SQLite in a temp dir
    .venv/bin/python bench/digest_scale.py survey --postgres            # a fresh database on local PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import asyncpg
from sqlmodel import func, select

from adapters.recording import RecordingAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config
from bot.core import Steward
from bot.events import ChoicePicked, MessagePosted, Sender
from bot.features import build_router
from bot.i18n import translator
from bot.replies import AskChoice
from storage.communities import get_community
from storage.db import Database, resolve_url
from storage.models import Contribution, Message, Survey
from storage.surveys import respondents, seal, value_counts
from storage.types import utcnow

PG_ADMIN = os.environ.get("STEWARD_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


async def bench_digest(url: str, slug: str, month: date) -> None:
    from bot.digest.chart import render_chart
    from bot.digest.render import to_markdown
    from bot.digest.report import build_digest

    db = Database(resolve_url(url, Path(tempfile.gettempdir())))
    await db.upgrade()
    _ = translator("en")
    async with db.session() as session:
        community = await get_community(session, slug)
        assert community is not None and community.id is not None, f"no community {slug!r}"
        messages = (await session.exec(select(func.count()).select_from(Message).where(
            Message.community_id == community.id))).one()
    timings = []
    for run in range(4):
        started = time.perf_counter()
        async with db.session() as session:
            d = await build_digest(session, community, None, month, _)
            text = to_markdown(d, "en")
        figures = time.perf_counter() - started
        png = render_chart(d.history, _)
        total = time.perf_counter() - started
        timings.append((figures, total))
        if run == 0:
            print(f"cold run: figures {figures:.3f} s, figures + text + chart {total:.3f} s "
                  f"({len(text)} chars, {len(png)} bytes of PNG)")
    warm = timings[1:]
    print(f"community {slug!r}: {messages:,} messages; digest of {month:%Y-%m}: active {d.active}, core {d.core}, "
          f"newcomers {d.newcomers}, stage {d.stage.name}")
    print(f"warm (3 runs): figures median {statistics.median(f for f, _t in warm):.3f} s, "
          f"with text + chart median {statistics.median(t for _f, t in warm):.3f} s, "
          f"max {max(t for _f, t in warm):.3f} s")
    print(f"machine: {machine()}; database: {db.engine.url.render_as_string(hide_password=True)}")
    await db.dispose()


async def bench_survey(url: str, respondents_n: int) -> None:
    db = Database(url)
    await db.upgrade()
    config = Config(data_dir=Path(tempfile.gettempdir()), communities=(CommunityConfig(
        slug="big", channels=("recording:C1",), coordinators=("recording:UCOORD",)),))
    steward = Steward(db, config, build_router())
    await sync_communities(steward)
    adapter = RecordingAdapter()
    steward.add_adapter(adapter)
    await steward.start_adapters()
    await adapter.inject(MessagePosted(event_id="open", platform="recording", channel="C1", message_id="m0",
                                       sender=Sender(id="UCOORD"), addressed=True, text="",
                                       command_text='survey now "How useful was this month?" scale 1-5'))
    ask = next(r for r in adapter.sent if isinstance(r, AskChoice))
    survey_id = int(ask.key.split(":")[1])
    events = [ChoicePicked(event_id=f"pick-{i}", platform="recording", channel="C1", sender=Sender(id=f"U{i}"),
                           key=ask.key, option=str(1 + i % 5)) for i in range(respondents_n)]
    started = time.perf_counter()
    await asyncio.gather(*(steward.dispatch(e) for e in events))
    elapsed = time.perf_counter() - started
    async with db.session() as session:
        counted = await respondents(session, survey_id)
        counts = await value_counts(session, survey_id, 0)
    async with db.session() as session:
        survey = await session.get(Survey, survey_id)
        assert survey is not None
        started = time.perf_counter()
        await seal(session, survey, utcnow())
        sealing = time.perf_counter() - started
    async with db.session() as session:
        surveyed = (await session.exec(select(func.count()).select_from(Contribution).where(
            Contribution.kind == "surveyed"))).one()
        sealed_counts = await value_counts(session, survey_id, 0)
    expected = {str(v): sum(1 for i in range(respondents_n) if 1 + i % 5 == v) for v in range(1, 6)}
    lost = respondents_n - counted
    print(f"{respondents_n} concurrent answers through Steward.dispatch in {elapsed:.2f} s "
          f"({respondents_n / elapsed:.0f}/s); respondents {counted}, lost {lost}, "
          f"tally {'exact' if counts == expected else f'WRONG {counts}'}")
    print(f"closing (storage.surveys.seal): {sealing:.2f} s; 'surveyed' contributions {surveyed}, "
          f"tally after re-keying {'exact' if sealed_counts == expected else f'WRONG {sealed_counts}'}")
    print(f"machine: {machine()}; database: {db.engine.url.get_backend_name()}")
    await steward.stop()
    await db.dispose()
    if lost or counts != expected or sealed_counts != expected or surveyed != respondents_n:
        raise SystemExit(1)


async def _pg_database() -> tuple[str, str]:
    name = f"steward_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name, PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"


async def _drop(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("digest")
    d.add_argument("--url", default="sqlite:////tmp/digest-scale/steward.db")
    d.add_argument("--community", default="synth")
    d.add_argument("--month", default="2024-10")
    s = sub.add_parser("survey")
    s.add_argument("--postgres", action="store_true")
    s.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.what == "digest":
        year, month = (int(x) for x in args.month.split("-"))
        asyncio.run(bench_digest(args.url, args.community, date(year, month, 1)))
        return
    if args.postgres:
        name, url = asyncio.run(_pg_database())
        try:
            asyncio.run(bench_survey(url, args.n))
        finally:
            asyncio.run(_drop(name))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench_survey(f"sqlite+aiosqlite:///{tmp}/steward.db", args.n))


if __name__ == "__main__":
    main()
