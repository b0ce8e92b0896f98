import os
import sys
from pathlib import Path

from course_lib.threads import single_thread_env

os.environ.update(single_thread_env(headless=True))  # before torch is imported
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Debian Chromium per test process, shared by the browser tests (Playwright's sync API
    runs one instance per thread: a second ``sync_playwright()`` in the same process would fail)."""
    from playwright.sync_api import sync_playwright

    from test_browser import CHROMIUM, CHROMIUM_ARGS, _ensure_browser

    _ensure_browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
