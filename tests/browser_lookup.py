"""Find a real Chromium-family browser for the browser test, on any Linux.

Order: $LENET_CHROMIUM, then `chromium`, `chromium-browser`, `google-chrome` (also -stable) on PATH,
then playwright's own managed browser if one was installed. On Ubuntu the `chromium-browser` apt
package is only a stand-in for the snap; `chromium` from Debian, Google Chrome, or playwright's
browser all work. Use from tests/test_browser.py: `CHROMIUM = browser_lookup.chromium_or_skip()`.
"""
import os
import shutil
from pathlib import Path

import pytest

NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']
FIX = ('install one: `sudo apt-get install chromium` (Debian, or `make test`, which does it), '
       'Google Chrome, or playwright\'s own: `python -m playwright install chromium`')


def is_snap_stub(path):
    """Ubuntu's chromium-browser deb only tells you to install the snap."""
    try:
        head = Path(path).read_bytes()[:4096]
    except OSError:
        return True
    return head.startswith(b'#!') and b'snap' in head and b'install' in head


def playwright_browser():
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).is_file() else None


def find_chromium(which=shutil.which, managed=playwright_browser):
    """The path of a usable browser, or None."""
    explicit = os.environ.get('LENET_CHROMIUM')
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in NAMES:
        path = which(name)
        if path and not is_snap_stub(path):
            return path
    return managed()


def chromium_or_skip():
    """A browser path; without one, fail in CI (CI=true) and skip elsewhere, saying how to fix it."""
    path = find_chromium()
    if path:
        return path
    explicit = os.environ.get('LENET_CHROMIUM')
    reason = (f'LENET_CHROMIUM={explicit} is not a file' if explicit else
              f'no browser found ({", ".join(NAMES)} or playwright\'s)') + f'; {FIX}'
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
