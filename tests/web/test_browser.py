"""In a real browser: Debian's Chromium, driven by Playwright (nothing downloaded: `executable_path`), against a
real `steward web --community demo` process. Sign in through the link it prints, read the health page, switch to
French, open the portfolio — no console error, no failed request; a member (signed in through the link
`dashboard` sends in chat) cannot open a coordinator's page or another community's.

Skipped when Chromium or Playwright is missing, unless STEWARD_REQUIRE_BROWSER=1 (CI sets it: .ci/run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date

from tests.conftest import BACKEND, create_pg_database, drop_pg_database
from tests.crash.processes import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _available() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


_why = _available()
if _why and os.environ.get("STEWARD_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"browser tests required: {_why}")
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    environment["STEWARD_DATA_DIR"] = str(tmp_path / "data")
    config = tmp_path / "steward.toml"
    config.write_text('[[community]]\nslug = "ops"\nname = "Ops guild"\nchannels = ["console:ops"]\n')
    environment["STEWARD_CONFIG"] = str(config)
    if BACKEND == "postgres":
        url = create_pg_database("steward_web")
        environment["STEWARD_DATABASE_URL"] = url.replace("+asyncpg", "")
        yield environment
        drop_pg_database(url)
    else:
        yield environment


class Served:
    """A running `steward web --community demo`: its address and the operator's one-time link."""

    def __init__(self, process: subprocess.Popen[str], base: str, link: str) -> None:
        self.process, self.base, self.link = process, base, link


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[Served]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "app", "web", "--community", "demo", "--http",
                                f"127.0.0.1:{port}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("http://"):
                found.append(line.strip())
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(180) and found, process.stderr.read() if process.stderr else ""
        yield Served(process, f"http://127.0.0.1:{port}", found[0])
    finally:
        process.terminate()
        code = process.wait(30)
        assert process.stderr is not None and process.stdout is not None
        errors = process.stderr.read()
        process.stderr.close()
        process.stdout.close()
    assert code == 0 and "Traceback" not in errors and "ERROR" not in errors, errors


def member_link(env: dict[str, str], user: str) -> str:
    """The path of the link Steward sends `user` in chat when they say `dashboard` (the terminal's chat)."""
    done = subprocess.run([sys.executable, "-m", "app", "chat", "--community", "demo", "--as", user],
                          input="dashboard\n", capture_output=True, text=True, env=env, timeout=120, check=False)
    found = re.search(r"/web/signin/[\w-]+", done.stdout)
    assert found is not None, done.stdout + done.stderr
    return found.group(0)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


class Watched:
    """A page whose console errors and failed requests are kept, to say at the end that there were none."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        page.on("requestfailed", lambda req: self.failed.append(f"{req.url} {req.failure}"))
        page.on("response", lambda res: self.failed.append(f"{res.url} {res.status}") if res.status >= 400 else None)


async def _sign_in(watched: Watched, url: str) -> None:
    page = watched.page
    await page.goto(url)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/web/c/demo/$"))


async def test_sign_in_read_the_health_page_switch_to_french_open_the_portfolio(served: Served, browser: Any) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(locale="en-US")
    watched = Watched(await context.new_page())
    page = watched.page
    await _sign_in(watched, served.link)
    await expect(page.locator("h1")).to_have_text("Platform engineering CoP (demo): community health")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    people = page.get_by_role("table").filter(has_text="Active members, core and periphery")
    last = _last_month()  # the demo's history ends with the month before today's
    row = people.get_by_role("row").filter(has_text=format_date(last, "MMM yyyy", locale="en"))
    await expect(row).to_contain_text(re.compile(r"\b[1-9]\d*\b"))  # the demo's members were active that month
    assert await page.locator("svg[role=img]").count() == 5  # people, questions, kudos across teams, meetups, pulse
    teams = page.get_by_role("table").filter(has_text="Each team in")
    await expect(teams.get_by_role("row").filter(has_text="Platform").get_by_role("cell").first).to_have_text("3")
    await page.get_by_label("Language").select_option("fr")
    await page.get_by_role("button", name="Change language").click()
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.locator("h1")).to_have_text("Platform engineering CoP (demo)\u00a0: santé de la communauté")
    await page.get_by_role("link", name="Portefeuille").click()
    await expect(page.locator("h1")).to_have_text(f"Portefeuille\u00a0: {format_date(last, 'LLLL yyyy', locale='fr')}")
    rows = page.get_by_role("table").get_by_role("row")
    await expect(rows.filter(has_text="Platform engineering CoP (demo)")).to_have_count(1)
    await expect(rows.filter(has_text="Ops guild")).to_have_count(1)  # the operator sees every community
    await page.get_by_role("link", name="membres actifs").click()
    await expect(page).to_have_url(re.compile(r"sort=active"))
    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page.locator("h1")).to_have_text("Déconnecté")
    await context.close()
    assert watched.errors == [] and watched.failed == []


def _last_month() -> date:
    return date.today().replace(day=1) - timedelta(days=1)


async def test_a_member_cannot_open_a_coordinators_or_another_communitys_page(
        served: Served, env: dict[str, str], browser: Any) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(locale="en-US")
    watched = Watched(await context.new_page())
    page = watched.page
    await _sign_in(watched, served.base + member_link(env, "ana"))
    await expect(page.locator("h1")).to_have_text("Platform engineering CoP (demo): community health")
    nav = page.get_by_role("navigation")
    await expect(nav.get_by_role("link", name="Portfolio")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Digest archive")).to_have_count(0)
    assert watched.errors == [] and watched.failed == []
    refused = {"/web/portfolio": 403, "/web/c/demo/digests": 403, f"/web/c/demo/digests/{_last_month():%Y-%m}": 403,
               "/web/c/ops/": 404, "/web/c/ops/rituals": 404}
    for path, status in refused.items():
        response = await page.goto(served.base + path)
        assert response is not None and response.status == status, path
        await expect(page.locator("h1")).to_have_text("Not allowed" if status == 403 else "Not found")
        await expect(page.locator("main")).not_to_contain_text("Ops guild")
    await page.goto(served.base + "/web/me")
    await expect(page.locator("h1")).to_have_text("Me")
    await context.close()
    assert all(f" {s}" in f for f, s in zip(watched.failed, refused.values(), strict=True)), watched.failed
    assert len(watched.errors) == len(refused)  # each refusal's own status line, nothing else
