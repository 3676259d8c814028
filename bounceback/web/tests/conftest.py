"""The browser fixtures live in bounceback/testing/browser.py (a plugin of the root
conftest.py); they are named here too for test modules that still import them."""

from bounceback.testing.browser import (  # noqa: F401
    _allow_orm_beside_playwright,
    browser,
    page,
    screenshot_dir,
)
