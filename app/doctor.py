"""`steward doctor --config FILE`: everything that can be checked before going live, without sending a message.

Each check gives a finding: what was checked, whether it holds, and when not, how to fix it. Secrets are
looked for, never printed; database URLs are shown without their password.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config import Config, load_config
from bot.errors import ConfigError, StewardError
from storage.db import DatabaseUrlError, resolve_url

CONNECT_TIMEOUT = 5.0
# The shipped manifest: beside the code in a checkout, in the working directory in the image (/app).
MANIFESTS = (Path(__file__).resolve().parents[1] / "manifest.yml", Path("manifest.yml"))

# What a well-formed reference looks like on each platform (ids as the platforms issue them).
SHAPES: dict[tuple[str, str], tuple[re.Pattern[str], str]] = {
    ("slack", "channel"): (re.compile(r"[CGD][A-Z0-9]{2,}"), "a channel id such as C0123ABCD (not its #name)"),
    ("slack", "person"): (re.compile(r"[UW][A-Z0-9]{2,}"), "a member id such as U0123ABCD (not a @name)"),
    ("matrix", "channel"): (re.compile(r"[!#][^:\s]+:[^\s]+"), "a room id !abc:example.org or alias "
                            "#room:example.org"),
    ("matrix", "person"): (re.compile(r"@[^:\s]+:[^\s]+"), "a user id such as @ana:example.org"),
    ("console", "channel"): (re.compile(r"\S+"), "a name"),
    ("console", "person"): (re.compile(r"\S+"), "a name"),
}


@dataclass(frozen=True)
class Finding:
    """One check: `ok`, what it found, and how to fix it when not ok."""

    ok: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        """The finding as printed."""
        return f"✓ {self.what}" if self.ok else f"✗ {self.what}\n    fix: {self.fix}"


def examine(path: Path | None, env: Mapping[str, str] | None = None, manifest: Path | None = None) -> list[Finding]:
    """Every finding for the config at `path` (None: the built-in defaults) in environment `env`."""
    env = os.environ if env is None else env
    try:
        config = load_config(path)
    except ConfigError as err:
        return [Finding(False, f"config {path}: {err}", "correct that key (config.example.toml documents each one)")]
    findings = [Finding(True, f"config {path or '(built-in defaults)'}: read, {len(config.communities)} "
                              "community(ies)")]
    findings += _secrets(config, env)
    findings += _references(config)
    findings.append(_data_dir(config))
    findings += _database(config, env)
    if config.slack is not None:
        findings.append(_manifest(manifest or next((m for m in MANIFESTS if m.is_file()), MANIFESTS[0])))
    return findings


def _secrets(config: Config, env: Mapping[str, str]) -> list[Finding]:
    from adapters.slack.adapter import TOKENS

    needed: list[tuple[str, str]] = []
    if config.slack is not None:
        needed.append(("SLACK_BOT_TOKEN", TOKENS["SLACK_BOT_TOKEN"][0]))
        name = "SLACK_APP_TOKEN" if config.slack.transport == "socket" else "SLACK_SIGNING_SECRET"
        needed.append((name, TOKENS[name][0]))
    findings = []
    for name, prefix in needed:
        value = env.get(name, "").strip()
        if not value:
            findings.append(Finding(False, f"{name} is not set", f"set it in the environment: {TOKENS[name][1]}"))
        elif prefix and not value.startswith(prefix):
            findings.append(Finding(False, f"{name} does not start with {prefix}", TOKENS[name][1]))
        else:
            findings.append(Finding(True, f"{name} is set"))
    if config.matrix is not None:
        if env.get("MATRIX_ACCESS_TOKEN", "").strip() or env.get("MATRIX_PASSWORD", "").strip():
            findings.append(Finding(True, "MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD is set"))
        else:
            findings.append(Finding(False, "neither MATRIX_ACCESS_TOKEN nor MATRIX_PASSWORD is set",
                                    f"set the access token of {config.matrix.user_id} (or its password) in the "
                                    "environment"))
    return findings


def _references(config: Config) -> list[Finding]:
    findings = []
    owners: dict[str, str] = {}
    for cc in config.communities:
        bad = []
        for kind, refs in (("channel", cc.channels), ("person", cc.coordinators + cc.sponsors)):
            for ref in refs:
                platform, _, ident = ref.partition(":")
                shape, expected = SHAPES[(platform, kind)]
                if not shape.fullmatch(ident):
                    bad.append(f"{ref!r} (expected {expected})")
        for ref in cc.channels:
            if ref in owners and owners[ref] != cc.slug:
                bad.append(f"{ref!r} is also a channel of community {owners[ref]!r} (a channel belongs to one)")
            owners.setdefault(ref, cc.slug)
        if config.slack is None and any(r.startswith("slack:") for r in cc.channels + cc.coordinators + cc.sponsors):
            bad.append("Slack references but no [slack] section")
        if config.matrix is None and any(r.startswith("matrix:") for r in cc.channels + cc.coordinators + cc.sponsors):
            bad.append("Matrix references but no [matrix] section")
        if bad:
            findings.append(Finding(False, f"community {cc.slug!r}: " + "; ".join(bad),
                                    "correct these references in the config file"))
        else:
            findings.append(Finding(True, f"community {cc.slug!r}: {len(cc.channels)} channel(s), time zone "
                                          f"{cc.timezone}, {len(cc.coordinators)} coordinator(s)"))
    return findings


def _data_dir(config: Config) -> Finding:
    where = config.data_dir
    try:
        where.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=where, prefix=".doctor-"):
            pass
    except OSError as err:
        return Finding(False, f"data dir {where} is not writable ({err.strerror or err})",
                       "create it and give the user Steward runs as write access, or set [steward] data_dir / "
                       "STEWARD_DATA_DIR to a writable folder")
    return Finding(True, f"data dir {where} is writable")


def _database(config: Config, env: Mapping[str, str]) -> list[Finding]:
    from sqlalchemy.engine import make_url

    try:
        url = resolve_url(env.get("STEWARD_DATABASE_URL"), config.data_dir)
    except (DatabaseUrlError, OSError) as err:
        return [Finding(False, f"database URL: {err}", "set STEWARD_DATABASE_URL to a sqlite:// or postgresql:// URL")]
    shown = make_url(url).render_as_string(hide_password=True)
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return [Finding(False, f"database {shown}: not created yet", "run `steward db upgrade` (or start "
                        "Steward, which creates and upgrades it at start)")]
    try:
        revision = asyncio.run(asyncio.wait_for(_revision(url), CONNECT_TIMEOUT))
    except TimeoutError:
        return [Finding(False, f"database {shown}: no answer within {CONNECT_TIMEOUT:.0f} s",
                        "check the host and port, and that the server is running")]
    except Exception as err:  # the driver's own error says what failed (refused, auth, unknown database)
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        password = make_url(url).password
        if password:
            reason = reason.replace(str(password), "***")
        return [Finding(False, f"database {shown} cannot be reached: {reason}",
                        "check STEWARD_DATABASE_URL (host, port, user, database) and that the server is running")]
    from app.cli_db import head_revision, known_revisions

    head = head_revision()
    if revision == head:
        return [Finding(True, f"database {shown}: reachable, schema up to date ({head})")]
    if revision is None:
        return [Finding(False, f"database {shown}: reachable but empty", "run `steward db upgrade` (or start "
                        "Steward, which upgrades at start)")]
    if revision not in known_revisions():
        return [Finding(False, f"database {shown}: schema {revision} is newer than this Steward's ({head})",
                        "run the Steward version that wrote it, or upgrade this one")]
    return [Finding(False, f"database {shown}: schema {revision}, migrations pending up to {head}",
                    "run `steward db upgrade` (or start Steward, which upgrades at start)")]


async def _revision(url: str) -> str | None:
    from sqlalchemy import inspect, text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table("alembic_version")):
                return None
            found = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            return None if found is None else str(found)
    finally:
        await engine.dispose()


def _manifest(path: Path) -> Finding:
    import yaml

    from adapters.slack.scopes import missing_scopes

    try:
        manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
        granted = manifest["oauth_config"]["scopes"]["bot"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        return Finding(False, f"Slack manifest {path} cannot be read ({type(err).__name__})",
                       "give the manifest your Slack app was created from with --manifest FILE")
    missing = missing_scopes(granted)
    if missing:
        return Finding(False, f"Slack manifest {path} lacks the scope(s) {', '.join(missing)}",
                       "add them under oauth_config.scopes.bot, update the app at api.slack.com, and reinstall it")
    return Finding(True, f"Slack manifest {path} grants every scope Steward's calls need")


def run(path: Path | None, manifest: Path | None = None) -> tuple[int, str]:
    """The doctor's report and exit code (0 only when every finding holds)."""
    try:
        findings = examine(path, manifest=manifest)
    except StewardError as err:  # a fault none of the checks expected: still one clear line
        findings = [Finding(False, str(err), "see the message")]
    failed = sum(1 for f in findings if not f.ok)
    summary = "all is well" if not failed else f"{failed} problem(s) to fix before going live"
    return (0 if not failed else 1), "\n".join([*(f.line() for f in findings), f"steward doctor: {summary}"])
