"""Issue 14, points 5 and 6: secret calendar feeds, and clear, safe messages for every fault.

Feeds are attacked through the real aiohttp server Slack's HTTP transport runs (as `steward run` mounts
them); faults through the real command line (`python -m app`) in a subprocess; the Matrix DM through
the real Synapse of tests/matrix.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import resource
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from icalendar import Calendar
from nio import RoomCreateResponse, RoomPreset
from sqlalchemy.engine import make_url

from adapters.recording import RecordingAdapter
from adapters.slack.adapter import SlackAdapter
from app.runtime import sync_communities
from bot.config import CommunityConfig, Config, SlackConfig, parse_config
from bot.core import Steward
from bot.errors import ConfigError
from bot.features import build_router
from bot.replies import Post
from rituals.ical import ical_routes
from storage.db import Database
from tests.conftest import PG_ADMIN_URL
from tests.events import message
from tests.matrix.conftest import Person, bot_factory, people, synapse  # noqa: F401  (the real Synapse fixtures)
from tests.slack.conftest import ENV, FAST, Slack, event_body, msg
from tests.slack.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-Sup3rS3cret"
LINK = re.compile(r"(?:https?://[^\s/]+)?/ical/([\w-]+)/([\w-]+)\.ics")


# -- A. secret feeds --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Feeds:
    """Steward on Slack's HTTP transport, with the calendar routes `steward run` mounts beside it."""

    steward: Steward
    fake: FakeSlack
    slack: Slack
    http: aiohttp.ClientSession
    base: str

    async def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        async with self.http.get(self.base + path) as response:
            headers = {k: v for k, v in response.headers.items() if k.lower() != "date"}
            return response.status, await response.text(), headers

    async def ask(self, text: str, user: str = "UANA", private: bool = True) -> str:
        """Say `text` to Steward in channel C1; its answer, `private` (ephemeral) or in the thread."""
        method = "chat.postEphemeral" if private else "chat.postMessage"
        before = len(self.fake.called(method))
        await self.slack.event(event_body(msg(f"<@UBOT> {text}", user=user)))
        assert await self.fake.wait_for(lambda: len(self.fake.called(method)) > before, 20)
        return str(self.fake.called(method)[-1]["text"])


@pytest.fixture
async def feeds(db: Database, config: Config) -> AsyncIterator[Feeds]:
    k8s = dataclasses.replace(config.communities[0], channels=("slack:C1",), coordinators=("slack:UCOORD",))
    cfg = dataclasses.replace(config, communities=(k8s, CommunityConfig(slug="ml", channels=("slack:C2",))),
                              slack=SlackConfig(port=0))
    fake = FakeSlack()
    await fake.start()
    steward = Steward(db, cfg, build_router())
    await sync_communities(steward)
    adapter = SlackAdapter.from_config(cfg, db=db, base_url=fake.base_url, env=ENV, limits=FAST)
    adapter.routes.extend(ical_routes(steward))
    steward.add_adapter(adapter)
    await steward.start_adapters()
    try:
        async with aiohttp.ClientSession() as http:
            yield Feeds(steward, fake, Slack(adapter.url, http), http, adapter.url.rsplit("/slack/events", 1)[0])
    finally:
        await steward.stop()
        await fake.stop()


def _token(answer: str) -> str:
    found = LINK.search(answer)
    assert found is not None, answer
    return found.group(2)


