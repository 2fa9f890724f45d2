"""The real dashboard in a real headless Chromium (Debian's, driven by Playwright; no browser download).

Walks a whole meeting: sign in, open the worklist, open a case, compare alternatives, try an override
without a rationale (refused), record it with one, export the PDF and the FHIR bundle and check them.
Screenshots of each step are saved in the test's output folder.
"""

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from workbench.config import Settings
from workbench.governance.roles import Actor, Role
from workbench.review.meetings import add_attendee, add_case, create_meeting
from workbench.review.worklist import suggest_cases
from workbench.scenario import ALTERNATIVE_LABELS
from workbench.setup import demo_password
from workbench.store.db import dispose_engine
from workbench.store.service import Workbench
from workbench.testing import CHROMIUM, CHROMIUM_ARGS, StreamlitServer, streamlit_server

pytestmark = pytest.mark.browser
RATIONALE = "Patient prefers a once-weekly injection and weight loss matters most to her"
SLOW = 90_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def meeting_home(fitted_home: Path) -> tuple[Path, str]:
    wb = Workbench(Settings(home=fitted_home, database_url=f"sqlite:///{fitted_home / 'var' / 'workbench.db'}"))
    chair = Actor("chair", Role.CHAIR)
    meeting = create_meeting(wb, chair, "Diabetes MDT", dt.date(2026, 3, 2), "Diabetes")
    add_attendee(wb, chair, meeting, "Dr Morgan Chair", "Diabetology")
    add_attendee(wb, chair, meeting, "Alex Pharmacist", "Pharmacy")
    pseudonym = suggest_cases(wb)[0]
    add_case(wb, chair, meeting, pseudonym, "Second-line therapy after metformin?")
    dispose_engine(wb.url)
    return fitted_home, pseudonym


@pytest.fixture
def server(meeting_home: tuple[Path, str]) -> Iterator[StreamlitServer]:
    home, _ = meeting_home
    with streamlit_server({"WORKBENCH_HOME": str(home)}, log_dir=home) as srv:
        yield srv


def _sign_in(page: Page, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(user)
    page.get_by_role("textbox", name="Password").fill(demo_password(user))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Patients (de-identified)")).to_be_visible(timeout=SLOW)


def test_when_signed_out_then_no_page_shows_patient_data(browser: Browser, server: StreamlitServer, meeting_home,
                                                        tmp_path: Path):
    _, pseudonym = meeting_home
    page = browser.new_page()
    for path in ("", "/meetings", "/case", "/decision", "/model", "/privacy", "/equity"):
        page.goto(server.url + path)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=SLOW)
        body = page.inner_text("body")
        assert pseudonym not in body and "PT-" not in body
    page.screenshot(path=str(tmp_path / "signed-out.png"))
    page.close()


def test_when_the_team_walks_a_meeting_then_the_override_is_recorded_and_exported(
    browser: Browser, server: StreamlitServer, meeting_home, tmp_path: Path
):
    from fhir.resources.R4B.bundle import Bundle
    from pypdf import PdfReader

    _, pseudonym = meeting_home
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    _sign_in(page, server.url, "chair")
    page.screenshot(path=str(shots / "01-home.png"))

    page.get_by_role("link", name="Meetings & worklist").click()
    expect(page.get_by_role("heading", name="Worklist", exact=True)).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("combobox", name="Open case")).to_have_value(
        f"{pseudonym}: Second-line therapy after metformin?", timeout=SLOW
    )
    page.screenshot(path=str(shots / "02-worklist.png"))

    page.get_by_role("button", name="Open case review").click()
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("table").get_by_text("90% interval").first).to_be_visible(timeout=SLOW)
    page.screenshot(path=str(shots / "03-case.png"), full_page=True)
    # Streamlit scrolls inside its own container, so a full-page shot stops at the fold: a tall window
    # shows the lower part of the page (details, the Record button) as well.
    page.set_viewport_size({"width": 1600, "height": 3400})
    page.screenshot(path=str(shots / "03b-case-whole.png"))
    for n, panel in enumerate(("Drivers", "Similar patients"), start=1):
        page.get_by_test_id("stButtonGroup").get_by_text(panel, exact=True).click()
        expect(page.locator(".js-plotly-plot").nth(1)).to_contain_text(
            "Why this estimate" if panel == "Drivers" else "most similar patients", timeout=SLOW
        )
        if panel == "Similar patients":  # the table of what they received and how they did, in words
            expect(page.get_by_role("table").get_by_text("Observed HbA1c change (mmol/mol)")).to_be_visible(
                timeout=SLOW
            )
        page.screenshot(path=str(shots / f"03{chr(ord('b') + n)}-case-{panel.lower().replace(' ', '-')}.png"))
    page.set_viewport_size({"width": 1600, "height": 1000})

    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Chosen alternative")).to_be_visible(timeout=SLOW)
    caption = page.get_by_text("The model's leading alternative is").inner_text()
    leading = next(label for label in ALTERNATIVE_LABELS.values() if label in caption)
    other = next(label for label in ALTERNATIVE_LABELS.values() if label != leading
                 and page.get_by_role("radiogroup").get_by_text(label, exact=True).count())
    page.get_by_role("radiogroup").get_by_text(other, exact=True).click()
    page.get_by_role("button", name="Sign and record").click()
    expect(page.get_by_text("requires a rationale")).to_be_visible(timeout=SLOW)
    page.screenshot(path=str(shots / "04-refused-without-rationale.png"), full_page=True)

    page.get_by_label("Rationale (required for an override)").fill(RATIONALE)
    page.get_by_role("button", name="Sign and record").click()
    expect(page.get_by_text("OVERRIDE of the model's leading")).to_be_visible(timeout=SLOW)
    # Signed: the form is gone (no second click can record a duplicate); a correction is asked for deliberately.
    expect(page.get_by_role("button", name="Sign and record")).to_have_count(0, timeout=SLOW)
    expect(page.get_by_text(RATIONALE)).to_have_count(1)  # only in the signed record, not left in a form
    page.screenshot(path=str(shots / "05-recorded.png"), full_page=True)

    with page.expect_download(timeout=SLOW) as pdf_download:
        page.get_by_role("button", name="Decision record (PDF)").click()
    pdf_path = tmp_path / "decision.pdf"
    pdf_download.value.save_as(pdf_path)
    with page.expect_download(timeout=SLOW) as fhir_download:
        page.get_by_role("button", name="FHIR R4 bundle (JSON)").click()
    fhir_path = tmp_path / "decision.fhir.json"
    fhir_download.value.save_as(fhir_path)
    page.screenshot(path=str(shots / "06-exported.png"), full_page=True)
    page.close()

    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(pdf_path).pages)
    assert other in text
    assert RATIONALE in text
    assert pseudonym in text
    bundle = json.loads(fhir_path.read_text())
    Bundle.model_validate(bundle)
    assert os.path.getsize(pdf_path) > 1000
