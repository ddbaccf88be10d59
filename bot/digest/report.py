"""The figures of a sponsor digest for one community and one month (set-based queries, see storage/digest.py).

Each figure has one definition, computed here once and read by every output — the digest's sections, its
stage and signals, its chart, the portfolio (also in README "Surveys and digests"):
- messages: messages written by non-bot members in the month;
- active: non-bot members who wrote a message or made a contribution in the month (every month of the
  chart, the stage's signals and the portfolio count the same way);
- core: active members with at least `core_threshold` messages + contributions in the month; periphery: the
  other active members;
- newcomers: members who joined, or wrote their first message, in the month;
- questions: thread roots ending with "?", answered when someone else replied in the thread (median time to
  that first reply); routed questions: `who knows` questions Steward routed, answered when someone answered;
- thanks: the people who thanked a message, each once, and kudos said on no message (storage.digest.thanks);
- thanks across teams: thanks between two people whose teams are known (as members set them now) and differ,
  with each team's thanks given and received, listed for teams of at least `TEAM_MIN_MEMBERS` members;
- meetups: occurrences that started in the month and before the digest was made, each with its date.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import CommunityConfig
from bot.digest.stage import Signals, Stage, read_stage
from bot.i18n import Translate
from bot.pulse.results import pulse_score, survey_result
from bot.reputation.topics import topics_of
from storage import digest as q
from storage.models import Community, Member, Message
from storage.preferences import quotable
from storage.surveys import closed_between
from storage.teams import team_sizes

HISTORY_MONTHS = 6
TEAM_MIN_MEMBERS = 3  # a smaller team is counted in the totals, never listed: its counts would be a person's
TITLE_LENGTH, QUOTE_LENGTH = 120, 200


@dataclass(frozen=True)
class MonthActivity:
    """One month of the chart: messages, active members and the pulse (mean score, None below k)."""

    month: date
    messages: int
    active: int
    pulse: float | None


@dataclass(frozen=True)
class StoryLine:
    """A story of the month: what was asked, who helped whom, the words — named and quoted only with consent.

    `question` holds the asker's words only when they allow quoting, else `topics` says what it was about;
    `helper` and `asker` are names only for members who allow quoting (None: "a member").
    """

    platform: str
    channel: str  # platform channel id
    channel_name: str
    message: str  # the message a link opens: the thread's root for a reply (opens the thread on every platform)
    thanks: int
    answer: bool  # a reply in someone else's question thread: "helper helped asker"
    question: str | None
    topics: str
    helper: str | None
    asker: str | None
    quote: str | None


@dataclass(frozen=True)
class MeetupLine:
    """A meetup held in the month: its day in the ritual's time zone and its attendance."""

    title: str
    day: date
    attended: int
    going: int


@dataclass(frozen=True)
class TeamLine:
    """One team's thanks in the month: given and received by its members, and how many crossed to another team."""

    team: str
    members: int
    given: int
    received: int
    given_across: int  # given to members of another team
    received_across: int  # received from members of another team


@dataclass(frozen=True)
class TeamThanks:
    """The month's thanks between teams: counts only, never a person."""

    given: int  # every thanks of the month between people (storage.digest.thanks), each once
    known: int  # between two people whose teams are known
    across: int  # of those, between two different teams
    with_team: int  # people who have a team (none: nobody said theirs yet)
    teams: tuple[TeamLine, ...]  # teams of at least TEAM_MIN_MEMBERS members, by name
    unlisted: int  # smaller teams: counted above, not listed


def team_thanks(pairs: dict[tuple[str | None, str | None], int], sizes: dict[str, int]) -> TeamThanks:
    """The month's figure from its thanks counted by (giver's team, receiver's team) and the teams' sizes."""
    known = {(g, r): n for (g, r), n in pairs.items() if g is not None and r is not None}
    lines = []
    for team in sorted((t for t, size in sizes.items() if size >= TEAM_MIN_MEMBERS), key=str.casefold):
        lines.append(TeamLine(
            team=team, members=sizes[team],
            given=sum(n for (g, _r), n in pairs.items() if g == team),
            received=sum(n for (_g, r), n in pairs.items() if r == team),
            given_across=sum(n for (g, r), n in known.items() if g == team and r != team),
            received_across=sum(n for (g, r), n in known.items() if r == team and g != team)))
    return TeamThanks(given=sum(pairs.values()), known=sum(known.values()),
                      across=sum(n for (g, r), n in known.items() if g != r), with_team=sum(sizes.values()),
                      teams=tuple(lines), unlisted=sum(1 for size in sizes.values() if size < TEAM_MIN_MEMBERS))


