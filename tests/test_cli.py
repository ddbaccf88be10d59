"""The `steward` command line, run as a real process (the README's first command does the same)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import __version__
from tests.conftest import BACKEND, create_pg_database, drop_pg_database


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    environment["STEWARD_DATA_DIR"] = str(tmp_path / "data")
    if BACKEND == "postgres":
        url = create_pg_database("steward_cli")
        environment["STEWARD_DATABASE_URL"] = url.replace("+asyncpg", "")
        yield environment
        drop_pg_database(url)
    else:
        yield environment


def steward(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_version_and_help(env: dict[str, str]) -> None:
    assert steward(env, "--version").stdout.strip() == f"steward {__version__}"
    out = steward(env, "--help").stdout
    for sub in ("chat", "demo", "run", "db"):
        assert sub in out


def test_demo_session_from_the_readme(env: dict[str, str]) -> None:
    """help in English; after `language fr`, `aide` in French; `forget me` then `my data` keeps nothing
    but the tombstone (a keyed hash, so that Steward never indexes sam again)."""
    session = "help\nlanguage fr\naide\nqui connaît helm ?\noublie-moi\n1\nmes données\nquit\n"
    result = steward(env, "demo", stdin=session)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Demo community created." in out
    assert "Here is what you can ask me" in out
    assert "Voici ce que vous pouvez me demander" in out
    assert out.rstrip().endswith("Dites `me réinscrire` pour la retirer.\nsam>")
    assert "Je ne garde rien sur vous, seulement une note de votre désinscription" in out
    again = steward(env, "demo", stdin="my data\n")
    assert "Demo community found." in again.stdout and "I keep nothing about you, only a note" in again.stdout


def test_chat_remembers_between_runs(env: dict[str, str]) -> None:
    steward(env, "chat", "--as", "zoe", "--community", "guild", "--create", stdin="langue fr\n")
    result = steward(env, "chat", "--as", "zoe", "--community", "guild", stdin="help\n")
    assert "Bonjour" in result.stdout


def test_db_upgrade(env: dict[str, str]) -> None:
    result = steward(env, "db", "upgrade")
    assert result.returncode == 0 and "database up to date" in result.stdout


def test_run_without_adapters_explains_what_to_configure(env: dict[str, str]) -> None:
    result = steward(env, "run")
    assert result.returncode == 2
    assert "[slack]" in result.stderr and "[matrix]" in result.stderr and "steward demo" in result.stderr


def test_bad_config_is_refused_naming_the_key(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[steward]\nlocale = "klingon"\n', encoding="utf-8")
    result = steward(env, "run", "--config", str(config))
    assert result.returncode == 2
    assert "steward.locale" in result.stderr and "klingon" in result.stderr and '"fr"' in result.stderr


def test_bad_database_url_is_explained(env: dict[str, str]) -> None:
    result = steward({**env, "STEWARD_DATABASE_URL": "mysql://nope"}, "db", "upgrade")
    assert result.returncode == 2 and "sqlite and postgresql" in result.stderr
    result = steward({**env, "STEWARD_DATABASE_URL": "::not a url::"}, "db", "upgrade")
    assert result.returncode == 2 and "postgresql://" in result.stderr


def test_unknown_subcommand(env: dict[str, str]) -> None:
    result = steward(env, "dance")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_json_logs_are_one_object_per_line(env: dict[str, str]) -> None:
    import json

    result = steward(env, "db", "upgrade", "-v", "--log-format", "json")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 0 and lines
    entries = [json.loads(line) for line in lines]  # every line is JSON: a pipeline can read it
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)


def test_the_demo_shows_every_role(env: dict[str, str]) -> None:
    """Bruno coordinates, Grace sponsors, Sam is a newcomer; a meetup with history, a closed survey and last
    month's digest are there to try (before: no coordinator nor sponsor, half of the README refused)."""
    bruno = steward(env, "demo", "--as", "bruno", stdin="settings\nsurveys\nsurvey results 1\nrituals\nwho is core\n"
                    "history of ritual 1\nlangue fr\nréglages\nsondages\nquit\n")
    assert bruno.returncode == 0, bruno.stderr
    out = bruno.stdout
    assert "Demo community created." in out
    assert "- Coordinators: Bruno Tremblay (changed by Bruno Tremblay on " in out
    assert "- Sponsors: Grace Liu" in out and "- Time zone: America/Montreal" in out
    assert "“How useful was the Helm clinic?”: closed " in out and "respondents: 7" in out
    assert "📊 Results of the pulse survey “How useful was the Helm clinic?”: 7 people answered." in out
    assert "“Helm clinic” (meetup, active): every second Tuesday of the month at 16:00" in out
    assert "- Core: Ana Souza, " in out
    assert "Past meetups of Helm clinic:" in out and "attended" in out and "hosted by " in out
    assert "⚙️ Réglages de la communauté Platform engineering CoP (demo)\u00a0:" in out
    assert "📋 Sondages de la communauté " in out
    grace = steward(env, "demo", "--as", "grace", stdin="digest\nwho is core\nstats\nset purpose Anything\nquit\n")
    out = grace.stdout
    assert "Meetups" in out and "Helm clinic, " in out and "attended" in out  # last month's digest, sent to her
    assert re.search(r"- Core: \d+\n", out) and "Ana" not in out.split("Core group of")[1].split("grace>")[0]
    assert "in numbers" in out and "Only this community's coordinators can do that." in out
    sam = steward(env, "demo", stdin="settings\nclose survey 1\nquit\n")
    assert sam.stdout.count("Only this community's") == 2


