"""A real headless Chromium for browser tests: Debian's package, driven by Playwright.

The test's own setup installs ``chromium`` with apt when it is missing (as root);
Playwright drives it through ``executable_path``, so no browser is downloaded.
The flags keep it off the network, which this machine does not have.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from debian import ensure_package

__all__ = ["chromium", "SCREENSHOTS"]

# where browser tests leave their screenshots (ignored by git)
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"
_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage"]


def _executable() -> str:
    return ensure_package("chromium", lambda: shutil.which("chromium"))


@contextlib.contextmanager
def chromium():
    """A Playwright browser (headless Debian Chromium); closed afterwards."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_executable(), headless=True,
                                             args=_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
