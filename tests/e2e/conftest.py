"""The browser tests' shared fixtures: Debian's Chromium driven by Playwright, and where
screenshots go.

Without Chromium, the Playwright package, the built desktop and widget or axe-core a test
that asks for ``chromium`` skips, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import require_service
from tests.e2e.support import APP_INDEX, AXE, CHROMIUM, WIDGET

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - reported by require_service below
    async_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.async_api import Browser


@pytest.fixture
def chromium() -> Path:
    require_service(async_playwright is not None, "the playwright package is not installed")
    require_service(CHROMIUM.is_file(), f"{CHROMIUM} is missing (apt-get install chromium)")
    require_service(APP_INDEX.is_file(), f"{APP_INDEX} is not built (make frontend)")
    require_service(WIDGET.is_file(), f"{WIDGET} is not built (make widget)")
    require_service(AXE.is_file(), f"{AXE} is missing (make frontend installs it)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """``$E2E_SCREENSHOTS_DIR`` when set (``docs/screenshots`` for the README), else the
    test's temporary directory."""
    wanted = os.environ.get("E2E_SCREENSHOTS_DIR")
    folder = Path(wanted) if wanted else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
