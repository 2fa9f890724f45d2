"""Dashboard speed in a real browser on the 2,000-patient demo cohort (printed figures, not a test).

Measures, in headless Chromium (Debian's, driven by Playwright):
- first load of the case page (click on "Case review" until the comparison chart is drawn);
- switching patient (choose another pseudonym until that patient's comparison chart is drawn), median
  and 90th percentile over --switches patients;
and the same switch on a plain Streamlit page that draws one Plotly chart per selection, in the same
run, as the baseline of the ratio.

Usage: python benchmarks/dashboard_bench.py [--home DIR] [--switches 15]
Without --home, a deployment is created in a temporary folder with `workbench init --demo` (2,000
patients, de-identified import and model fits: several minutes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from workbench.config import Settings
from workbench.review.worklist import suggest_cases
from workbench.setup import demo_password, initialise
from workbench.store.service import Workbench
from workbench.testing import CHROMIUM, CHROMIUM_ARGS, PROJECT_ROOT, streamlit_server

TIMEOUT = 120_000


def _select(page: Page, value: str) -> None:
    box = page.get_by_role("combobox", name="Patient")
    box.click()
    box.fill(value)
    page.keyboard.press("Enter")


def _wait_for_chart(page: Page, value: str) -> None:
    """The comparison chart is drawn for this patient (its title names the pseudonym)."""
    expect(page.locator(".js-plotly-plot", has_text=value).first).to_be_visible(timeout=TIMEOUT)


def _wait_for_page(page: Page) -> None:
    """The whole page has finished its run (Streamlit's running indicator is gone)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT
    )


def switch_times(page: Page, patients: list[str]) -> tuple[list[float], list[float]]:
    """Seconds to the patient's comparison chart, and to the whole page settled, per switch."""
    chart, settled = [], []
    for value in patients:
        start = time.perf_counter()
        _select(page, value)
        _wait_for_chart(page, value)
        chart.append(time.perf_counter() - start)
        _wait_for_page(page)
        settled.append(time.perf_counter() - start)
    return chart, settled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing deployment home with the demo cohort")
    parser.add_argument("--switches", type=int, default=15)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="workbench-bench-"))
    wb = Workbench(Settings(home=home, database_url=f"sqlite:///{home / 'var' / 'workbench.db'}"))
    if args.home is None:
        print("creating the demo deployment (2,000 patients)...", flush=True)
        for line in initialise(wb, demo=True):
            print(" ", line)
    load_before = os.getloadavg()
    patients = suggest_cases(wb, limit=args.switches + 1)
    print(f"deployment: {home} ({len(suggest_cases(wb, limit=5000))} reviewable patients)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with streamlit_server({"WORKBENCH_HOME": str(home)}, log_dir=home) as server:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(server.url)
            page.get_by_label("Username").fill("clinician")
            page.get_by_role("textbox", name="Password").fill(demo_password("clinician"))
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("Patients (de-identified)")).to_be_visible(timeout=TIMEOUT)
            page.wait_for_timeout(5000)  # sign-in starts the background warm-up, as a user would read the home page
            start = time.perf_counter()
            page.get_by_role("link", name="Case review").click()
            _wait_for_chart(page, patients[0])
            first_load = time.perf_counter() - start
            _wait_for_page(page)
            first_settled = time.perf_counter() - start
            ours, ours_settled = switch_times(page, patients[1:])
            page.close()
        plain_app = PROJECT_ROOT / "benchmarks" / "plain_streamlit_app.py"
        with streamlit_server({}, log_dir=home, script=plain_app) as server:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(server.url)
            _wait_for_chart(page, "ITEM-0000")
            plain, _ = switch_times(page, [f"ITEM-{i:04d}" for i in range(1, len(patients))])
            page.close()
        browser.close()
    load_after = os.getloadavg()
    med, med_plain = statistics.median(ours), statistics.median(plain)
    p90 = statistics.quantiles(ours, n=10)[-1] if len(ours) >= 10 else max(ours)
    print(f"case page first load:            {first_load:6.2f} s   (target < 3 s)  page settled {first_settled:.2f} s")
    print(f"switch patient, median:          {med:6.2f} s   (target < 1 s)  p90 {p90:.2f} s  n={len(ours)}")
    print(f"switch patient, page settled:    {statistics.median(ours_settled):6.2f} s   median")
    print(f"plain Streamlit + Plotly switch: {med_plain:6.2f} s")
    print(f"ratio ours / plain (median):     {med / med_plain:6.2f}x")
    print(
        "load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f} on {} cores".format(
            *load_before, *load_after, os.cpu_count()
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
