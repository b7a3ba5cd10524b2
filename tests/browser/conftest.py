"""One headless Chromium for the session (Debian's, driven by Playwright); each test opens its own contexts.

The browser tests fail rather than skip when Chromium or Playwright is missing: scripts/setup.sh installs
both, so on a machine it set up (CI) their absence is a fault. Deselect them with ``-m "not browser"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.pages import ChromiumMissing, find_chromium, launch


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"the browser tests need Playwright: pip install -e '.[dev]' (scripts/setup.sh does) ({exc}); "
                    "or deselect them with -m 'not browser'")
    try:
        executable = find_chromium()
    except ChromiumMissing as exc:
        pytest.fail(f"the browser tests need Chromium: {exc}; or deselect them with -m 'not browser'")
    with sync_playwright() as playwright:
        chromium = launch(playwright, executable)
        yield chromium
        chromium.close()
