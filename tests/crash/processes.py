"""Steward as a real child process: `python -m app run --config FILE`, killed with SIGKILL, started again.

The child runs this worktree's code (cwd and PYTHONPATH are the repository root), reads its config
file, STEWARD_DATABASE_URL and its tokens from the environment, as an operator's `steward run` would.
Everything it talks to listens on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
READY = "steward: running on"
START_TIMEOUT = 90.0  # seconds for imports, migrations, login and the first sync on a busy 2-core machine
ADOPTED = re.compile(r"sending (\d+) replies a stopped Steward had not sent")
REPLAYED = re.compile(r"handling (\d+) Slack deliveries a stopped Steward had acknowledged")


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toml_value(value: Any) -> str:
    """A TOML literal for the few kinds a config needs (JSON strings and arrays are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def write_config(path: Path, tables: Mapping[str, Mapping[str, Any]],
                 communities: Sequence[Mapping[str, Any]]) -> Path:
    """Write a config file: `tables` are `[name]` sections, `communities` the `[[community]]` ones."""
    lines: list[str] = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
    for community in communities:
        lines.append("[[community]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in community.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Child:
    """One `steward run` process and its log; `start` again after `kill` is a restart (same config)."""

    def __init__(self, name: str, config: Path, env: Mapping[str, str], log: Path) -> None:
        self.name, self.config, self.log = name, config, log
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = self.kills = 0

    def start(self) -> None:
        """Spawn the process (not waiting for it to be ready)."""
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is already running"
        with self.log.open("ab") as out:
            out.write(f"\n===== start {self.starts + 1} of {self.name} =====\n".encode())
            out.flush()
            self.proc = subprocess.Popen([sys.executable, "-m", "app", "run", "--config", str(self.config)],
                                         cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.starts += 1

    async def ready(self, within: float = START_TIMEOUT) -> float:
        """Wait until this start printed that it runs; returns the seconds it took. Fails with the log's tail."""
        began = time.monotonic()
        deadline = began + within
        while time.monotonic() < deadline:
            if self.text().count(READY) >= self.starts:
                return time.monotonic() - began
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} was not ready within {within:.0f}s:\n{self.tail()}")

    async def restart(self) -> float:
        """Start again and wait until ready; returns the seconds it took."""
        self.start()
        return await self.ready()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, sockets and locks die with the process."""
        assert self.proc is not None and self.proc.poll() is None, f"{self.name} is not running:\n{self.tail()}"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM (a graceful stop), SIGKILL after `grace` seconds; nothing if not running."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def adopted(self) -> int:
        """Replies this child took over from a dead run (its log), i.e. sends that may repeat one."""
        return sum(int(n) for n in ADOPTED.findall(self.text()))

    def replayed(self) -> int:
        """Acknowledged Slack deliveries this child took over from a dead run (its log)."""
        return sum(int(n) for n in REPLAYED.findall(self.text()))

    def errors(self) -> list[str]:
        """Tracebacks and ERROR lines of the log (a killed process leaves none by itself)."""
        return [line for line in self.text().splitlines() if "ERROR" in line or line.startswith("Traceback")]
