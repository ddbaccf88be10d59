"""The figures of a sponsor digest for one community and one month (set-based queries, see storage/digest.py).

Definitions (also in README "Surveys and digests"):
- active: non-bot members who wrote a message or made a contribution in the month;
- core: active members with at least `core_threshold` messages + contributions in the month; periphery: the
  other active members;
- newcomers: members who joined, or wrote their first message, in the month;
- questions: thread roots ending with "?", answered when someone else replied in the thread (median time to
  that first reply); routed questions: `who knows` questions Steward routed, answered when someone answered.
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
from bot.replies import message_link
from storage import digest as q
from storage.models import Community, Member, Message
from storage.preferences import quotable
from storage.surveys import closed_between

HISTORY_MONTHS = 6


@dataclass(frozen=True)
class MonthActivity:
    """One month of the chart: messages, active members and the pulse (mean score, None below k)."""

    month: date
    messages: int
    active: int
    pulse: float | None


@dataclass(frozen=True)
class StoryLine:
    """A story of the month: a link, its thanks, and words/name only when the author allows quoting."""

    link: str
    thanks: int
    quote: str | None
    author: str | None


@dataclass(frozen=True)
class Digest:
    """Everything the digest says."""

    name: str
    month: date
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
    meetups: tuple[tuple[str, int], ...]
    surveys: tuple[tuple[str, float | None, int], ...]  # (title, pulse score or None below k, respondents)
    history: tuple[MonthActivity, ...]
    stories: tuple[StoryLine, ...]
    stage: Stage


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


async def core_group(session: AsyncSession, community_id: int, start: datetime, end: datetime, threshold: int,
                     bots: set[int] | None = None) -> tuple[set[int], set[int]]:
    """(core, active) member ids in [start, end), as the digest defines them (`who is core` reads the same):
    active = non-bot members who wrote or made a contribution; core = those with at least `threshold`
    messages + contributions."""
    bots = await q.bot_ids(session, community_id) if bots is None else bots
    by_author = {a: n for a, n in (await q.messages_by_author(session, community_id, start, end)).items()
                 if a not in bots}
    contributions = {a: n for a, n in (await q.contributions_by_member(session, community_id, start, end)).items()
                     if a not in bots}
    active = set(by_author) | set(contributions)
    return {m for m in active if by_author.get(m, 0) + contributions.get(m, 0) >= threshold}, active


async def build_digest(session: AsyncSession, community: Community, cc: CommunityConfig | None, month: date,
                       _: Translate) -> Digest:
    """Compute the digest of `month` (any day of it) for `community`."""
    assert community.id is not None
    cid, month = community.id, month.replace(day=1)
    k = cc.survey_min_answers if cc else 5
    threshold = cc.core_threshold if cc else 8
    bots = await q.bot_ids(session, cid)
    history: list[MonthActivity] = []
    by_author: dict[int, int] = {}
    for back in range(HISTORY_MONTHS - 1, -1, -1):  # the loop ends on the digest's own month
        m = shift(month, -back)
        start, end = month_bounds(m, community.timezone)
        by_author = {a: n for a, n in (await q.messages_by_author(session, cid, start, end)).items() if a not in bots}
        scores = [s for _t, s, _n in await _pulse(session, cid, start, end, k) if s is not None]
        history.append(MonthActivity(m, sum(by_author.values()), len(by_author),
                                     statistics.fmean(scores) if scores else None))
    core, active = await core_group(session, cid, start, end, threshold, bots)
    newcomers = (await q.newcomers(session, cid, start, end)) - bots
    threads = await q.question_threads(session, cid, start, end)
    waits = [answered - asked for asked, answered in threads if answered is not None]
    routed, routed_answered = await q.routed_questions(session, cid, start, end)
    stories = await q.stories(session, cid, start, end)
    allowed = await quotable(session, {s.author_id for s in stories}, cc.quotes if cc else False)
    names = await _names(session, allowed)
    lines = tuple(StoryLine(message_link(s.channel, s.platform_message_id), s.thanks,
                            _short(s.text) if s.author_id in allowed else None, names.get(s.author_id))
                  for s in stories)
    first = (await q.run(session, select(func.min(col(Message.posted_at))).where(
        col(Message.community_id) == cid))).scalar()
    born = community.founded_on or (first.date() if isinstance(first, datetime) else None) or month
    age = max(0, (end.year - born.year) * 12 + end.month - born.month)
    signals = Signals(age, tuple(h.active for h in history), len(core), len(newcomers),
                      len(waits) / len(threads) if threads else None)
    return Digest(name=community.name or community.slug, month=month, active=len(active), core=len(core),
                  periphery=len(active - core), newcomers=len(newcomers), core_threshold=threshold,
                  questions=len(threads), answered=len(waits),
                  median_first_answer=_median(waits), routed=routed,
                  routed_answered=routed_answered, meetups=tuple(await q.meetups(session, cid, start, end)),
                  surveys=tuple(await _pulse(session, cid, start, end, k)), history=tuple(history),
                  stories=lines, stage=read_stage(signals, _))


def _median(waits: list[timedelta]) -> timedelta | None:
    if not waits:
        return None
    ordered = sorted(waits)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = select(col(Member.id), col(Member.display_name)).where(col(Member.id).in_(ids))
    rows = (await q.run(session, stmt)).all()
    return {int(i): str(n) for i, n in rows if n}
