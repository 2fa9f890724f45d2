"""Every page under Streamlit's AppTest, signed in, against a real SQLite deployment with real model runs."""

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.config import Settings
from workbench.governance.roles import Actor, Role
from workbench.governance.users import sign_in
from workbench.review.meetings import add_attendee, add_case, create_meeting
from workbench.review.worklist import suggest_cases
from workbench.scenario import ALTERNATIVE_LABELS
from workbench.setup import demo_password
from workbench.store.service import Workbench

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


def _wb(home: Path) -> Workbench:
    return Workbench(Settings(home=home, database_url=f"sqlite:///{home / 'var' / 'workbench.db'}"))


@pytest.fixture
def app_home(fitted_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORKBENCH_HOME", str(fitted_home))
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    monkeypatch.chdir(ROOT)
    return fitted_home


def _app(home: Path, username: str | None, page: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if username:
        at.session_state["auth_token"] = sign_in(_wb(home), username, demo_password(username)).token
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def _meeting(home: Path) -> tuple[int, int]:
    wb = _wb(home)
    chair = Actor("chair", Role.CHAIR)
    meeting_id = create_meeting(wb, chair, "Diabetes MDT", dt.date(2026, 3, 2), "Diabetes")
    add_attendee(wb, chair, meeting_id, "Dr Morgan Chair", "Diabetology")
    case_id = add_case(wb, chair, meeting_id, suggest_cases(wb)[0], "Second-line therapy after metformin?")
    return meeting_id, case_id


def test_when_signed_out_then_only_the_sign_in_form_shows(app_home):
    at = _app(app_home, None)
    assert not at.exception
    assert at.text_input(key="sign_in_username") is not None
    assert not at.metric


def test_when_signing_in_with_the_form_then_home_shows_the_cohort(app_home):
    at = _app(app_home, None)
    at.text_input(key="sign_in_username").set_value("clinician")
    at.text_input(key="sign_in_password").set_value(demo_password("clinician"))
    at.button[0].click().run()
    assert not at.exception
    assert at.metric[0].value == "40"


def test_when_both_outcomes_have_approved_runs_then_home_names_each(app_home):
    at = _app(app_home, "chair", "pages/home.py")
    assert not at.exception
    runs = [line for m in at.markdown for line in m.value.splitlines() if "Model run" in line]
    assert len(runs) == 2, runs  # the glycaemic and the adverse-event run the case pages use
    assert any("HbA1c" in r for r in runs) and any("adverse" in r.lower() for r in runs), runs
    # the same wording as the case page (workbench.review.run_quality), and the data behind the estimates
    assert all(("diagnostics passed" in r) != ("DIAGNOSTICS FAILED" in r or "APPROXIMATE" in r) for r in runs)
    assert at.get("plotly_chart")


def test_when_wrong_password_then_sign_in_is_refused(app_home):
    at = _app(app_home, None)
    at.text_input(key="sign_in_username").set_value("clinician")
    at.text_input(key="sign_in_password").set_value("guess")
    at.button[0].click().run()
    assert "wrong password" in at.error[0].value
    assert not at.metric


def test_when_the_chair_creates_a_meeting_then_it_is_listed(app_home):
    at = _app(app_home, "chair", "pages/meetings.py")
    assert not at.exception
    at.text_input(key="meeting_title").set_value("Cardiology-diabetes MDT")
    at.button(key="FormSubmitter:new_meeting-Create meeting").click().run()
    assert not at.exception
    assert any("Cardiology-diabetes MDT" in option for option in at.selectbox(key="meeting_select").options)


def test_when_a_case_is_opened_then_alternatives_are_compared_with_intervals(app_home):
    meeting_id, case_id = _meeting(app_home)
    at = _app(app_home, "clinician", "pages/case.py", meeting_id=meeting_id, case_id=case_id)
    assert not at.exception, at.exception
    table = at.table[0].value
    assert "90% interval" in table.columns and len(table) >= 2
    assert any("leading" in a for a in table["Alternative"])
    assert at.get("plotly_chart")


def test_when_the_detail_panels_are_opened_then_drivers_and_similar_patients_read_in_plain_words(app_home):
    meeting_id, case_id = _meeting(app_home)
    at = _app(app_home, "clinician", "pages/case.py", meeting_id=meeting_id, case_id=case_id)
    assert len([w for w in at.warning]) <= 1  # every caveat in one box, not one box each
    at.segmented_control(key="case_detail").set_value("Drivers").run()
    assert not at.exception, at.exception
    at.segmented_control(key="case_detail").set_value("Similar patients").run()
    assert not at.exception, at.exception
    similar = at.table[-1].value
    assert {"Received", "Observed HbA1c change (mmol/mol)", "Adverse event"} <= set(similar.columns)
    assert set(similar["Heart failure"]) <= {"yes", "no"}
    assert all("." not in v or len(v.split(".")[1]) <= 1 for v in similar["Age (years)"].astype(str))


def test_when_a_covariate_is_changed_then_estimates_move_and_are_labelled_hypothetical(app_home):
    meeting_id, case_id = _meeting(app_home)
    at = _app(app_home, "clinician", "pages/case.py", meeting_id=meeting_id, case_id=case_id)
    before = at.table[0].value.iloc[:, 1].tolist()
    at.toggle(key="whatif_on").set_value(True).run()
    at.number_input(key="whatif_egfr").set_value(20.0).run()
    assert not at.exception
    assert any("HYPOTHETICAL" in w.value for w in at.warning)
    assert at.table[0].value.iloc[:, 1].tolist() != before


def test_when_an_override_has_no_rationale_then_the_decision_page_refuses_it(app_home):
    meeting_id, case_id = _meeting(app_home)
    at = _app(app_home, "clinician", "pages/case.py", meeting_id=meeting_id, case_id=case_id)
    at.switch_page("pages/decision.py").run()
    assert not at.exception
    radio = at.radio(key="decision_choice")
    codes = {label: code for code, label in ALTERNATIVE_LABELS.items()}
    radio.set_value(next(codes[label] for label in radio.options if codes[label] != radio.value))
    at.button(key="FormSubmitter:decision_form-Sign and record").click().run()
    assert "rationale" in at.error[0].value
    at.text_area(key="decision_rationale").set_value("Patient prefers an oral agent")
    at.button(key="FormSubmitter:decision_form-Sign and record").click().run()
    assert not at.error
    assert any("OVERRIDE" in m.value for m in at.markdown)


def test_when_a_decision_is_signed_then_the_form_closes_and_a_repeat_is_not_a_second_decision(app_home):
    from workbench.review.decisions import case_decisions

    meeting_id, case_id = _meeting(app_home)
    at = _app(app_home, "clinician", "pages/case.py", meeting_id=meeting_id, case_id=case_id)
    at.switch_page("pages/decision.py").run()
    at.text_area(key="decision_preferences").set_value("Wants fewer tablets")
    at.button(key="FormSubmitter:decision_form-Sign and record").click().run()
    assert not at.exception and not at.error
    assert any("v1" in s.value and "signed" in s.value for s in at.success)
    # The signing button and the typed text are gone: a second click has nothing to press.
    assert not [b for b in at.button if b.key and b.key.startswith("FormSubmitter:decision_form")]
    assert not [t for t in at.text_area if t.key == "decision_preferences"]
    assert len(case_decisions(_wb(app_home), case_id)) == 1

    at.toggle(key="decision_correct").set_value(True).run()
    assert at.text_area(key="decision_preferences").value == ""  # the correction form starts empty
    at.text_area(key="decision_preferences").set_value("Wants fewer tablets")
    at.button(key="FormSubmitter:decision_form-Sign and record the correction").click().run()
    assert "already recorded" in at.error[0].value  # identical content is a duplicate, not a correction
    assert len(case_decisions(_wb(app_home), case_id)) == 1

    at.text_area(key="decision_dissent").set_value("Pharmacy would start a DPP-4 inhibitor")
    at.button(key="FormSubmitter:decision_form-Sign and record the correction").click().run()
    assert not at.error
    versions = case_decisions(_wb(app_home), case_id)
    assert [v.version for v in versions] == [1, 2] and versions[1].supersedes_id == versions[0].id
    assert any("superseded" in m.value for m in at.markdown)


@pytest.mark.parametrize("page,user", [
    ("pages/model.py", "datasci"), ("pages/equity.py", "datasci"), ("pages/import_data.py", "admin"),
    ("pages/privacy.py", "privacy"), ("pages/admin.py", "admin"), ("pages/home.py", "chair"),
])
def test_when_each_page_is_opened_by_its_user_then_it_renders(app_home, page, user):
    at = _app(app_home, user, page)
    assert not at.exception, at.exception
    refusals = [e.value for e in at.error if "may not" in e.value]
    assert not refusals


def test_when_a_run_failed_its_diagnostics_then_the_model_page_says_so(app_home):
    from workbench.runs import list_runs

    at = _app(app_home, "datasci", "pages/model.py")
    run = next(r for r in list_runs(_wb(app_home)) if r.id == at.selectbox(key="run_select").value)
    failed = any("FAILED its sampler diagnostics" in e.value for e in at.error)
    assert failed == (not run.reliable and not run.approximate)


def test_when_the_benchmark_found_a_model_too_narrow_then_its_model_card_says_so(app_home):
    import json

    from workbench.models import get_model
    from workbench.models.validation import VALIDATION_FILE
    from workbench.runs import list_runs

    runs = {r.id: r for r in list_runs(_wb(app_home))}
    shown = runs[max(runs)]  # the page opens on the newest run
    figures = {"model_version": shown.model_version, "passed": True, "coverage90": 0.62, "truth_sd": 5.2}
    validation = {
        "acic2016": {
            "settings": {"4": {"linear_t_learner": {"sqrt_pehe": 4.5}, shown.model_name: figures | {"sqrt_pehe": 3.1}}}
        }
    }
    (app_home / "var" / VALIDATION_FILE).write_text(json.dumps(validation))
    at = _app(app_home, "datasci", "pages/model.py")
    assert not at.exception
    assert at.selectbox(key="run_select").value == shown.id
    text = "\n".join(m.value for m in at.markdown)
    assert "TOO NARROW on ACIC 2016 settings 4 (62 %)" in text
    assert "closer to the truth than a linear T-learner's (sqrt(PEHE)) on 1 of 1 settings" in text
    for limit in get_model(shown.model_name).card_limits:
        assert limit in text
    # ... and where the run is approved, as a warning
    assert any(w.value.startswith("Benchmark: TOO NARROW on ACIC 2016 settings 4") for w in at.warning)


def test_when_a_clinician_opens_the_privacy_page_then_it_is_refused(app_home):
    at = _app(app_home, "clinician", "pages/privacy.py")
    assert not at.exception
    assert "may not audit view" in at.error[0].value


def test_when_the_decision_page_lists_a_signed_record_then_its_files_are_built_only_when_downloaded(app_home):
    from sqlalchemy import func, select

    from workbench.store.tables import AuditEvent

    def exports() -> int:
        with _wb(app_home).read() as session:
            return session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export.decision")
            ) or 0

    meeting_id, case_id = _meeting(app_home)
    at = _app(app_home, "clinician", "pages/case.py", meeting_id=meeting_id, case_id=case_id)
    at.switch_page("pages/decision.py").run()
    at.button(key="FormSubmitter:decision_form-Sign and record").click().run()
    assert not at.exception and not at.error
    at.run()  # the page again, as after any widget change
    assert not at.exception
    downloads = [e for e in at.get("download_button") if e.proto.label]
    assert {e.proto.label for e in downloads} == {
        "Decision record (PDF)", "FHIR R4 bundle (JSON)", "Patient explanation (PDF)"
    }
    assert all(e.proto.deferred_file_id and not e.proto.url for e in downloads)  # registered, not built
    # Two page runs with a signed record, and no file was built or exported: that happens on a click.
    assert exports() == 0


def test_when_two_runs_saw_the_same_data_then_the_model_page_compares_them_by_loo(app_home):
    """A second real run on the HbA1c cohort (bcf, small draws) is compared with the first; the
    adverse-event run saw other data and has nothing to compare with."""
    from workbench.governance.roles import SYSTEM_ACTOR
    from workbench.models import get_model
    from workbench.runs import FitRequest, compare_with_comparable_runs, fit_run, list_runs
    from workbench.testing import TEST_SAMPLER

    wb = _wb(app_home)
    first = next(r for r in list_runs(wb) if r.outcome == "hba1c_change")
    other_outcome = next(r for r in list_runs(wb) if r.outcome == "adverse_event")
    new_id = fit_run(wb, SYSTEM_ACTOR, FitRequest(model_name="bcf", sampler_config=TEST_SAMPLER))
    assert compare_with_comparable_runs(wb, other_outcome) is None
    comparison = compare_with_comparable_runs(wb, first)
    assert comparison is not None
    labels = set(comparison.table.index)
    assert labels == {f"#{first.id} hierarchical v{first.model_version}", f"#{new_id} bcf v{get_model('bcf').version}"}
    assert comparison.recommended in labels
    summary = comparison.summary()
    assert summary["difference to best"].max() == 0.0 and summary["difference to best"].min() <= 0.0

    at = _app(app_home, "datasci", "pages/model.py", run_select=first.id, show_loo=True)
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert f"Supported by the data: {comparison.recommended}." in text
    assert any(set(frame.value.index) == labels for frame in at.dataframe)  # the comparison table
