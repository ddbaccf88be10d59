"""Screenshots of the web pages for the README: `python scripts/web_screenshots.py` (Debian's chromium and
Playwright, as the browser tests use them). Starts `steward web --community demo` on a scratch database, signs in
with the link it prints, and writes docs/web/*.png."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "web"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAGES = [("health", "/web/c/demo/?month=2026-10", "en"), ("health-fr", "/web/c/demo/?month=2026-10", "fr"),
         ("digest", "/web/c/demo/digests/2026-10", "en"), ("portfolio", "/web/portfolio?month=2026-10", "en")]


async def shoot(base: str, link: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = await (await browser.new_context(viewport={"width": 1000, "height": 800})).new_page()
        await page.goto(link)
        await page.get_by_role("button", name="Sign in").click()
        for name, path, lang in PAGES:
            await page.goto(base + path)
            if await page.locator("html").get_attribute("lang") != lang:
                await page.get_by_label("Language" if lang == "fr" else "Langue").select_option(lang)
                await page.locator("form[action='/web/language'] button").click()
            await page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
        await browser.close()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as data:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}, "STEWARD_DATA_DIR": data}
        server = subprocess.Popen([sys.executable, "-m", "app", "web", "--community", "demo", "--http",
                                   f"127.0.0.1:{port}"], env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            assert server.stdout is not None
            link = next(line.strip() for line in server.stdout if line.startswith("http://"))
            asyncio.run(shoot(f"http://127.0.0.1:{port}", link))
        finally:
            server.terminate()
            server.wait(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
