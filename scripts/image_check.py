#!/usr/bin/env python3
"""Start a built Steward image and check it works as an operator will run it (`make image`, tests/test_image.py).

Runs `steward` inside the image with buildah's chroot isolation (no registry, no podman run needed) and
checks: the image's user and health check; every file of the source packages (migrations, the French
catalogue) installed; no compiler, no pip; `steward --version`; `steward db upgrade` on SQLite in the
image's data dir and on the machine's PostgreSQL; `steward run` with a Matrix-only config whose homeserver is
down, answering /healthz, /readyz and /metrics as a non-root process, the image's HEALTHCHECK passing, and
a clean stop on SIGTERM. Standard library only: it runs with the machine's python3, before any venv.

    python3 scripts/image_check.py IMAGE
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "bot", "adapters", "rituals", "storage")
BUILD_TOOLS = ("gcc", "cc", "c++", "g++", "clang", "make", "ld", "as", "pip", "pip3")
PG_ADMIN = os.environ.get("STEWARD_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
START_TIMEOUT = 90.0


class CheckFailed(Exception):
    """One check did not hold: what was expected and what was found."""


def ok(what: str) -> None:
    print(f"✓ {what}", flush=True)


def run(argv: Sequence[str], *, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A command on the machine; a failure shows its output."""
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise CheckFailed(f"`{' '.join(argv)}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


class Container:
    """A working container from the image: commands run in it as its configured user (the image's USER)."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.name = run(["buildah", "from", "--pull=never", image]).stdout.strip().splitlines()[-1]
        self.root = Path(run(["buildah", "mount", self.name]).stdout.strip())
        self.volumes: list[str] = []
        passwd = (self.root / "etc/passwd").read_text()
        self.uid = next(int(line.split(":")[2]) for line in passwd.splitlines() if line.startswith("steward:"))

    def argv(self, command: Sequence[str], env: dict[str, str] | None = None) -> list[str]:
        """The buildah command line running `command` in the container (host network: the chroot shares it)."""
        flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
        flags += [f"--volume={volume}" for volume in self.volumes]
        return ["buildah", "run", "--isolation=chroot", "--network=host", *flags, self.name, "--", *command]

    def run(self, command: Sequence[str], env: dict[str, str] | None = None,
            check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run(self.argv(command, env), check=check, timeout=timeout)

    def copy(self, source: Path, dest: str) -> None:
        run(["buildah", "copy", "--quiet", self.name, str(source), dest])

    def remove(self) -> None:
        run(["buildah", "umount", self.name], check=False)
        run(["buildah", "rm", self.name], check=False)


def image_config(image: str) -> dict[str, object]:
    """The image's Docker-format config (the one holding HEALTHCHECK)."""
    inspect = json.loads(run(["buildah", "inspect", "--type", "image", image]).stdout)
    return dict(inspect["Docker"]["config"])


def check_config(config: dict[str, object]) -> list[str]:
    """A non-root user, a health check, `steward run` as the command; returns the health check's command."""
    if config.get("User") != "steward":
        raise CheckFailed(f"the image's user is {config.get('User')!r}, expected 'steward'")
    health = config.get("Healthcheck")
    if not isinstance(health, dict) or not health.get("Test"):
        raise CheckFailed("the image has no HEALTHCHECK (built in OCI format? make image uses --format docker)")
    test = [str(part) for part in health["Test"]]
    if test[0] != "CMD":
        raise CheckFailed(f"HEALTHCHECK should be an exec form CMD, found {test}")
    if config.get("Cmd") != ["steward", "run"]:
        raise CheckFailed(f"the image's command is {config.get('Cmd')}, expected steward run")
    ok("image config: user steward, HEALTHCHECK, command `steward run`")
    return test[1:]


def site_packages(root: Path) -> Path:
    found = sorted(root.glob("opt/steward/lib/python3*/site-packages"))
    if not found:
        raise CheckFailed("no virtual environment in /opt/steward")
    return found[-1]


def source_files() -> list[Path]:
    """Every file of the packages, as `pip install .` must install them (code, migrations, catalogues).

    The files git tracks (a stray local file is not part of the source), else every file but bytecode.
    """
    tracked = subprocess.run(["git", "ls-files", "-z", *PACKAGES], cwd=ROOT, capture_output=True)
    if tracked.returncode == 0 and tracked.stdout:
        return [Path(name) for name in tracked.stdout.decode().split("\0") if name]
    return [path.relative_to(ROOT) for package in PACKAGES for path in sorted((ROOT / package).rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]


def check_files(root: Path) -> None:
    """Each source file is installed unchanged; the manifest sits in the working directory."""
    installed = site_packages(root)
    files = source_files()
    missing = [str(f) for f in files if not (installed / f).is_file()]
    if missing:
        raise CheckFailed(f"{len(missing)} file(s) of the source are not in the image: {', '.join(missing[:10])}")
    changed = [str(f) for f in files if (installed / f).read_bytes() != (ROOT / f).read_bytes()]
    if changed:
        raise CheckFailed(f"installed files differ from the source: {', '.join(changed[:10])}")
    if (root / "app/manifest.yml").read_bytes() != (ROOT / "manifest.yml").read_bytes():
        raise CheckFailed("/app/manifest.yml is not the repository's manifest.yml")
    migrations = len(list((ROOT / "storage/migrations/versions").glob("*.py")))
    ok(f"{len(files)} source files installed unchanged ({migrations} migrations, bot/locale/fr.po), "
       "/app/manifest.yml")


def check_no_build_tools(root: Path) -> None:
    """No compiler, linker, make or pip on any PATH directory of the image, and no pip cache or source tree."""
    bins = [d for d in ("usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin", "opt/steward/bin")
            if not (root / d).is_symlink()]  # /bin and /sbin are links into /usr on today's Debian
    found = [f"/{d}/{tool}" for d in bins for tool in BUILD_TOOLS if os.path.lexists(root / d / tool)]
    found += [f"/{p.relative_to(root)}" for d in bins if (root / d).is_dir()
              for p in (root / d).glob("*-linux-gnu-gcc*")]
    found += [f"/{p.relative_to(root)}" for p in site_packages(root).glob("pip")]
    found += [f"/{c}" for c in ("root/.cache/pip", "home/steward/.cache/pip", "src") if (root / c).exists()]
    if found:
        raise CheckFailed(f"build tools or leftovers in the image: {', '.join(found)}")
    ok("no compiler, linker, make or pip in the image; no pip cache, no source tree")


def check_version(ctr: Container) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    out = ctr.run(["steward", "--version"]).stdout.strip()
    if out != f"steward {version}":
        raise CheckFailed(f"`steward --version` printed {out!r}, expected 'steward {version}'")
    ok(f"`steward --version`: {out}")


def check_french(ctr: Container) -> None:
    """The French catalogue is read in the image: a message comes back translated."""
    msgid, expected = _a_translation()
    code = f"from bot.i18n import translator; print(translator('fr')({msgid!r}))"
    out = ctr.run(["python3", "-c", code]).stdout.rstrip("\n")
    if out != expected:
        raise CheckFailed(f"French translation in the image: got {out!r}, expected {expected!r}")
    ok(f"French catalogue read: {msgid!r} → {expected!r}")


def _a_translation() -> tuple[str, str]:
    """A one-line message of fr.po without placeholders, and its translation."""
    text = (ROOT / "bot/locale/fr.po").read_text(encoding="utf-8")
    for match in re.finditer(r'^msgid "(.+)"\nmsgstr "(.+)"$', text, re.MULTILINE):
        msgid, msgstr = match.groups()
        if "{" not in msgid and "\\" not in msgid + msgstr and msgid != msgstr:
            return msgid, msgstr
    raise CheckFailed("no simple message in bot/locale/fr.po to check the catalogue with")


def head_revision(ctr: Container) -> str:
    return ctr.run(["python3", "-c", "from app.cli_db import head_revision; print(head_revision())"]).stdout.strip()


def mount_data_dir(ctr: Container, workdir: Path) -> Path:
    """A folder of the machine as the image's data volume (/var/lib/steward), as an operator's volume.

    A new volume takes the owner of the image's folder: the image must give it to the steward user.
    """
    image_dir = (ctr.root / "var/lib/steward").stat()
    if image_dir.st_uid != ctr.uid:
        raise CheckFailed(f"/var/lib/steward belongs to uid {image_dir.st_uid} in the image, not to steward")
    data = workdir / "data"
    data.mkdir()
    os.chown(data, ctr.uid, image_dir.st_gid)
    ctr.volumes.append(f"{data}:/var/lib/steward")
    return data


def check_sqlite(ctr: Container, head: str, data: Path) -> None:
    """`steward db upgrade` creates the SQLite database in the data dir, owned by the steward user."""
    ctr.run(["steward", "db", "upgrade"])
    path = data / "steward.db"
    if not path.is_file():
        raise CheckFailed("`steward db upgrade` left no steward.db in the data volume /var/lib/steward")
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    if revision != head:
        raise CheckFailed(f"SQLite schema {revision}, expected {head}")
    owner = path.stat().st_uid
    if owner != ctr.uid or owner == 0:
        raise CheckFailed(f"steward.db belongs to uid {owner}, expected the steward user ({ctr.uid})")
    ok(f"`steward db upgrade` on SQLite: /var/lib/steward/steward.db at {head}, owned by steward")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new database on the machine's PostgreSQL, dropped afterwards; yields its URL."""
    name = f"steward_image_{os.getpid()}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], timeout=30)
    except (CheckFailed, FileNotFoundError) as err:
        raise CheckFailed(f"cannot create a PostgreSQL database through {PG_ADMIN} (psql, "
                          f"STEWARD_TEST_POSTGRES_ADMIN): {err}") from err
    try:
        yield f"{base}/{name}"
    finally:
        run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False, timeout=30)


def check_postgres(ctr: Container, head: str) -> None:
    with postgres_database() as url:
        ctr.run(["steward", "db", "upgrade"], env={"STEWARD_DATABASE_URL": url})
        revision = run(["psql", url, "-tAc", "SELECT version_num FROM alembic_version"]).stdout.strip()
        if revision != head:
            raise CheckFailed(f"PostgreSQL schema {revision!r}, expected {head}")
    ok(f"`steward db upgrade` on PostgreSQL ({PG_ADMIN.rsplit('/', 1)[0]}): schema at {head}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def descendants(pid: int) -> list[int]:
    """Processes below `pid` (buildah's chroot isolation shares the machine's process table)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def steward_process(pid: int) -> int:
    """The `steward run` process started by buildah run `pid`, inside the image's root (not buildah's own exec).

    Signals go to it directly, as a container runtime signals the container's main process: buildah run
    does not forward them (it kills its child).
    """
    for child in descendants(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            inside = os.readlink(f"/proc/{child}/root") != "/"
        except OSError:
            continue
        if inside and not argv[0].startswith(b"buildah") and argv[-2:] == [b"run", b""] \
                and any(part.endswith(b"/steward") for part in argv):
            return child
    raise CheckFailed("no `steward run` process under buildah run")


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def install_config(ctr: Container, workdir: Path) -> int:
    """A Matrix-only config whose homeserver is down, at the image's STEWARD_CONFIG; returns its http port."""
    port = free_port()
    config = workdir / "config.toml"
    config.write_text(f'[steward]\nhttp = "127.0.0.1:{port}"\n\n'
                      f'[matrix]\nhomeserver = "http://127.0.0.1:{free_port()}"\nuser_id = "@steward:localhost"\n\n'
                      '[[community]]\nslug = "k8s"\nname = "Kubernetes"\nchannels = ["matrix:!room:localhost"]\n')
    config.chmod(0o644)  # root's, readable by the steward user, as an operator's read-only mount
    ctr.copy(config, "/etc/steward/config.toml")
    return port


def check_run(ctr: Container, healthcheck: list[str], port: int, workdir: Path) -> None:
    """`steward run` (Matrix only, homeserver down) serves health on [steward] http as a non-root process."""
    log_path = workdir / "steward.log"
    with log_path.open("w") as log:
        child = subprocess.Popen(ctr.argv(["steward", "run"], {"MATRIX_PASSWORD": "pw"}),
                                 stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if child.poll() is not None:
                raise CheckFailed(f"`steward run` exited {child.returncode} before serving /healthz")
            try:
                if get(f"{base}/healthz") == (200, "ok\n"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise CheckFailed(f"/healthz did not answer within {START_TIMEOUT:.0f}s")
            time.sleep(0.5)
        ok(f"`steward run` in the image: GET /healthz → 200 ({time.monotonic() - deadline + START_TIMEOUT:.1f}s)")
        pid = steward_process(child.pid)
        uid = uid_of(pid)
        if uid == 0:
            raise CheckFailed("`steward run` runs as root in the image")
        ok(f"`steward run` runs as uid {uid} (not root)")
        while True:
            status, body = get(f"{base}/readyz")
            checks = json.loads(body).get("checks", {})
            if status == 200:
                break
            if time.monotonic() > deadline:
                raise CheckFailed(f"/readyz still {status}: {body}")
            time.sleep(0.5)
        if checks.get("adapter:matrix", {}).get("detail") != "retrying":
            raise CheckFailed(f"/readyz: expected the Matrix adapter retrying, found {body}")
        found = ", ".join(f"{name} {check['detail']}" for name, check in checks.items())
        ok(f"GET /readyz → 200: {found}")
        status, metrics = get(f"{base}/metrics")
        if status != 200 or "steward_events_waiting" not in metrics:
            raise CheckFailed(f"/metrics answered {status} without steward_events_waiting")
        ok("GET /metrics → 200, Prometheus text")
        health_env = {"STEWARD_HEALTH_URL": f"{base}/healthz"}
        if ctr.run(healthcheck, env=health_env, check=False).returncode != 0:
            raise CheckFailed(f"the image's HEALTHCHECK {healthcheck} failed while /healthz answers")
        down = {"STEWARD_HEALTH_URL": f"http://127.0.0.1:{free_port()}/healthz"}
        if ctr.run(healthcheck, env=down, check=False).returncode == 0:
            raise CheckFailed("the image's HEALTHCHECK passes with nothing listening")
        ok("the image's HEALTHCHECK passes against /healthz, fails with nothing listening")
        os.kill(pid, signal.SIGTERM)  # the image's STOPSIGNAL
        try:
            code = child.wait(timeout=30)
        except subprocess.TimeoutExpired as err:
            raise CheckFailed("`steward run` did not stop within 30s of SIGTERM") from err
        if code != 0 or "Traceback" in log_path.read_text():
            raise CheckFailed(f"`steward run` stopped with exit code {code} on SIGTERM")
        ok("SIGTERM stops `steward run` cleanly (exit 0, no traceback)")
    except CheckFailed as err:
        raise CheckFailed(f"{err}\n--- steward's log (last lines) ---\n"
                          + "\n".join(log_path.read_text().splitlines()[-30:])) from None
    finally:
        if child.poll() is None:
            for pid in descendants(child.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            child.kill()
            child.wait()


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    image = argv[0]
    ctr: Container | None = None
    try:
        healthcheck = check_config(image_config(image))
        ctr = Container(image)
        check_files(ctr.root)
        check_no_build_tools(ctr.root)
        check_version(ctr)
        check_french(ctr)
        head = head_revision(ctr)
        with tempfile.TemporaryDirectory(prefix="steward-image-") as workdir:
            port = install_config(ctr, Path(workdir))
            data = mount_data_dir(ctr, Path(workdir))
            check_sqlite(ctr, head, data)
            check_postgres(ctr, head)
            check_run(ctr, healthcheck, port, Path(workdir))
    except CheckFailed as err:
        print(f"✗ {err}", file=sys.stderr)
        return 1
    finally:
        if ctr is not None:
            ctr.remove()
    print(f"{image}: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