def test_chat_never_changes_an_existing_community(env: dict[str, str]) -> None:
    """Before: `steward chat --as ana --community demo` rewrote the demo's time zone to UTC."""
    steward(env, "demo", stdin="quit\n")
    steward(env, "chat", "--as", "ana", "--community", "demo", stdin="my data\nquit\n")
    out = steward(env, "demo", "--as", "bruno", stdin="settings\nquit\n").stdout
    assert "- Time zone: America/Montreal (initial value)" in out


def test_an_unknown_community_is_an_error_that_lists_the_known_ones(env: dict[str, str]) -> None:
    """Before: a typo silently created an empty community, even "bad slug!"."""
    first = steward(env, "chat", "--community", "dmeo", stdin="help\n")
    assert first.returncode == 2 and "no community 'dmeo' (known: none yet)" in first.stderr
    assert "steward demo" in first.stderr and "--create" in first.stderr and "Traceback" not in first.stderr
    steward(env, "demo", stdin="quit\n")
    again = steward(env, "chat", "--community", "dmeo", stdin="help\n")
    assert again.returncode == 2 and "(known: demo)" in again.stderr  # the typo made nothing
    bad = steward(env, "chat", "--community", "bad slug!", "--create", stdin="help\n")
    assert bad.returncode == 2 and "letters, digits, - or _" in bad.stderr
    made = steward(env, "chat", "--community", "guild", "--create", stdin="help\n")
    assert made.returncode == 0 and "Here is what you can ask me" in made.stdout
    listed = steward(env, "chat", "--community", "nope", stdin="")
    assert "(known: demo, guild)" in listed.stderr


def test_export_survey_is_aggregate_csv(env: dict[str, str]) -> None:
    steward(env, "demo", stdin="quit\n")
    result = steward(env, "export", "survey", "--community", "demo", "--survey", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith('"survey","title","closed","respondents","question"')
    assert '"Which format next?","choice","workshops","4","57.1"' in result.stdout and len(lines) == 9
    missing = steward(env, "export", "survey", "--community", "demo", "--survey", "9")
    assert missing.returncode == 2 and "no survey 9 in 'demo'" in missing.stderr
    nowhere = steward(env, "export", "survey", "--community", "dmeo", "--survey", "1")
    assert nowhere.returncode == 2 and "(known: demo)" in nowhere.stderr