async def test_an_unknown_community_and_a_wrong_token_answer_exactly_alike(feeds: Feeds) -> None:
    token = _token(await feeds.ask("calendar link"))  # k8s has a feed now; "nope" does not exist
    wrong = secrets.token_urlsafe(24)
    almost = token[:-1] + ("A" if token[-1] != "A" else "B")
    probes = [f"/ical/nope/{wrong}.ics", f"/ical/k8s/{wrong}.ics", f"/ical/k8s/{almost}.ics", f"/ical/ml/{wrong}.ics",
              f"/ical/nope/{token}.ics", "/ical/k8s.ics", "/ical/nope.ics", "/ical/k8s/x.ics", "/ical/k%20s/x.ics"]
    answers = [await feeds.get(path) for path in probes]
    assert answers[0][0] == 404
    assert all(answer == answers[0] for answer in answers), answers  # same status, body and headers
    assert "calendar link" in answers[0][1] and "k8s" not in answers[0][1]

    # Similar timing: the same one query and a constant-time comparison on both sides (loose bound, shared CI).
    spent: dict[str, list[float]] = {"unknown": [], "wrong": []}
    for _ in range(25):
        for kind, path in (("unknown", f"/ical/nope/{wrong}.ics"), ("wrong", f"/ical/k8s/{wrong}.ics")):
            start = time.perf_counter()
            await feeds.get(path)
            spent[kind].append(time.perf_counter() - start)
    unknown, known = statistics.median(spent["unknown"]), statistics.median(spent["wrong"])
    assert max(unknown, known) < 3 * min(unknown, known) + 0.002, spent


async def test_the_right_token_opens_the_feed_and_rotating_closes_the_old_one(feeds: Feeds) -> None:
    first = await feeds.ask("calendar link")  # any member, privately
    token = _token(first)
    status, body, headers = await feeds.get(f"/ical/k8s/{token}.ics")
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    assert Calendar.from_ical(body).get("X-WR-CALNAME") == "Kubernetes CoP"
    assert _token(await feeds.ask("calendar link", user="UBOB")) == token  # the same link, until rotated

    refused = await feeds.ask("rotate calendar link", private=False)  # a member is not a coordinator
    assert "coordinators" in refused and LINK.search(refused) is None
    assert (await feeds.get(f"/ical/k8s/{token}.ics"))[0] == 200

    rotated = _token(await feeds.ask("rotate calendar link", user="UCOORD"))
    assert rotated != token
    assert (await feeds.get(f"/ical/k8s/{token}.ics"))[:2] == (await feeds.get(f"/ical/nope/{token}.ics"))[:2]
    assert (await feeds.get(f"/ical/k8s/{token}.ics"))[0] == 404
    assert (await feeds.get(f"/ical/k8s/{rotated}.ics"))[0] == 200
    assert [c for c in feeds.fake.called("chat.postMessage") if "/ical/" in str(c["text"])] == []  # never public
    assert len(feeds.fake.called("chat.postEphemeral")) == 3


