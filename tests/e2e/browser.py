"""The console in a real browser: Chromium driven by Playwright against the local stack.

The browser is the one installed on the machine (`make test` installs Debian's `chromium` when it is
missing); Playwright never downloads one. `PROACTIVE_CHROMIUM` names another executable. Nothing the
pages load may come from anywhere but the stack: every request elsewhere is refused and recorded,
and `Console.outside` must stay empty.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route

from tests.localstack import LOOPBACK_TLS

SCREENSHOTS = Path(
    os.environ.get("CONSOLE_SCREENSHOTS") or Path(__file__).parents[2] / "build" / "screenshots"
)
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# Off the machine's closed network: no background requests, no component or sync updates.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
]


def chromium_path() -> str:
    """The Chromium (or Chrome) to drive: $PROACTIVE_CHROMIUM, else the first one installed."""
    named = os.environ.get("PROACTIVE_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "no Chromium or Chrome is installed: `make test` installs Debian's chromium package (as root); "
        "elsewhere install one, or name it in PROACTIVE_CHROMIUM"
    )


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=FLAGS)


@dataclass
class Console:
    """A signed-in browser tab on the stack's console, and the API as the same person."""

    page: Page
    context: BrowserContext
    base_url: str
    workspace: str
    api: httpx.Client
    outside: list[str] = field(default_factory=list)

    def url(self, section: str = "") -> str:
        """The address of a part of the console in the workspace (`runs/run_1`)."""
        return f"{self.base_url}/console/{self.workspace}/{section}"

    def open(self, section: str = "") -> Page:
        self.page.goto(self.url(section))
        return self.page

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def accessibility_violations(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 AA)."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated by the browser's debugging protocol, which the page's policy does not govern.
            self.page.evaluate(AXE.read_text())
        result = self.page.evaluate(
            """async () => {
                const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
                const found = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return found.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.html)}));
            }"""
        )
        return [v for v in result if v["impact"] in ("serious", "critical")]


def sign_in(browser: Browser, base_url: str, token: str, workspace: str) -> Console:
    """A fresh browser context signed in through a one-time link, as a person would be."""
    api = httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=LOOPBACK_TLS
    )
    link = api.post("/api/workspace/login-links")
    link.raise_for_status()
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    console = Console(
        page=context.new_page(), context=context, base_url=base_url, workspace=workspace, api=api
    )

    def guard(route: Route) -> None:
        if route.request.url.startswith(base_url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            console.outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    console.page.goto(link.json()["url"])
    console.page.get_by_role("button", name="Continue").click()
    console.page.wait_for_url(f"{base_url}/console/{workspace}/**")
    return console
