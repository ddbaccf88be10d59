"""Cold start: seconds from launching `steward who` / `steward run` to the first answer, on a large community.

    python -m bench.cold_start --data-dir DIR --community synth --queries /tmp/synth/queries.jsonl [--runs 3]

DIR is a data folder holding the imported community (STEWARD_DATA_DIR of `steward import`; PostgreSQL with
STEWARD_DATABASE_URL) and, after a first `steward who`, its saved expertise index (DIR/index).

- `who`: `steward who QUESTION --community synth` in a new process, `--runs` times (one query each):
  wall seconds and the process's CPU seconds (user + system).
- `run`: `steward run` in a new process, with a [slack] section pointing at a fake Slack Web API on
  127.0.0.1 (tests/slack/fake_slack.py); as soon as its Events endpoint answers, a signed `app_mention`
  "who knows about …" is posted, and the clock stops when the suggestions reach the fake
  `chat.postMessage`. Then SIGTERM (it saves its index if it changed) and its CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.slack.conftest import ENV, event_body, sign
from tests.slack.fake_slack import BOT_USER, FakeSlack


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _question(query: dict[str, object], words: int = 8) -> str:
    return " ".join(str(query["text"]).split()[:words])


async def who(data_dir: Path, community: str, question: str) -> tuple[float, float, str]:
    """One `steward who` in a new process: (wall seconds, CPU seconds, its output)."""
    cpu, started = _children_cpu(), time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "who", question, "--community", community,
        env={**os.environ, "STEWARD_DATA_DIR": str(data_dir)}, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return time.perf_counter() - started, _children_cpu() - cpu, out.decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(data_dir: Path, community: str, question: str) -> tuple[float, float, float]:
    """One `steward run` in a new process: (seconds to its Events endpoint, to the first answer, CPU seconds)."""
    fake = FakeSlack()
    await fake.start()
    port = _free_port()
    config = _config(data_dir, community, port, fake.base_url)
    cpu, started = _children_cpu(), time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "run", "--config", str(config), env={**os.environ, **ENV},
        stdout=asyncio.subprocess.DEVNULL)
    body = json.dumps(event_body({"type": "app_mention", "user": "U0000001", "channel": "CBENCH",
                                  "text": f"<@{BOT_USER}> who knows about {question}?",
                                  "ts": f"{int(time.time())}.000100"}))
    url = f"http://127.0.0.1:{port}/slack/events"
    listening = 0.0
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.post(url, data=body.encode(), headers={
                        "Content-Type": "application/json", **sign(body)}) as response:
                    if response.status == 200:
                        listening = time.perf_counter() - started
                        break
            except aiohttp.ClientConnectionError:
                pass
            if proc.returncode is not None or time.perf_counter() - started > 120:
                raise SystemExit(f"steward run did not start (exit {proc.returncode})")
            await asyncio.sleep(0.02)
    answered = await fake.wait_for(lambda: any("may know" in str(p.get("text")) for p in fake.posted), 120)
    first = time.perf_counter() - started
    proc.send_signal(signal.SIGTERM)
    await proc.wait()
    await fake.stop()
    if not answered:
        raise SystemExit(f"no answer within 120 s: {[p.get('text') for p in fake.posted]}")
    return listening, first, _children_cpu() - cpu


def _config(data_dir: Path, community: str, port: int, api_url: str) -> Path:
    """A config file for `steward run` on the fake Slack."""
    config = Path(tempfile.mkdtemp(prefix="steward-cold-")) / "config.toml"
    config.write_text(f"""
[steward]
data_dir = "{data_dir}"
log_level = "WARNING"

[slack]
port = {port}
api_url = "{api_url}"

[[community]]
slug = "{community}"
channels = ["slack:CBENCH"]
""", encoding="utf-8")
    return config


async def main_async(a: argparse.Namespace, queries: list[dict[str, object]]) -> None:
    """Run both, print the figures."""
    print(f"load average {os.getloadavg()[0]:.1f}")
    if a.mode in ("who", "both"):
        walls, cpus = [], []
        for i in range(a.runs):
            wall, cpu, out = await who(a.data_dir, a.community, _question(queries[i]))
            walls.append(wall)
            cpus.append(cpu)
            print(f"steward who #{i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU; top: {out.split()[1:2]}")
        print(f"steward who: median {statistics.median(walls):.2f} s wall (max {max(walls):.2f}), "
              f"{statistics.median(cpus):.2f} s CPU")
    if a.mode in ("run", "both"):
        for i in range(a.runs):
            listening, first, cpu = await run(a.data_dir, a.community, _question(queries[-1 - i]))
            print(f"steward run #{i + 1}: endpoint up after {listening:.2f} s, first answer after {first:.2f} s "
                  f"(whole process: {cpu:.2f} s CPU)")
    print(f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    """Parse arguments and run."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--community", default="synth")
    ap.add_argument("--queries", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mode", choices=("who", "run", "both"), default="both")
    a = ap.parse_args()
    queries = [json.loads(line) for line in Path(a.queries).read_text(encoding="utf-8").splitlines()]
    asyncio.run(main_async(a, queries))


if __name__ == "__main__":
    main()