async def test_the_operator_reads_and_rotates_the_link_on_the_command_line(
        feeds: Feeds, database_url: str, tmp_path: Path) -> None:
    token = _token(await feeds.ask("calendar link"))
    config = tmp_path / "steward.toml"
    config.write_text('[steward]\npublic_url = "https://steward.example.org/"\n\n'
                      '[[community]]\nslug = "k8s"\nname = "Kubernetes CoP"\nchannels = ["slack:C1"]\n'
                      '\n[[community]]\nslug = "ml"\nchannels = ["slack:C2"]\n', encoding="utf-8")
    env = {**_env(tmp_path), "STEWARD_DATABASE_URL": database_url}
    shown = await asyncio.to_thread(_cli, env, "calendar-link", "--community", "k8s", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"https://steward.example.org/ical/k8s/{token}.ics"
    rotated = await asyncio.to_thread(_cli, env, "calendar-link", "--community", "k8s", "--rotate",
                                      "--config", str(config))
    assert rotated.returncode == 0, rotated.stderr
    new = _token(rotated.stdout)
    assert new != token and "no longer works" in rotated.stderr
    assert (await feeds.get(f"/ical/k8s/{token}.ics"))[0] == 404
    assert (await feeds.get(f"/ical/k8s/{new}.ics"))[0] == 200
    unknown = await asyncio.to_thread(_cli, env, "calendar-link", "--community", "nope", "--config", str(config))
    assert unknown.returncode == 2 and "no community 'nope'" in unknown.stderr and "Traceback" not in unknown.stderr


# -- B. clear, safe messages from the command line -------------------------------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    return {**env, "STEWARD_DATA_DIR": str(tmp_path / "data"), "PYTHONDONTWRITEBYTECODE": "1"}


def _cli(env: dict[str, str], *args: str, stdin: str = "", unprivileged: bool = False,
         preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m app ARGS`, as the operator runs it; `unprivileged`: file permissions apply even to root."""
    prefix: list[str] = []
    if unprivileged and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    return subprocess.run([*prefix, sys.executable, "-m", "app", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False, preexec_fn=preexec)


def _one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The fault was told in one line naming what is wrong; no traceback, non-zero exit."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr and "File \"" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("steward: "), result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_a_malformed_database_url_is_shown_without_its_password(tmp_path: Path) -> None:
    for url in (f"postgresql://bob:{SECRET}@127.0.0.1:notaport/steward",
                f"postgresql://bob:{SECRET}@with/slash@127.0.0.1:nope/steward",
                f"bob:{SECRET}@127.0.0.1/steward"):
        result = _cli({**_env(tmp_path), "STEWARD_DATABASE_URL": url}, "db", "upgrade")
        shown = result.stdout + result.stderr
        assert SECRET not in shown and "Sup3r" not in shown and "slash" not in shown
        _one_clear_line(result, "STEWARD_DATABASE_URL (", "***@127.0.0.1", "e.g. postgresql://user")


def _pg(port: int | None = None, database: str = "steward_nowhere") -> str:
    admin = make_url(PG_ADMIN_URL)
    return (f"postgresql://{admin.username or 'postgres'}:{SECRET}@{admin.host or '127.0.0.1'}:"
            f"{port or admin.port or 5432}/{database}")


def test_an_unreachable_or_missing_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    down = _cli({**_env(tmp_path), "STEWARD_DATABASE_URL": _pg(port=1)}, "db", "upgrade")
    _one_clear_line(down, "cannot reach PostgreSQL at", ":1", "is the server running")
    assert SECRET not in down.stderr
    missing = _cli({**_env(tmp_path), "STEWARD_DATABASE_URL": _pg()}, "db", "upgrade")
    _one_clear_line(missing, "no database \"steward_nowhere\"", "createdb steward_nowhere")
    assert SECRET not in missing.stderr
    debug = _cli({**_env(tmp_path), "STEWARD_DATABASE_URL": _pg(port=1), "STEWARD_DEBUG": "1"}, "db", "upgrade")
    assert "Traceback" in debug.stderr and "cannot reach PostgreSQL" in debug.stderr.splitlines()[-1]


def test_an_unknown_config_key_is_named_with_a_hint_but_never_its_value(tmp_path: Path) -> None:
    config = tmp_path / "steward.toml"
    config.write_text(f'[matrix]\nhomeserver = "https://m.example.org"\nuser_id = "@s:m.example.org"\n'
                      f'acess_tokn = "syt_{SECRET}"\n', encoding="utf-8")
    result = _cli(_env(tmp_path), "db", "upgrade", "--config", str(config))
    assert result.returncode == 2 and SECRET not in result.stderr
    _one_clear_line(result, "`matrix.acess_tokn`", "a known key")
    config.write_text(f'[steward]\npublic_ulr = "https://{SECRET}.example.org"\n', encoding="utf-8")
    result = _cli(_env(tmp_path), "db", "upgrade", "--config", str(config))
    assert SECRET not in result.stderr
    _one_clear_line(result, "`steward.public_ulr`", "did you mean `public_url`?")


def test_one_channel_in_two_communities_is_refused_naming_both(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"community": [{"slug": "k8s", "channels": ["slack:C1", "slack:C9"]},
                                    {"slug": "ml", "channels": ["matrix:!r:example.org", "slack:C9"]}]})
    assert "slack:C9" in str(err.value) and '"k8s"' in str(err.value) and '"ml"' in str(err.value)
    parse_config({"community": [{"slug": "k8s", "channels": ["slack:C1"]}, {"slug": "ml", "channels": ["slack:C2"]}]})
    config = tmp_path / "steward.toml"
    config.write_text('[[community]]\nslug = "k8s"\nchannels = ["slack:C1"]\n\n'
                      '[[community]]\nslug = "ml"\nchannels = ["slack:C1"]\n', encoding="utf-8")
    _one_clear_line(_cli(_env(tmp_path), "db", "upgrade", "--config", str(config)), "slack:C1", '"k8s"', '"ml"')


def test_a_data_folder_that_cannot_be_made_or_written(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("", encoding="utf-8")
    result = _cli({**_env(tmp_path), "STEWARD_DATA_DIR": str(a_file / "data")}, "db", "upgrade")
    _one_clear_line(result, f"data folder {a_file / 'data'}", "STEWARD_DATA_DIR")
    locked_parent = tmp_path / "locked"
    locked_parent.mkdir(mode=0o555)
    result = _cli({**_env(tmp_path), "STEWARD_DATA_DIR": str(locked_parent / "data")}, "db", "upgrade",
                  unprivileged=True)
    _one_clear_line(result, "Permission denied", "STEWARD_DATA_DIR")
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o555)
    result = _cli({**_env(tmp_path), "STEWARD_DATA_DIR": str(read_only)}, "db", "upgrade", unprivileged=True)
    _one_clear_line(result, f"SQLite database {read_only / 'steward.db'}", "writable")


def _made(tmp_path: Path) -> Path:
    """A data folder holding a migrated SQLite database."""
    assert _cli(_env(tmp_path), "db", "upgrade").returncode == 0
    return tmp_path / "data" / "steward.db"


def test_a_locked_sqlite_file(tmp_path: Path) -> None:
    path = _made(tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing for a long time
    try:
        result = _cli(_env(tmp_path), "db", "upgrade")  # waits SQLite's busy timeout (10 s), then explains
    finally:
        holder.close()
    _one_clear_line(result, f"SQLite database {path} is locked", "another `steward`")


def test_a_read_only_sqlite_file(tmp_path: Path) -> None:
    path = _made(tmp_path)
    path.chmod(0o444)
    result = _cli(_env(tmp_path), "chat", "--community", "guild", "--create", stdin="help\n", unprivileged=True)
    _one_clear_line(result, f"SQLite database {path} is read-only", "write access")


def test_a_corrupt_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "steward.db"
    path.parent.mkdir()
    path.write_bytes(b"this is no database, just a stray file " * 200)
    _one_clear_line(_cli(_env(tmp_path), "db", "upgrade"), f"{path} is not a readable SQLite database", "backup")


def test_a_full_disk_under_the_sqlite_file(tmp_path: Path) -> None:
    def small_files() -> None:  # writes past 64 KiB fail as on a full disk (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = _cli(_env(tmp_path), "db", "upgrade", preexec=small_files)
    path = tmp_path / "data" / "steward.db"
    _one_clear_line(result, f"could not write the SQLite database {path}", "Free some space")


# -- B. a direct message from someone no community knows yet ---------------------------------------------


@pytest.fixture
async def two_communities(db: Database, config: Config) -> AsyncIterator[tuple[Steward, RecordingAdapter]]:
    cfg = dataclasses.replace(config, communities=(
        config.communities[0], CommunityConfig(slug="ml", name="ML guild", locale="fr", channels=("recording:C2",))))
    steward = Steward(db, cfg, build_router())
    await sync_communities(steward)
    platform = RecordingAdapter()
    steward.add_adapter(platform)
    await steward.start_adapters()
    yield steward, platform
    await steward.stop()


async def test_a_stranger_writing_privately_gets_a_kind_pointer_in_their_language(
        two_communities: tuple[Steward, RecordingAdapter]) -> None:
    _, platform = two_communities
    soon = (date.today() + timedelta(days=30)).isoformat()
    for text in ("I know about helm", f"away until {soon}", "my cap 3", "calendar link", "who knows about helm",
                 "rotate calendar link"):
        platform.sent.clear()
        await platform.inject(message(text, user="USTRANGER", channel="DSTRANGER", direct=True))
        [answer] = platform.sent
        assert isinstance(answer, Post) and answer.channel == "DSTRANGER", answer
        assert "Sorry" not in answer.text and "which community you're part of" in answer.text, (text, answer.text)
        assert "k8s" not in answer.text and "ml" not in answer.text.split()  # no list of what exists
    for text in ("language fr", "je m'y connais en helm", "mon plafond 3"):  # asked in French: answered in French
        platform.sent.clear()
        await platform.inject(message(text, user="USTRANGER", channel="DSTRANGER", direct=True))
        [answer] = platform.sent
        assert "de quelle communauté vous faites partie" in getattr(answer, "text", ""), (text, answer)
    platform.sent.clear()
    await platform.inject(message("language en", user="USTRANGER", channel="DSTRANGER", direct=True))
    assert "which community you're part of" in platform.texts()[0]

    # Once they spoke in a channel, the same DM works.
    await platform.inject(message("hello there", user="USTRANGER", channel="C1"))
    platform.sent.clear()
    await platform.inject(message("my cap 3", user="USTRANGER", channel="DSTRANGER", direct=True))
    assert "which community" not in platform.texts()[0] and "Sorry" not in platform.texts()[0]


# -- B. a Matrix DM that someone else joined -------------------------------------------------------------


async def test_a_matrix_dm_that_grew_into_a_group_never_gets_private_answers(
        people: Any, bot_factory: Any, synapse: Any) -> None:  # noqa: F811
    ana, bruno = await people("ana"), await people("bruno")
    account = bot_factory.register()
    bot = await bot_factory(inviters=(ana.user_id,))
    created = await ana.client.room_create(is_direct=True, invite=[account.user_id],
                                           preset=RoomPreset.trusted_private_chat)
    assert isinstance(created, RoomCreateResponse), created
    room = str(created.room_id)
    await ana.sync()
    await ana.wait_member(room, bot.user_id)
    await ana.say(room, "my data")
    answer = await ana.reply_from(bot.user_id, room, "my data, in the DM of two")
    assert "I keep" in answer["content"]["body"]

    await ana.invite(room, bruno.user_id)  # the DM becomes a group of three
    await bruno.join(room)
    await ana.wait_member(room, bruno.user_id)
    await ana.say(room, "!steward my data")  # addressed, as in any group
    new_dm = await _invited_by(ana, bot.user_id, other_than=room)
    await ana.join(new_dm)
    moved = await ana.reply_from(bot.user_id, new_dm, "my data, in a new DM")
    assert "I keep" in moved["content"]["body"]
    visibility = synapse.request("GET", f"/_matrix/client/v3/rooms/{new_dm}/state/m.room.history_visibility",
                                 token=ana.account.access_token)
    assert visibility == {"history_visibility": "invited"}  # whoever is invited later reads from then on only

    # A private post queued while the room was still a DM goes to the person's DM, not to the group.
    await bot.adapter.send(Post(channel=room, text="only for ana"))
    late = await ana.reply_from(bot.user_id, new_dm, "the late private post")
    assert late["content"]["body"] == "only for ana"
    await bruno.sync()
    said = [e["content"]["body"] for e in bruno.seen if e["room_id"] == room and e.get("sender") == bot.user_id
            and e.get("type") == "m.room.message"]
    assert said == [answer["content"]["body"]]  # only the answer from when the room was a DM of two (history)


async def _invited_by(person: Person, inviter: str, other_than: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [r for r, who in person.invites.items() if who == inviter and r != other_than]
        if found:
            return found[0]
        await person.sync(500)
    raise AssertionError(f"{person.user_id} got no new invite from {inviter}; the answer went elsewhere")
