"""The real dashboard in a real headless Chromium (Debian's, driven by Playwright; no browser download)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from workbench.testing import CHROMIUM, CHROMIUM_ARGS, StreamlitServer, streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    home = tmp_path_factory.mktemp("home")
    with streamlit_server({"WORKBENCH_HOME": str(home)}, log_dir=home) as srv:
        yield srv


def test_when_home_page_is_opened_then_it_renders_the_deployment(
    browser: Browser, server: StreamlitServer, tmp_path: Path
):
    page = browser.new_page()
    page.goto(server.url)
    page.get_by_text("Case Review Workbench").first.wait_for(timeout=30_000)
    page.get_by_text("Patients (de-identified)").wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "home.png"))
    assert page.get_by_text("Schema revision").count() >= 1
    page.close()
