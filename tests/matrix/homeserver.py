"""A real Synapse homeserver for tests and benchmarks: SQLite, loopback only, fast password hashing.

Started as `python -m synapse.app.homeserver -c <cfg>` in a temporary directory; users are
registered through the shared-secret admin API, as an operator's script would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_NAME = "steward.test"
HIGH = {"per_second": 10_000, "burst_count": 10_000}
# Every rate limit raised: tests exercise behaviour, not the homeserver's throttling (one test lowers
# the bot's message limit with the admin API to prove 429 handling).
RATE_LIMITS: dict[str, Any] = {
    "rc_message": HIGH, "rc_registration": HIGH, "rc_admin_redaction": HIGH, "rc_3pid_validation": HIGH,
    "rc_joins": {"local": HIGH, "remote": HIGH}, "rc_joins_per_room": HIGH,
    "rc_invites": {"per_room": HIGH, "per_user": HIGH, "per_issuer": HIGH},
    "rc_login": {"address": HIGH, "account": HIGH, "failed_attempts": HIGH},
    "rc_key_requests": HIGH, "rc_room_creation": HIGH, "rc_presence": {"per_user": HIGH},
    "rc_media_create": HIGH, "rc_user_directory": HIGH, "rc_profile": HIGH, "rc_reports": HIGH,
    "rc_delayed_event_mgmt": HIGH,
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Account:
    """A registered Matrix account and its first access token."""

    user_id: str
    password: str
    access_token: str
    device_id: str


class Synapse:
    """One Synapse process on 127.0.0.1; `restart()` keeps its port and data."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.dir = directory
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None
        self.config_path = self.dir / "homeserver.yaml"
        self._write_config()

    def _write_config(self) -> None:
        from signedjson.key import generate_signing_key, write_signing_keys

        self.dir.mkdir(parents=True, exist_ok=True)
        key_path = self.dir / "signing.key"
        with key_path.open("w") as fh:
            write_signing_keys(fh, [generate_signing_key("a_test")])
        log_config = self.dir / "log.yaml"
        log_config.write_text(json.dumps({
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain",
                                  "filename": str(self.dir / "homeserver.log")}},
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }))
        config = {
            "server_name": SERVER_NAME,
            "pid_file": str(self.dir / "homeserver.pid"),
            "listeners": [{"port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                           "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}],
            "database": {"name": "sqlite3", "args": {"database": str(self.dir / "homeserver.db")}},
            "log_config": str(log_config),
            "media_store_path": str(self.dir / "media"),
            "signing_key_path": str(key_path),
            "registration_shared_secret": self.secret,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "bcrypt_rounds": 4,
            "enable_registration": False,
            "url_preview_enabled": False,
            "enable_metrics": False,
            "presence": {"enabled": False},
            **RATE_LIMITS,
        }
        # JSON is valid YAML: no YAML writer needed.
        self.config_path.write_text(json.dumps(config, indent=1))

    def start(self, timeout: float = 60.0) -> None:
        """Start the homeserver and wait until its client API answers."""
        with (self.dir / "stdout.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"synapse exited with {self.proc.returncode}; see {self.dir}/stdout.log")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise TimeoutError(f"synapse did not answer on {self.url} within {timeout}s")

    def stop(self) -> None:
        """Stop the homeserver (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port and data."""
        self.stop()
        self.start()

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                token: str | None = None) -> dict[str, Any]:
        """One JSON request to the homeserver (blocking; for fixtures)."""
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            result: dict[str, Any] = json.loads(resp.read() or b"{}")
            return result

    def register(self, localpart: str, *, admin: bool = False, password: str | None = None) -> Account:
        """Create an account through the shared-secret registration API."""
        password = password or secrets.token_hex(8)
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(),
                                 b"admin" if admin else b"notadmin"]))
        result = self.request("POST", "/_synapse/admin/v1/register", {
            "nonce": nonce, "username": localpart, "password": password, "admin": admin,
            "mac": mac.hexdigest()})
        return Account(result["user_id"], password, result["access_token"], result["device_id"])
