"""Browser tests: Playwright for Python driving Debian's Chromium against the live server ./test started."""
import os
import pathlib
import uuid

import pytest
from playwright.sync_api import sync_playwright

BASE_URL = os.environ.get("E2E_BASE_URL", "http://127.0.0.1:38002")
ADMIN_USER = os.environ.get("E2E_ADMIN_USER", "e2e-admin")
ADMIN_PASSWORD = os.environ.get("E2E_ADMIN_PASSWORD", "")
SCREENSHOTS = pathlib.Path(__file__).resolve().parent.parent / "test-results" / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def context(browser):
    context = browser.new_context(base_url=BASE_URL, viewport={"width": 1366, "height": 768}, locale="fr-FR")
    yield context
    context.close()


@pytest.fixture()
def page(context):
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page


def log_in(page, username, password):
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def screenshot(page, name):
    """Every page visited is captured at laptop and phone sizes, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(SCREENSHOTS / f"{name}-1366.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(size)


@pytest.fixture()
def unique():
    return uuid.uuid4().hex[:8]
