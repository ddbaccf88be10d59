"""A small demo community, generated deterministically, so a newcomer can try Steward at once.

Members, three channels and three months of question threads, written through the same storage
functions live messages use. Everything is on the `console` platform: `steward chat --as ana` speaks
as Ana.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import select

from bot.importer import derive_ledger
from storage.communities import ensure_channel, ensure_community, get_community
from storage.db import Database
from storage.members import ensure_member
from storage.messages import add_reaction, store_message
from storage.models import Contribution

SLUG = "demo"
PLATFORM = "console"
MEMBERS = {  # id: (display name, time zone, topics they answer)
    "ana": ("Ana Souza", "America/Montreal", ("helm", "kubernetes")),
    "bruno": ("Bruno Tremblay", "America/Montreal", ("terraform", "aws")),
    "chloe": ("Chloé Martin", "Europe/Paris", ("prometheus", "grafana")),
    "dmitri": ("Dmitri Volkov", "Europe/Berlin", ("kubernetes", "networking")),
    "esther": ("Esther Okafor", "Europe/London", ("ci", "github actions")),
    "farid": ("Farid Haddad", "Europe/Paris", ("terraform", "vault")),
    "grace": ("Grace Liu", "America/Vancouver", ("grafana", "loki")),
    "hiro": ("Hiro Tanaka", "Asia/Tokyo", ("helm", "argo cd")),
}
CHANNELS = {"k8s": ("helm", "kubernetes", "networking", "argo cd"),
            "infra": ("terraform", "aws", "vault", "ci", "github actions"),
            "observability": ("prometheus", "grafana", "loki")}
QUESTIONS = [  # the topic twice, so it is among a thread's topics (bot/reputation/topics.py) as in real threads
    "Our {t} setup drifts between environments: how do you pin {t} versions?",
    "Has anyone hit a timeout when upgrading {t} in production? Is the {t} default too short?",
    "What is your checklist before a {t} rollout, and how do you roll {t} back?",
    "Any good tutorial for getting started with {t}? The {t} docs feel dense, where do I start?",
    "Why would {t} ignore my values override? Is there a {t} precedence rule?",
    "How do you test {t} changes before merging them into the {t} repository?",
]
ANSWERS = [
    "We pin it in a lock file per environment; for {t} the trick is to review the diff in CI first.",
    "I had that last month: the {t} default timeout is too short, raise it and watch the events.",
    "Start small: one namespace, one owner, and document the {t} rollback before you need it.",
    "The official {t} docs plus our internal runbook (pinned in this channel) got me going.",
    "Check the precedence order: with {t}, later files win, and --set beats everything.",
]


async def ensure_demo(db: Database, seed: int = 7) -> bool:
    """Create the demo community unless it exists; True when it was created.

    Its history then yields contributions, reputation and kudos exactly as an import does
    (`bot.importer.derive_ledger`), so `why is @ana suggested for helm?` has evidence to show.
    """
    missing = await _ledger_missing(db)
    if missing is not None:
        await derive_ledger(db, missing)
    async with db.session() as session:
        if await get_community(session, SLUG) is not None:
            return False
        rng = random.Random(seed)
        community = await ensure_community(session, SLUG, name="Platform engineering CoP (demo)",
                                           timezone="America/Montreal")
        assert community.id is not None
        start = datetime(2026, 8, 1, 14, 0, tzinfo=UTC)
        people = {}
        for uid, (name, tz, _topics) in MEMBERS.items():
            people[uid] = await ensure_member(session, community.id, PLATFORM, uid, display_name=name,
                                              timezone=tz, joined_at=start - timedelta(days=rng.randint(30, 400)))
        n = 0
        for day in range(0, 90, 2):
            channel_name = rng.choice(sorted(CHANNELS))
            channel = await ensure_channel(session, community, PLATFORM, channel_name, name=f"#{channel_name}")
            topic = rng.choice(CHANNELS[channel_name])
            experts = [u for u, (_n, _tz, topics) in MEMBERS.items() if topic in topics]
            asker = rng.choice([u for u in MEMBERS if u not in experts])
            at = start + timedelta(days=day, hours=rng.randint(0, 6))
            n += 1
            root_id = f"demo.{n}"
            assert channel.id is not None
            await store_message(session, community_id=community.id, channel_id=channel.id,
                                author_id=people[asker].id or 0, platform_id=root_id,
                                text=rng.choice(QUESTIONS).format(t=topic), posted_at=at)
            for k, answerer in enumerate(rng.sample(experts, k=len(experts))):
                n += 1
                reply, _ = await store_message(
                    session, community_id=community.id, channel_id=channel.id, author_id=people[answerer].id or 0,
                    platform_id=f"demo.{n}", thread_id=root_id, text=rng.choice(ANSWERS).format(t=topic),
                    posted_at=at + timedelta(minutes=20 + 30 * k))
                if k == 0 and reply.id is not None:
                    await add_reaction(session, reply.id, people[asker].id or 0, "white_check_mark",
                                       at + timedelta(hours=2))
                    if day % 3 == 0:  # a kudos now and then, as members give them
                        await add_reaction(session, reply.id, people[asker].id or 0, "pray", at + timedelta(hours=3))
    await derive_ledger(db, community.id)
    return True


async def _ledger_missing(db: Database) -> int | None:
    """The demo community's id when its history has no ledger yet (a demo made by an older Steward)."""
    async with db.session() as session:
        community = await get_community(session, SLUG)
        if community is None or community.id is None:
            return None
        entries = (await session.exec(select(func.count()).select_from(Contribution).where(
            Contribution.community_id == community.id))).one()
        return None if entries else community.id
