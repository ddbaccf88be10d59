"""A small demo community, generated deterministically, so a newcomer can try Steward at once.

Members, three channels and the three months of question threads before this month, written through
the same storage functions live messages use; a coordinator (Bruno) and a sponsor (Grace), a monthly
meetup with its past occurrences (RSVPs, attendance, agenda, hosts), a closed pulse survey, and teams, so
every role of the README can be tried and last month's digest has something to say. Everything is on
the `console` platform: `steward demo --as bruno` speaks as Bruno.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.community_settings import change, effective
from bot.features.meetups import credit_hosts
from bot.importer import derive_ledger
from bot.pulse.questions import dump, parse_questions
from bot.schedule import parse_schedule
from storage.communities import ensure_channel, ensure_community, get_community
from storage.db import Database
from storage.members import ensure_member, list_members
from storage.messages import add_reaction, store_message
from storage.models import Community, Contribution, Member, Ritual
from storage.rituals import add_agenda_item, ensure_meetup, set_hosts, set_rsvp
from storage.surveys import answer_token, create_survey, record_answer, seal
from storage.teams import set_team

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
TEAMS = {"ana": "Platform", "dmitri": "Platform", "hiro": "Platform", "bruno": "Cloud", "esther": "Cloud",
         "farid": "Cloud", "chloe": "Observability", "grace": "Observability"}  # 2 in Observability: not listed
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


async def ensure_demo(db: Database, seed: int = 7, now: datetime | None = None) -> bool:
    """Create the demo community unless it exists; True when it was created.

    Its history then yields contributions, reputation and kudos exactly as an import does
    (`bot.importer.derive_ledger`), so `why is @ana suggested for helm?` has evidence to show. A demo made by
    an older Steward gets its ledger, and its roles, meetup and survey (`ensure_showcase`), added.
    """
    now = now or datetime.now(UTC)
    missing = await _ledger_missing(db)
    if missing is not None:
        await derive_ledger(db, missing)
    async with db.session() as session:
        existing = await get_community(session, SLUG)
        if existing is not None:
            await ensure_showcase(session, existing, now)
            await seed_teams(session, existing)
            return False
        rng = random.Random(seed)
        community = await ensure_community(session, SLUG, name="Platform engineering CoP (demo)",
                                           timezone="America/Montreal")
        assert community.id is not None
        start = _months_before(now, 3)
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
        await ensure_showcase(session, community, now)
        await seed_teams(session, community)
    await derive_ledger(db, community.id)
    return True


def _months_before(now: datetime, months: int) -> datetime:
    """14:00 UTC on the first day of the month `months` before `now`'s (the history ends with last month)."""
    index = now.year * 12 + now.month - 1 - months
    return datetime(index // 12, index % 12 + 1, 1, 14, 0, tzinfo=UTC)


# The showcase: roles, a meetup with history and a closed survey (kept apart from the threads above).
COORDINATORS, SPONSORS = ("bruno",), ("grace",)
MEETUP = ("Helm clinic", "every 2nd tuesday at 16:00 America/Montreal", "k8s")
SURVEY = '"How useful was the Helm clinic?" scale 1-5; "Which format next?" choice talks / workshops / demos'
SURVEY_ANSWERS = {"ana": ("4", "1"), "bruno": ("5", "1"), "chloe": ("4", "2"), "dmitri": ("3", "0"),
                  "esther": ("5", "1"), "farid": ("4", "1"), "hiro": ("2", "2")}  # 7 ≥ k = 5: results shown
AGENDA = ("Our Helm 4 upgrade story", "Chart testing in CI", "Secrets with the Vault operator")


async def ensure_showcase(session: AsyncSession, community: Community, now: datetime) -> None:
    """Roles, the meetup and the survey, unless the demo has its coordinators already (then it has them all)."""
    if community.id is None or effective(None, community) is not None:
        return
    people = {uid: await ensure_member(session, community.id, PLATFORM, uid, display_name=name, timezone=tz)
              for uid, (name, tz, _topics) in MEMBERS.items()}
    founded = _months_before(now, 3)
    await seed_roles(session, community, founded)
    await seed_meetup(session, community, people, founded, now)
    await seed_survey(session, community, _months_before(now, 1) + timedelta(days=9))


async def seed_teams(session: AsyncSession, community: Community) -> None:
    """Each demo member's team, as they would say `team Platform`; unless someone has a team already (a demo made
    by an older Steward gets them, one whose members changed theirs keeps what they said)."""
    members = [m for m in await list_members(session, community.id or 0) if m.platform == PLATFORM]
    if any(m.team for m in members):
        return
    for member in members:
        if member.platform_user_id in TEAMS and not member.opted_out:
            await set_team(session, member, TEAMS[member.platform_user_id])


async def seed_roles(session: AsyncSession, community: Community, at: datetime) -> None:
    """Bruno coordinates, Grace sponsors: set as a coordinator would in chat (`add coordinator @bruno`)."""
    by = f"{PLATFORM}:{COORDINATORS[0]}"
    await change(session, None, community, "coordinators", [f"{PLATFORM}:{u}" for u in COORDINATORS], by, at)
    await change(session, None, community, "sponsors", [f"{PLATFORM}:{u}" for u in SPONSORS], by, at)
    await change(session, None, community, "purpose", "We share how we run our platform: Kubernetes, Terraform, "
                 "observability. Ask anything, answer what you can.", by, at)


async def seed_meetup(session: AsyncSession, community: Community, people: dict[str, Member], founded: datetime,
                      now: datetime) -> None:
    """A monthly meetup held since the demo began: RSVPs and attendance, agenda items, hosts credited,
    notes; the next occurrence already has an agenda item and answers."""
    assert community.id is not None
    title, text, channel = MEETUP
    schedule, _ = parse_schedule(text, default_tz=community.timezone, today=founded.date())
    ritual = Ritual(community_id=community.id, kind="meetup", title=title, rrule=schedule.rrule,
                    dtstart=schedule.dtstart.isoformat(timespec="seconds"), timezone=schedule.timezone,
                    channel=f"{PLATFORM}:{channel}", settings=json.dumps({"text": text}), status="active",
                    created_by=f"{PLATFORM}:{COORDINATORS[0]}", created_at=founded)
    session.add(ritual)
    await session.flush()
    assert ritual.id is not None
    dates = [d for d in schedule.next(founded, 6) if d < now] + schedule.next(now, 1)
    for n, starts_at in enumerate(dates):
        meetup = await ensure_meetup(session, ritual.id, starts_at)
        assert meetup.id is not None
        held = starts_at < now
        going = [*sorted(MEMBERS)[n % 2::2], "bruno"] if held else ["ana", "bruno", "chloe"]
        for uid in dict.fromkeys(going):
            rsvp = await set_rsvp(session, meetup.id, people[uid].id or 0, "going")
            rsvp.attended = held and uid != "hiro"
        await add_agenda_item(session, meetup.id, people["ana"].id or 0, AGENDA[n % len(AGENDA)])
        host = people[("ana", "hiro", "bruno", "chloe")[n % 4]]
        await set_hosts(session, meetup.id, [host.id or 0])
        if held:  # held, with its notes: the hosts are credited as after a real one (`credit_hosts`)
            meetup.notes_url = f"https://wiki.example.org/helm-clinic/{starts_at:%Y-%m-%d}"
            meetup.held_at = starts_at
            await credit_hosts(session, ritual, meetup)


async def seed_survey(session: AsyncSession, community: Community, opened: datetime) -> None:
    """A pulse survey about the meetup, answered by seven members and closed three days later through
    the real closing (`seal`: participation counted, answers unlinked)."""
    assert community.id is not None
    spec = parse_questions(SURVEY)
    survey = await create_survey(session, community_id=community.id, title=spec.questions[0].text,
                                 questions=dump(spec.questions), platform=PLATFORM, channel=MEETUP[2],
                                 closes_at=opened + spec.duration, remind_at=None, opened_at=opened,
                                 created_by=f"{PLATFORM}:{COORDINATORS[0]}", min_answers=5)
    assert survey.id is not None
    for uid, answers in SURVEY_ANSWERS.items():
        token = answer_token(survey.salt, PLATFORM, uid)
        for question, value in enumerate(answers):
            await record_answer(session, survey.id, question, token, value)
    await seal(session, survey, survey.closes_at)


async def _ledger_missing(db: Database) -> int | None:
    """The demo community's id when its history has no ledger yet (a demo made by an older Steward)."""
    async with db.session() as session:
        community = await get_community(session, SLUG)
        if community is None or community.id is None:
            return None
        entries = (await session.exec(select(func.count()).select_from(Contribution).where(
            Contribution.community_id == community.id))).one()
        return None if entries else community.id
