"""The e2e fixtures: the real local stack (`python -m local`) and headless
Debian Chromium driven by Playwright (no browser download, ever)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.local import stack as stack_mod

CHROMIUM = Path(os.environ.get("CLINIC_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    # A few demo animals so the list (and its screenshot) looks like a clinic's.
    stack = stack_mod.start(tmp_path_factory.mktemp("e2e-state"), "--seed", "8")
    yield stack
    assert stack.stop() == 0  # asserts that no child process is left


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's 'chromium' package (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