@dataclass(frozen=True)
class Digest:
    """Everything the digest says."""

    name: str
    slug: str
    month: date
    messages: int
    active: int
    core: int
    periphery: int
    newcomers: int
    core_threshold: int
    questions: int
    answered: int
    median_first_answer: timedelta | None
    routed: int
    routed_answered: int
    meetups: tuple[MeetupLine, ...]
    surveys: tuple[tuple[str, float | None, int], ...]  # (title, pulse score or None below k, respondents)
    history: tuple[MonthActivity, ...]
    stories: tuple[StoryLine, ...]
    stage: Stage
    age_months: int
    peak: int  # most active members in a month of the history
    first_month: date | None  # the first month with history (founding date or first message)
    teams: TeamThanks  # thanks across teams


def month_bounds(month: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in the community's time zone, as UTC."""
    zone = ZoneInfo(timezone)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    nxt = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), nxt.astimezone(UTC)


def shift(month: date, months: int) -> date:
    """The first day of the month `months` away."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def _pulse(session: AsyncSession, community_id: int, start: datetime, end: datetime,
                 k: int) -> list[tuple[str, float | None, int]]:
    found = []
    for survey in await closed_between(session, community_id, start, end):
        result = await survey_result(session, survey, k)
        found.append((survey.title, pulse_score(result), result.respondents))
    return found


def split_core(by_author: dict[int, int], contributions: dict[int, int], threshold: int) -> tuple[set[int], set[int]]:
    """(core, active) from a month's messages and contributions per member (bots left out): active = members who
    wrote or made a contribution; core = those with at least `threshold` of both together. The one definition
    the digest, `stats` and `who is core` use."""
    active = set(by_author) | set(contributions)
    return {m for m in active if by_author.get(m, 0) + contributions.get(m, 0) >= threshold}, active


async def core_group(session: AsyncSession, community_id: int, start: datetime, end: datetime,
                     threshold: int) -> tuple[set[int], set[int]]:
    """(core, active) member ids in [start, end), as the digest counts them (`split_core`)."""
    bots = await q.bot_ids(session, community_id)
    by_author = {a: n for a, n in (await q.messages_by_author(session, community_id, start, end)).items()
                 if a not in bots}
    contributions = {a: n for a, n in (await q.contributions_by_member(session, community_id, start, end)).items()
                     if a not in bots}
    return split_core(by_author, contributions, threshold)


async def first_month(session: AsyncSession, community: Community) -> date | None:
    """The month the community's history starts: its founding date, else its first stored message."""
    if community.founded_on is not None:
        return community.founded_on.replace(day=1)
    first = (await q.run(session, select(func.min(col(Message.posted_at))).where(
        col(Message.community_id) == community.id))).scalar()
    if isinstance(first, str):  # SQLite hands an aggregate back as text
        first = datetime.fromisoformat(first)
    if not isinstance(first, datetime):
        return None
    aware = first if first.tzinfo else first.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(community.timezone)).date().replace(day=1)


