"""The browser tests' kit: Playwright driving Debian's chromium against live_server.

Registered for every test by the root conftest.py (`pytest_plugins`), so a test
module only asks for `page` (or `browser`, `screenshot_dir`) by name, and signs
in with `sign_in`.

No browser is ever downloaded: the tests use the system chromium (override the
path with BOUNCEBACK_CHROMIUM). Without it they skip, except on CI (CI=true),
where a missing browser is a failure, not a silent skip.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bounceback.testing.factories import PASSWORD

CHROMIUM = os.environ.get("BOUNCEBACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(
    os.environ.get("BOUNCEBACK_SCREENSHOT_DIR")
    or Path(tempfile.gettempdir()) / "bounceback-screenshots"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"browser tests cannot run on CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API runs an asyncio loop on the test thread, which makes
    # Django refuse ORM calls from the test body unless this is set. It only
    # lifts that check; the live server still runs each request in its own thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(_allow_orm_beside_playwright: None) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"no chromium at {CHROMIUM} (install Debian's chromium package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh desktop-sized page; each test gets its own cookies."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


def sign_in(page: Any, username: str, *, password: str = PASSWORD, start: str = "/") -> None:
    """Sign in through the login form, reached from `start` (a page that asks for it)."""
    page.goto(start)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
