"""`steward doctor --config FILE`: what is wrong, how to fix it, exit 0 only when all is well; nothing sent."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import env, steward

__all__ = ["env"]

GOOD = """
[steward]
timezone = "Europe/Paris"

[slack]
transport = "http"

[[community]]
slug = "k8s"
channels = ["slack:C0123456789"]
coordinators = ["slack:U0123456789"]
"""

SECRETS = {"SLACK_BOT_TOKEN": "xoxb-1-super-secret-bot-token", "SLACK_SIGNING_SECRET": "signing-secret-value"}


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "steward.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_all_well_after_upgrade(env: dict[str, str], tmp_path: Path) -> None:
    config = _config(tmp_path, GOOD)
    env.update(SECRETS)
    assert steward(env, "db", "upgrade", "--config", str(config)).returncode == 0
    result = steward(env, "doctor", "--config", str(config))
    assert result.returncode == 0, result.stdout
    assert "✗" not in result.stdout and "all is well" in result.stdout
    assert "schema up to date" in result.stdout and "grants every scope" in result.stdout
    for secret in SECRETS.values():
        assert secret not in result.stdout + result.stderr


def test_each_problem_is_named_with_its_fix(env: dict[str, str], tmp_path: Path) -> None:
    config = _config(tmp_path, GOOD.replace('channels = ["slack:C0123456789"]',
                                           'channels = ["slack:#general", "matrix:!room:example.org"]'))
    env["SLACK_BOT_TOKEN"] = "not-a-bot-token"  # SLACK_SIGNING_SECRET unset
    manifest = tmp_path / "manifest.yml"
    manifest.write_text("oauth_config:\n  scopes:\n    bot: [chat:write, commands]\n", encoding="utf-8")
    result = steward(env, "doctor", "--config", str(config), "--manifest", str(manifest))
    out = result.stdout
    assert result.returncode == 1
    assert "SLACK_BOT_TOKEN does not start with xoxb-" in out and "not-a-bot-token" not in out
    assert "SLACK_SIGNING_SECRET is not set" in out
    assert "'slack:#general' (expected a channel id" in out and "Matrix references but no [matrix] section" in out
    assert "not created yet" in out or "reachable but empty" in out  # never upgraded: doctor does not migrate
    assert "lacks the scope(s)" in out and "files:write" in out
    assert out.count("fix:") == out.count("✗") and "problem(s) to fix" in out


def test_a_bad_config_and_an_unreachable_database_are_findings_not_tracebacks(env: dict[str, str],
                                                                               tmp_path: Path) -> None:
    bad = steward(env, "doctor", "--config", str(_config(tmp_path, "[steward]\ntimezone = \"Mars/Olympus\"\n")))
    assert bad.returncode == 1 and "steward.timezone" in bad.stdout and "Traceback" not in bad.stderr
    env["STEWARD_DATABASE_URL"] = "postgresql://steward:hunter2-pw@127.0.0.1:1/steward"  # nothing listens on port 1
    down = steward(env, "doctor", "--config", str(_config(tmp_path, GOOD.replace("[slack]\ntransport = \"http\"", "")
                                                          .replace("slack:", "console:"))))
    assert down.returncode == 1 and "cannot be reached" in down.stdout
    assert "hunter2" not in down.stdout + down.stderr and "Traceback" not in down.stderr
    unwritable = tmp_path / "ro"
    unwritable.write_text("a file where a folder should be")
    env["STEWARD_DATA_DIR"] = str(unwritable / "data")
    del env["STEWARD_DATABASE_URL"]
    ro = steward(env, "doctor")
    assert ro.returncode == 1 and "is not writable" in ro.stdout and "Traceback" not in ro.stderr
