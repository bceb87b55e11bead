"""Browser tests: a real gateway + converter (child processes) and Debian's headless Chromium.

Playwright for Python drives `/usr/bin/chromium` through `executable_path`; Playwright's own
browser download is never used (`make test` installs the Debian package when it is missing).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from tests.conftest import unavailable
from tests.integration._processes import ServiceProcess, free_port, service_env, wait_http_ok

CHROMIUM = Path(os.environ.get("ACX_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT_KEY = "sk-ac-your-root-api-bearer-token"
# Generous waits: a loaded 2-core machine can take seconds to answer; a passing test never waits them out.
ACTION_TIMEOUT_MS = 15_000
expect.set_options(timeout=ACTION_TIMEOUT_MS)


@dataclass
class Gateway:
    """The running services, and an HTTP client acting as "another client" of the same project."""

    base_url: str
    http: httpx.Client

    @property
    def ui_url(self) -> str:
        return f"{self.base_url}/ui/"


@pytest.fixture(scope="package")
def gateway(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Gateway and converter processes on free ports, for the browser tests.

    Package scope: they share the session's databases, so they must be gone before other test
    packages run (a second converter would convert what those tests expect to stay pending).
    """
    logs = tmp_path_factory.mktemp("e2e-logs")
    for _attempt in range(2):  # another process may take the free port before the gateway binds it
        port = free_port()
        env = service_env(database_url, redis_url, port)
        gateway_process = ServiceProcess("acx_gateway", env, logs / f"gateway-{port}.log")
        try:
            wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc=gateway_process.start())
            break
        except (RuntimeError, TimeoutError):
            gateway_process.stop()
    else:
        pytest.fail(f"gateway did not start:\n{gateway_process.log_tail()}")
    worker = ServiceProcess("acx_converter", env, logs / "converter.log")
    worker.start()
    base_url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {ROOT_KEY}"}
    with httpx.Client(base_url=f"{base_url}/api/v1", headers=headers, timeout=30) as http:
        yield Gateway(base_url, http)
    worker.stop()
    gateway_process.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for these tests (each test gets its own context).

    Package scope, not session: Playwright's sync API keeps an event loop running in this thread
    while it is open, and the pytest-asyncio tests of other packages could not start theirs.
    """
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (make test installs Debian's chromium package)")
    with sync_playwright() as playwright:
        # launch() gives Chromium a new, empty --user-data-dir of its own: no state from earlier runs.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class BrowserPage:
    """A page plus everything it reported on its console (CSP violations show up there)."""

    page: Page
    console_errors: list[str]


@pytest.fixture
def context(browser: Browser, gateway: Gateway) -> Iterator[BrowserContext]:
    """A fresh browser context (own sessionStorage), allowed to use the clipboard."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.base_url)
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def ui(context: BrowserContext) -> Iterator[BrowserPage]:
    """A page whose console errors and uncaught exceptions are collected; none may occur."""
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    yield BrowserPage(page, errors)
    page.close()
