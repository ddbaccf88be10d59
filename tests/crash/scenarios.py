"""Kill -9 scenarios shared by tests/crash and bench/crash_stream.py: a stream of questions and scheduled
steps (survey closings made due in the database) while a real `steward run` process is killed at random
moments and started again; then every question's replies and every closing's posts are counted.

Matrix: each member message is matched to Steward's replies by `m.relates_to`, read back from the
room's history (`/messages`, not a sync that could be limited). Slack: the fake Web API records every
`chat.postMessage`; replies are matched by `thread_ts`. Deliveries whose HTTP request failed (the
process was dead, or died before answering) are sent again, as Slack retries un-acknowledged ones.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from nio import AsyncClient, AsyncClientConfig, MessageDirection, RoomMessagesResponse, SyncResponse
from sqlalchemy import func, select

from storage.communities import ensure_channel, ensure_community
from storage.db import Database
from storage.models import InboundEvent, OutboxReply
from storage.surveys import create_survey
from storage.types import utcnow
from tests.crash.processes import Child, free_port, write_config
from tests.crash.relay import Relay
from tests.matrix.homeserver import Account, Synapse
from tests.slack.conftest import ENV, SECRET, event_body, sign
from tests.slack.fake_slack import FakeSlack

SLUG = "k8s"
RESULTS = "Results of the pulse survey"
HELP_FORMS = ("!steward help", "!steward commands", "!steward ?")
PERIODIC_SECONDS = "0.5"  # STEWARD_PERIODIC_SECONDS: due closings are found within half a second
SETTLE = 2.0  # seconds of quiet after everything was answered, for late duplicates to show
RETRY_EVERY = 0.5  # seconds between two deliveries of an un-acknowledged Slack event
SLACK_TIMEOUT = 3.0  # Slack gives an app 3 s to acknowledge


@dataclass(frozen=True)
class Kill:
    """One SIGKILL: `timer` after `delay` s; `send` as the platform accepts the `nth` reply sent since the
    start (before Steward hears so); `ack` as the `nth` delivery since the start is acknowledged (Slack)."""

    mode: str
    delay: float
    nth: int


@dataclass(frozen=True)
class Plan:
    """The seeded random plan: the kills, the gaps between questions, when each survey closes."""

    seed: int
    kills: tuple[Kill, ...]
    ask_gaps: tuple[float, ...]
    survey_offsets: tuple[float, ...]  # seconds after seeding when each survey closes

    @classmethod
    def draw(cls, seed: int, *, kills: int, questions: int, surveys: int, span: float,
             modes: Sequence[str] = ("timer", "send")) -> Plan:
        """Kill modes taken in turn (in a seeded order), each at a random moment; questions and closings
        spread over about `span` seconds."""
        rng = random.Random(seed)
        order = list(modes)
        rng.shuffle(order)
        plan = tuple(Kill(order[i % len(order)], rng.uniform(0.3, 3.0), rng.randint(1, 4)) for i in range(kills))
        gaps = tuple(rng.uniform(0.0, 2 * span / max(questions, 1)) for _ in range(questions))
        return cls(seed, plan, gaps, tuple(sorted(rng.uniform(0.5, span) for _ in range(surveys))))

    def describe(self) -> str:
        return ", ".join(f"{k.mode}({k.delay:.1f}s)" if k.mode == "timer" else f"{k.mode}(#{k.nth})"
                         for k in self.kills)


@dataclass
class Outcome:
    """What each question and each scheduled closing got, and what the crashes cost."""

    platform: str
    database: str
    seed: int
    kills: int
    replies: dict[str, int]  # question id → replies seen
    posts: dict[str, int]  # survey title → result posts seen
    adopted: int = 0  # replies a restarted process took over from the killed one (may repeat a send)
    replayed: int = 0  # acknowledged Slack deliveries a restarted process took over
    retried: int = 0  # Slack deliveries sent again because the first request failed
    restarts: list[float] = field(default_factory=list)  # seconds each restart took to be ready
    killed: list[str] = field(default_factory=list)  # how each kill happened (a hook missing its moment: timer)
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def lost(self) -> list[str]:
        return [k for k, n in {**self.replies, **self.posts}.items() if n == 0]

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in {**self.replies, **self.posts}.values() if n > 1)

    def summary(self) -> str:
        counts = Counter({**self.replies, **self.posts}.values())
        return (f"{self.platform}/{self.database} seed={self.seed}: {len(self.replies)} questions, "
                f"{len(self.posts)} scheduled, {self.kills} kills, lost={len(self.lost)}, "
                f"duplicates={self.duplicates}, replies per item={dict(sorted(counts.items()))}, "
                f"adopted={self.adopted}, replayed={self.replayed}, retried={self.retried}, "
                f"kills={self.killed}, restart s={[round(r, 1) for r in self.restarts]}, {self.elapsed:.1f}s")


# -- shared steps ----------------------------------------------------------------------------------

async def seed_surveys(db: Database, platform: str, channels: Sequence[str], channel: str,
                       offsets: Sequence[float], tag: str) -> list[str]:
    """Create the community and open surveys closing `offsets` seconds from now; returns their titles."""
    titles = [f"crash-{tag}-{i:02d}" for i in range(len(offsets))]
    now = utcnow()
    async with db.session() as session:
        community = await ensure_community(session, SLUG)
        for ref in channels:
            await ensure_channel(session, community, platform, ref)
        assert community.id is not None
        for title, offset in zip(titles, offsets, strict=True):
            await create_survey(session, community_id=community.id, title=title, questions="[]", platform=platform,
                                channel=channel, closes_at=now + timedelta(seconds=offset), remind_at=None)
    return titles


async def waiting_rows(db: Database) -> int:
    """Replies not sent yet plus acknowledged deliveries not handled yet (0 when all is done)."""
    async with db.reader() as conn:
        replies = await conn.scalar(select(func.count()).select_from(OutboxReply)
                                    .where(OutboxReply.status == "pending"))  # type: ignore[arg-type]
        deliveries = await conn.scalar(select(func.count()).select_from(InboundEvent)
                                       .where(InboundEvent.status == "pending"))  # type: ignore[arg-type]
    return int(replies or 0) + int(deliveries or 0)


class Tripwire:
    """Kills the child from inside a hook (a relayed send, the fake's answer, an acknowledgement), so the
    process dies at the planned moment: the call went through, and the child never hears the answer."""

    FALLBACK = 6.0  # seconds to wait for the hook's moment; then a timer kill (nothing more was sent)

    def __init__(self, child: Child) -> None:
        self.child = child
        self.mode: str | None = None
        self.left = 0
        self.fired = asyncio.Event()

    def arm(self, mode: str, nth: int) -> None:
        self.mode, self.left = mode, nth
        self.fired.clear()

    def hit(self, mode: str) -> None:
        """Called by the hooks; kills on the armed mode's nth call."""
        if self.mode != mode or not self.child.alive:
            return
        self.left -= 1
        if self.left <= 0:
            self.mode = None
            self.child.kill()
            self.fired.set()

    async def run(self, plan: Plan, restarts: list[float], killed: list[str]) -> None:
        """The crash loop: after each start is ready, kill as planned, start again and wait until ready."""
        for kill in plan.kills:
            if kill.mode == "timer":
                await asyncio.sleep(kill.delay)
                self.child.kill()
                killed.append("timer")
            else:
                self.arm(kill.mode, kill.nth)
                try:
                    await asyncio.wait_for(self.fired.wait(), self.FALLBACK)
                    killed.append(f"{kill.mode}#{kill.nth}")
                except TimeoutError:
                    self.mode = None
                    self.child.kill()
                    killed.append(f"{kill.mode}->timer")
            restarts.append(await self.child.restart())


async def until(done: Callable[[], Awaitable[bool]], within: float, every: float = 0.2) -> bool:
    """Poll `done` until it holds or `within` seconds passed; returns its last answer."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await done():
            return True
        await asyncio.sleep(every)
    return await done()


# -- Matrix ----------------------------------------------------------------------------------------

class Member:
    """A person on a real nio client: creates the room, asks, and reads the room's history back."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    @classmethod
    def of(cls, synapse: Synapse, account: Account, store: Path) -> Member:
        store.mkdir(parents=True, exist_ok=True)
        client = AsyncClient(synapse.url, account.user_id, device_id=account.device_id, store_path=str(store),
                             config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False))
        client.restore_login(account.user_id, account.device_id, account.access_token)
        return cls(client)

    async def say(self, room: str, text: str) -> str:
        resp = await self.client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text})
        event_id = getattr(resp, "event_id", None)
        assert event_id, resp
        return str(event_id)

    async def history(self, room: str, limit: int = 5000) -> list[dict[str, Any]]:
        """Every event of the room, newest first (paginated `/messages` from the latest sync token)."""
        resp = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(resp, SyncResponse), resp
        start, events = resp.next_batch, []
        while len(events) < limit:
            page = await self.client.room_messages(room, start=start, direction=MessageDirection.back, limit=200)
            assert isinstance(page, RoomMessagesResponse), page
            events.extend(e.source for e in page.chunk)
            if not page.chunk or not page.end or page.end == start:
                break
            start = page.end
        return events

    async def joined(self, room: str, user: str) -> bool:
        members = await self.client.joined_members(room)
        return any(m.user_id == user for m in getattr(members, "members", []))


