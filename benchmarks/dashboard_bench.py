"""Dashboard speed in a real browser on the 2,000-patient demo cohort (printed figures, not a test).

Measures, in headless Chromium (Debian's, driven by Playwright):
- first load of the case page (click on "Case review" until the comparison chart is drawn), after
  reading the home page for 5 s, and "cold": a new browser context (empty cache), signed in and
  straight to the case page, so the chart library's download and parse and the posterior warm-up
  fall inside the timing;
- switching patient (choose another pseudonym until that patient's comparison chart is drawn), median
  and 90th percentile over --switches patients;
and the same switch on a plain Streamlit page that draws one Plotly chart per selection, in the same
run, as the baseline of the ratio.

"Drawn" is the moment the chart's title naming the patient appears in the page's SVG, stamped inside
the page by a MutationObserver (``performance.now()``, from just before the click). Playwright's
``expect`` polls with a back-off that reaches 0.5 s after about 0.27 s of waiting, so the time at which
it returns is rounded up by as much as half a second; it is printed beside the stamped figure as
"polled" (what this benchmark reported before). "Page settled" is when the server says the page's run
(or fragment run) has finished (its ``script_finished`` message), not when the running indicator is
gone: the indicator appears only after a delay, so a fast run was counted as settled while its lower
panels were still arriving, and the next switch then waited for them.

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

from google.protobuf.message import DecodeError
from playwright.sync_api import Page, expect, sync_playwright
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

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


#: Installed in every page before its own scripts: stamps the first moment a Plotly chart title
#: containing a given text is in the document (titles are drawn by Plotly, so the chart is drawn).
DRAWN_OBSERVER = """
window.__drawn = {};
window.__watch = null;
new MutationObserver(() => {
  const value = window.__watch;
  if (value === null || value in window.__drawn) return;
  for (const title of document.querySelectorAll('.js-plotly-plot .gtitle')) {
    if (title.textContent.includes(value)) { window.__drawn[value] = performance.now(); return; }
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def _watch(page: Page, value: str) -> float:
    """Start watching for the chart naming ``value``; the page's clock (ms) at this moment."""
    return float(page.evaluate("v => { window.__watch = v; return performance.now(); }", value))


def _drawn_after(page: Page, value: str, start_ms: float) -> float:
    """Seconds from ``start_ms`` to the moment the page stamped the chart naming ``value``."""
    page.wait_for_function("v => v in window.__drawn", arg=value, polling=100, timeout=TIMEOUT)
    return (float(page.evaluate("v => window.__drawn[v]", value)) - start_ms) / 1000


class RunWatcher:
    """Counts the server's ``script_finished`` messages: a run (or fragment run) of the page has ended.

    Streamlit shows its running indicator only after a delay, so "no indicator" does not mean the run
    is over; the protocol message does. Runs cut short by a newer rerun are not counted.
    """

    def __init__(self, page: Page) -> None:
        self.finished = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        if not isinstance(payload, bytes):
            return
        try:
            message = ForwardMsg.FromString(payload)
        except DecodeError:
            return
        if message.WhichOneof("type") == "script_finished" and (
            message.script_finished != ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
        ):
            self.finished += 1

    def wait(self, page: Page, after: int) -> None:
        """Until a run that ended after the count ``after`` was taken (events arrive while Playwright waits)."""
        deadline = time.monotonic() + TIMEOUT / 1000
        while self.finished <= after:
            if time.monotonic() > deadline:
                raise TimeoutError("the page's run did not finish")
            page.wait_for_timeout(10)


def switch_times(
    page: Page, runs: RunWatcher, patients: list[str]
) -> tuple[list[float], list[float], list[float]]:
    """Seconds to the patient's comparison chart (stamped, polled), and to the page's run ending, per switch."""
    chart, polled, settled = [], [], []
    for value in patients:
        finished = runs.finished
        start_ms = _watch(page, value)
        start = time.perf_counter()
        _select(page, value)
        _wait_for_chart(page, value)
        polled.append(time.perf_counter() - start)
        chart.append(_drawn_after(page, value, start_ms))
        runs.wait(page, finished)
        settled.append(time.perf_counter() - start)
    return chart, polled, settled


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
            page.add_init_script(DRAWN_OBSERVER)
            runs = RunWatcher(page)
            page.goto(server.url)
            page.get_by_label("Username").fill("clinician")
            page.get_by_role("textbox", name="Password").fill(demo_password("clinician"))
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("Patients (de-identified)")).to_be_visible(timeout=TIMEOUT)
            page.wait_for_timeout(5000)  # sign-in starts the background warm-up, as a user would read the home page
            finished = runs.finished
            start_ms = _watch(page, patients[0])
            start = time.perf_counter()
            page.get_by_role("link", name="Case review").click()
            _wait_for_chart(page, patients[0])
            first_polled = time.perf_counter() - start
            first_load = _drawn_after(page, patients[0], start_ms)
            runs.wait(page, finished)
            first_settled = time.perf_counter() - start
            ours, ours_polled, ours_settled = switch_times(page, runs, patients[1:])
            page.close()
            # The same first load with nothing done beforehand: a new browser context (empty
            # HTTP cache, no session), sign in and go straight to the case page, so the chart
            # library's download and parse and the posterior warm-up all fall inside the timing.
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = context.new_page()
            page.add_init_script(DRAWN_OBSERVER)
            page.goto(server.url)
            page.get_by_label("Username").fill("clinician")
            page.get_by_role("textbox", name="Password").fill(demo_password("clinician"))
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("link", name="Case review").wait_for(timeout=TIMEOUT)
            start_ms = _watch(page, patients[0])
            page.get_by_role("link", name="Case review").click()
            _wait_for_chart(page, patients[0])
            cold_load = _drawn_after(page, patients[0], start_ms)
            context.close()
        plain_app = PROJECT_ROOT / "benchmarks" / "plain_streamlit_app.py"
        with streamlit_server({}, log_dir=home, script=plain_app) as server:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.add_init_script(DRAWN_OBSERVER)
            plain_runs = RunWatcher(page)
            page.goto(server.url)
            _wait_for_chart(page, "ITEM-0000")
            plain, plain_polled, _ = switch_times(
                page, plain_runs, [f"ITEM-{i:04d}" for i in range(1, len(patients))]
            )
            page.close()
        browser.close()
    load_after = os.getloadavg()
    med, med_plain = statistics.median(ours), statistics.median(plain)
    p90 = statistics.quantiles(ours, n=10)[-1] if len(ours) >= 10 else max(ours)
    print(f"case page first load:            {first_load:6.2f} s   (target < 3 s)  page settled {first_settled:.2f} s")
    print(f"  cold (new context, no pause):  {cold_load:6.2f} s   signed in, straight to the case page")
    print(f"switch patient, median:          {med:6.2f} s   (target < 1 s)  p90 {p90:.2f} s  n={len(ours)}")
    print(f"switch patient, page settled:    {statistics.median(ours_settled):6.2f} s   median")
    print(f"plain Streamlit + Plotly switch: {med_plain:6.2f} s")
    print(f"ratio ours / plain (median):     {med / med_plain:6.2f}x")
    print(
        f"polled (expect, 0.5 s back-off): first load {first_polled:.2f} s, switch median "
        f"{statistics.median(ours_polled):.2f} s, plain {statistics.median(plain_polled):.2f} s"
    )
    print(
        "load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f} on {} cores".format(
            *load_before, *load_after, os.cpu_count()
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
