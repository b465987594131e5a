"""A live site for the browser: `beras-grader serve` (uvicorn) on 127.0.0.1 over PostgreSQL with the embedded
queue grading in the local sandbox, seeded with beras-mlp and four people; and headless Chromium via
Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from grader.runtime import Runtime
from grader.service.releases import publish
from grader.service.users import add_user
from grader.settings import Settings
from tests.grading.conftest import ASSIGNMENTS, REFERENCE, REPO, require, require_local_sandbox
from tests.service.processes import Postgres, Service, free_port, wait_healthy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Screenshots of the main pages: kept after the run as the suite's artifacts.
ARTIFACTS = Path(os.environ.get("BERAS_ARTIFACTS", REPO / "build" / "test-artifacts")) / "screenshots"
PEOPLE = (("ann", "student"), ("ben", "student"), ("cy", "student"), ("tom", "ta"), ("ida", "instructor"))


class LiveSite:
    def __init__(self, url: str, runtime: Runtime, tokens: dict[str, str], folder: Path) -> None:
        self.url, self.runtime, self.tokens, self.folder = url, runtime, tokens, folder


@pytest.fixture(scope="module")
def live_site(tmp_path_factory, mlp_release):
    if not CHROMIUM.exists():
        require("Chromium", f"{CHROMIUM} is missing (apt install chromium chromium-driver)")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        require("PostgreSQL", "no PostgreSQL server binaries")
    require_local_sandbox()
    folder = tmp_path_factory.mktemp("live")
    assignments = folder / "assignments"  # the gate writes nothing here, but a TA's settings edit would
    shutil.copytree(ASSIGNMENTS, assignments, ignore=shutil.ignore_patterns("__pycache__"))
    postgres = Postgres(folder / "pg").init()
    port = free_port()
    env = {**os.environ, "GRADER_DATABASE_URL": postgres.url, "GRADER_DATA_DIR": str(folder / "data"),
           "GRADER_SANDBOX": "local", "GRADER_ASSIGNMENTS_DIR": str(assignments),
           "GRADER_REFERENCE": str(REFERENCE),
           "GRADER_EMBEDDED_WORKERS": "2", "GRADER_RECONCILE_EVERY_S": "1"}
    env.pop("GRADER_BROKER_URL", None)
    server = Service(["serve", "--host", "127.0.0.1", "--port", str(port)], env, folder / "serve.log").start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(f"{url}/healthz", timeout=90)
        runtime = Runtime(Settings(database_url=postgres.url, data_dir=folder / "data",
                                   assignments_dir=assignments, reference=REFERENCE))
        tokens = {}
        with runtime.sessions() as session:
            publish(session, runtime.blobs, *mlp_release)
            for who, role in PEOPLE:
                tokens[who] = add_user(session, f"{who}@course.edu", role, who.capitalize())[1]
        yield LiveSite(url, runtime, tokens, folder)
    finally:
        server.stop()
        postgres.stop()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def sign_in(page, site: LiveSite, who: str) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#token", site.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.inner_text("main")


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