def matrix_child(tmp: Path, homeserver: str, bot: Account, member: str, room: str,
                 database_url: str) -> Child:
    """The `steward run` child on Matrix: the config file, the token and database URL in its environment."""
    config = write_config(tmp / "matrix.toml", {
        # its own health port, kept across restarts (the default 8080 may be taken by another run on the machine)
        "steward": {"data_dir": str(tmp / "matrix-data"), "log_level": "INFO", "http": f"127.0.0.1:{free_port()}"},
        "matrix": {"homeserver": homeserver, "user_id": bot.user_id, "allowed_inviters": [member],
                   "encryption": False},
    }, [{"slug": SLUG, "channels": [f"matrix:{room}"], "coordinators": [f"matrix:{member}"]}])
    env = {"MATRIX_ACCESS_TOKEN": bot.access_token, "STEWARD_DATABASE_URL": database_url,
           "STEWARD_PERIODIC_SECONDS": PERIODIC_SECONDS}
    return Child("steward-matrix", config, env, tmp / "steward-matrix.log")


def count_matrix(events: Sequence[dict[str, Any]], bot: str, asked: Sequence[str],
                 titles: Sequence[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Replies per question (by `m.relates_to`) and result posts per survey title, from the room's events."""
    replies, posts = dict.fromkeys(asked, 0), dict.fromkeys(titles, 0)
    for event in events:
        if event.get("sender") != bot or event.get("type") != "m.room.message":
            continue
        content = event.get("content") or {}
        relates = content.get("m.relates_to") or {}
        target = relates.get("event_id") or (relates.get("m.in_reply_to") or {}).get("event_id")
        if target in replies:
            replies[target] += 1
        elif RESULTS in str(content.get("body", "")):
            for title in titles:
                if f"“{title}”" in content["body"]:
                    posts[title] += 1
    return replies, posts


async def matrix_stream(*, synapse: Synapse, db: Database, database: str, database_url: str, tmp: Path,
                        plan: Plan, within: float = 120.0) -> Outcome:
    """Questions and survey closings on Matrix while the process is killed per `plan`; exactly once expected.

    Steward reaches Synapse through a `Relay`, so `send` kills land between Synapse accepting a reply and
    Steward crossing it out.
    """
    began = time.monotonic()
    relay = Relay(synapse.url)
    await relay.start()
    bot = synapse.register(f"steward_{plan.seed}_{int(time.time() * 1000) % 10**8}")
    ana_account = synapse.register(f"ana_{plan.seed}_{int(time.time() * 1000) % 10**8}")
    ana = Member.of(synapse, ana_account, tmp / "ana-store")
    try:
        created = await ana.client.room_create(name="crash", invite=[bot.user_id])
        room = str(getattr(created, "room_id", ""))
        assert room, created
        child = matrix_child(tmp, relay.url, bot, ana_account.user_id, room, database_url)
        wire = Tripwire(child)
        relay.on_sent = lambda: wire.hit("send")
        titles = await seed_surveys(db, "matrix", [room], room, plan.survey_offsets, f"m{plan.seed}")
        child.start()
        await child.ready()
        assert await until(lambda: ana.joined(room, bot.user_id), 30), "Steward did not join the room"
        asked: list[str] = []

        async def ask() -> None:
            for index, gap in enumerate(plan.ask_gaps):
                asked.append(await ana.say(room, HELP_FORMS[index % len(HELP_FORMS)]))
                await asyncio.sleep(gap)

        restarts: list[float] = []
        killed: list[str] = []
        await asyncio.gather(ask(), wire.run(plan, restarts, killed))

        async def complete() -> bool:
            replies, posts = count_matrix(await ana.history(room), bot.user_id, asked, titles)
            return all(replies.values()) and all(posts.values()) and await waiting_rows(db) == 0

        await until(complete, within, every=0.5)
        await asyncio.sleep(SETTLE)
        replies, posts = count_matrix(await ana.history(room), bot.user_id, asked, titles)
        child.stop()
        return Outcome("matrix", database, plan.seed, child.kills, replies, posts, adopted=child.adopted(),
                       restarts=restarts, killed=killed, elapsed=time.monotonic() - began, errors=child.errors())
    finally:
        await ana.client.close()
        await relay.stop()


# -- Slack -----------------------------------------------------------------------------------------

def slack_child(tmp: Path, name: str, fake: FakeSlack, channels: Sequence[str], database_url: str,
                port: int | None = None, token: str = ENV["SLACK_BOT_TOKEN"]) -> Child:
    """A `steward run` child on Slack's HTTP transport, its Web API being the fake (`[slack] api_url`)."""
    config = write_config(tmp / f"{name}.toml", {
        "steward": {"data_dir": str(tmp / f"{name}-data"), "log_level": "INFO"},
        "slack": {"transport": "http", "host": "127.0.0.1", "port": port or free_port(), "api_url": fake.base_url},
    }, [{"slug": SLUG, "channels": [f"slack:{c}" for c in channels]}])
    env = {"SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": SECRET,
           "STEWARD_DATABASE_URL": database_url, "STEWARD_PERIODIC_SECONDS": PERIODIC_SECONDS}
    return Child(name, config, env, tmp / f"{name}.log")


def events_url(child: Child) -> str:
    """Where the child serves the Events API (its config's port)."""
    port = next(line.split("=")[1].strip() for line in child.config.read_text().splitlines()
                if line.startswith("port ="))
    return f"http://127.0.0.1:{port}/slack/events"


def mention(index: int, channels: Sequence[str], seed: int) -> tuple[str, str, str]:
    """`(event id, ts, signed body)` of the index-th question, an `app_mention` asking for help."""
    ts = f"1700000000.{index:06d}"
    channel = channels[index % len(channels)]
    event = {"type": "app_mention", "user": f"U{index % 7:03d}", "text": "<@UBOT> help", "channel": channel,
             "ts": ts, "event_ts": ts}
    event_id = f"EvCrash{seed}x{index:04d}"
    return event_id, ts, json.dumps(event_body(event, event_id=event_id))


class Deliveries:
    """Slack's side of the Events API: deliver each event, and retry it until some process acknowledged it."""

    def __init__(self, session: aiohttp.ClientSession, within: float = 120.0) -> None:
        self.session, self.within = session, within
        self.on_ack: Callable[[], None] | None = None
        self.retried = 0
        self.acked_by: dict[str, str] = {}  # event id → URL that answered 200

    async def deliver(self, event_id: str, body: str, route: Callable[[int], str]) -> None:
        """POST until a 200 (`route(attempt)` says where each attempt goes); failures count as retries."""
        deadline = time.monotonic() + self.within
        for attempt in range(10_000):
            url = route(attempt)
            headers = {"Content-Type": "application/json", **sign(body)}
            if attempt:
                headers |= {"X-Slack-Retry-Num": str(min(attempt, 3)), "X-Slack-Retry-Reason": "http_error"}
            try:
                async with self.session.post(url, data=body.encode(), headers=headers,
                                             timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT)) as response:
                    await response.read()
                    if response.status == 200:
                        self.acked_by[event_id] = url
                        if self.on_ack is not None:
                            self.on_ack()
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{event_id} was never acknowledged within {self.within:.0f}s")
            self.retried += 1
            await asyncio.sleep(RETRY_EVERY)


def count_slack(fake: FakeSlack, asked: dict[str, str], titles: Sequence[str]) -> tuple[dict[str, int],
                                                                                     dict[str, int]]:
    """Replies per question (`thread_ts` = its ts) and result posts per survey title, from the fake's record."""
    by_ts = {ts: event_id for event_id, ts in asked.items()}
    replies, posts = dict.fromkeys(asked, 0), dict.fromkeys(titles, 0)
    for call in fake.called("chat.postMessage"):
        thread = call.args.get("thread_ts")
        text = str(call.args.get("text", ""))
        if thread in by_ts:
            replies[by_ts[thread]] += 1
        elif RESULTS in text:
            for title in titles:
                if f"“{title}”" in text:
                    posts[title] += 1
    return replies, posts


async def slack_stream(*, fake: FakeSlack, db: Database, database: str, database_url: str, tmp: Path,
                       plan: Plan, channels: Sequence[str] = ("C0", "C1", "C2", "C3", "C4"),
                       within: float = 120.0) -> Outcome:
    """Questions and survey closings on Slack while the process is killed per `plan`; at least once expected."""
    began = time.monotonic()
    child = slack_child(tmp, "steward-slack", fake, channels, database_url)
    url = events_url(child)
    titles = await seed_surveys(db, "slack", channels, channels[0], plan.survey_offsets, f"s{plan.seed}")
    child.start()
    await child.ready()
    wire = Tripwire(child)
    asked: dict[str, str] = {}
    fake.on_call = lambda call: wire.hit("send") if call.method == "chat.postMessage" else None
    async with aiohttp.ClientSession() as session:
        load = Deliveries(session, within)
        load.on_ack = lambda: wire.hit("ack")

        async def ask() -> None:
            sending = []
            for index, gap in enumerate(plan.ask_gaps):
                event_id, ts, body = mention(index, channels, plan.seed)
                asked[event_id] = ts
                sending.append(asyncio.create_task(load.deliver(event_id, body, lambda _attempt: url)))
                await asyncio.sleep(gap)
            await asyncio.gather(*sending)

        restarts: list[float] = []
        killed: list[str] = []
        await asyncio.gather(ask(), wire.run(plan, restarts, killed))
    fake.on_call = None

    async def complete() -> bool:
        replies, posts = count_slack(fake, asked, titles)
        return all(replies.values()) and all(posts.values()) and await waiting_rows(db) == 0

    await until(complete, within, every=0.3)
    await asyncio.sleep(SETTLE)
    replies, posts = count_slack(fake, asked, titles)
    child.stop()
    return Outcome("slack", database, plan.seed, child.kills, replies, posts, adopted=child.adopted(),
                   replayed=child.replayed(), retried=load.retried, restarts=restarts, killed=killed,
                   elapsed=time.monotonic() - began, errors=child.errors())