async def build_digest(session: AsyncSession, community: Community, cc: CommunityConfig | None, month: date,
                       _: Translate | None = None, *, now: datetime | None = None) -> Digest:
    """Compute the digest of `month` (any day of it) for `community`, as of `now` (meetups to come are left out)."""
    assert community.id is not None
    cid, month, now = community.id, month.replace(day=1), now or datetime.now(UTC)
    k = cc.survey_min_answers if cc else 5
    threshold = cc.core_threshold if cc else 8
    bots = await q.bot_ids(session, cid)
    history: list[MonthActivity] = []
    by_author: dict[int, int] = {}
    contributions: dict[int, int] = {}
    surveys: list[tuple[str, float | None, int]] = []
    start = end = now
    for back in range(HISTORY_MONTHS - 1, -1, -1):  # the loop ends on the digest's own month
        m = shift(month, -back)
        start, end = month_bounds(m, community.timezone)
        by_author = {a: n for a, n in (await q.messages_by_author(session, cid, start, end)).items() if a not in bots}
        contributions = {a: n for a, n in (await q.contributions_by_member(session, cid, start, end)).items()
                         if a not in bots}
        surveys = await _pulse(session, cid, start, end, k)
        scores = [s for _t, s, _n in surveys if s is not None]
        history.append(MonthActivity(m, sum(by_author.values()), len(set(by_author) | set(contributions)),
                                     statistics.fmean(scores) if scores else None))
    core, active = split_core(by_author, contributions, threshold)
    newcomers = (await q.newcomers(session, cid, start, end)) - bots
    threads = await q.question_threads(session, cid, start, end)
    waits = [answered - asked for asked, answered in threads if answered is not None]
    routed, routed_answered = await q.routed_questions(session, cid, start, end)
    reactions = tuple(dict.fromkeys((*q.THANKS, *(cc.kudos_reactions if cc else ()))))
    stories = await _stories(session, cid, start, end, reactions, bots, cc.quotes if cc else False)
    teams = team_thanks(await q.thanks_by_team(session, cid, start, end, reactions=reactions),
                        await team_sizes(session, cid))
    born = await first_month(session, community)
    age = max(0, (end.year - (born or month).year) * 12 + end.month - (born or month).month)
    signals = Signals(age, tuple(h.active for h in history), len(core), len(newcomers),
                      len(waits) / len(threads) if threads else None)
    return Digest(name=community.name or community.slug, slug=community.slug, month=month,
                  messages=history[-1].messages, active=len(active), core=len(core), periphery=len(active - core),
                  newcomers=len(newcomers), core_threshold=threshold, questions=len(threads), answered=len(waits),
                  median_first_answer=_median(waits), routed=routed, routed_answered=routed_answered,
                  meetups=await _meetups(session, cid, start, min(end, now)), surveys=tuple(surveys),
                  history=tuple(history), stories=stories, stage=read_stage(signals), age_months=age,
                  peak=max(h.active for h in history), first_month=born, teams=teams)


async def _meetups(session: AsyncSession, community_id: int, start: datetime, end: datetime) -> tuple[MeetupLine, ...]:
    """Meetups held: once each (a ritual's occurrence), on their local day, skipped occurrences left out."""
    seen: set[tuple[str, datetime]] = set()
    lines: list[MeetupLine] = []
    if end <= start:
        return ()
    for held in await q.meetups(session, community_id, start, end):
        day = held.starts_at.astimezone(ZoneInfo(held.timezone)).date()
        if day.isoformat() in {d.strip() for d in held.exdates.split(",")} or (held.title, held.starts_at) in seen:
            continue
        seen.add((held.title, held.starts_at))
        lines.append(MeetupLine(held.title, day, held.attended, held.going))
    return tuple(lines)


async def _stories(session: AsyncSession, community_id: int, start: datetime, end: datetime,
                   reactions: tuple[str, ...], bots: set[int], default_quotes: bool) -> tuple[StoryLine, ...]:
    stories = await q.stories(session, community_id, start, end, reactions=reactions, leave_out=bots)
    people = {s.author_id for s in stories} | {s.root_author_id for s in stories if s.root_author_id is not None}
    allowed = await quotable(session, people, default_quotes)
    names = await _names(session, allowed)
    lines = []
    for s in stories:
        root_text = s.root_text if s.root_text is not None else (None if s.thread_id else s.text)
        asked_by = s.root_author_id if s.thread_id else s.author_id
        is_question = root_text is not None and root_text.rstrip().endswith("?")
        answer = bool(s.thread_id) and is_question and asked_by is not None and asked_by != s.author_id
        question = (_short(root_text, TITLE_LENGTH) if answer and root_text is not None and asked_by in allowed
                    else None)
        lines.append(StoryLine(
            platform=s.platform, channel=s.channel, channel_name=s.channel_name,
            message=s.thread_id or s.platform_message_id, thanks=s.thanks, answer=answer, question=question,
            topics=", ".join(topics_of(root_text if answer and root_text else s.text).split()),
            helper=names.get(s.author_id), asker=names.get(asked_by) if answer and asked_by is not None else None,
            quote=_short(s.text, QUOTE_LENGTH) if s.author_id in allowed else None))
    return tuple(lines)


def _median(waits: list[timedelta]) -> timedelta | None:
    if not waits:
        return None
    ordered = sorted(waits)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = select(col(Member.id), col(Member.display_name)).where(col(Member.id).in_(ids))
    rows = (await q.run(session, stmt)).all()
    return {int(i): str(n) for i, n in rows if n}
