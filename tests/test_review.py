"""Meetings, worklists and signed decisions through the service layer (sampling is not what is tested here:
comparisons are built from hand-made posterior draws)."""

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select

from workbench.governance.roles import Actor, Role
from workbench.review.decisions import (
    DecisionError,
    DecisionInput,
    case_decisions,
    get_decision,
    meeting_decisions,
    record_decision,
)
from workbench.review.meetings import (
    MeetingError,
    add_attendee,
    add_case,
    close_meeting,
    create_meeting,
    defer_case,
    get_meeting,
)
from workbench.store.tables import Decision, ModelRun, Patient
from workbench.testing import comparison_from_draws

CHAIR = Actor("chair", Role.CHAIR, "Dr Morgan Chair (demo)")
DOC = Actor("clinician", Role.CLINICIAN, "Dr Sam Clinician (demo)")
ALTS = ("sglt2i", "glp1ra", "dpp4i")
# SGLT2i clearly best in these draws (lower HbA1c change is better).
DRAWS = np.array([[-14.0, -9.0, -6.0], [-13.0, -10.0, -5.0], [-15.0, -8.0, -7.0], [-12.0, -11.0, -6.5]])


@pytest.fixture
def meeting(seeded_wb):
    with seeded_wb.sessions.begin() as s:
        s.add(ModelRun(id=7, model_name="hierarchical", model_version="t", model_id="x", outcome="hba1c_change",
                       method="nuts", data_hash="h", n_patients=1, posterior_path="none", created_by="t",
                       status="approved", reliable=True))
        pseudonyms = s.scalars(select(Patient.pseudonym).order_by(Patient.pseudonym).limit(3)).all()
    meeting_id = create_meeting(seeded_wb, CHAIR, "Diabetes MDT", dt.date(2026, 3, 2), "Diabetes")
    add_attendee(seeded_wb, CHAIR, meeting_id, "Dr Morgan Chair", "Diabetology")
    add_attendee(seeded_wb, CHAIR, meeting_id, "Alex Pharmacist", "Pharmacy")
    cases = [add_case(seeded_wb, CHAIR, meeting_id, p, "Second-line therapy after metformin?") for p in pseudonyms]
    return seeded_wb, meeting_id, cases, pseudonyms


def _comparison(pseudonym):
    return comparison_from_draws(DRAWS, ALTS, reference="dpp4i", run_id=7, pseudonym=pseudonym)


def test_when_the_team_agrees_with_the_leading_alternative_then_no_rationale_is_needed(meeting):
    wb, meeting_id, cases, pseudonyms = meeting
    comparison = _comparison(pseudonyms[0])
    assert comparison.leading == "sglt2i"
    decision_id = record_decision(wb, DOC, cases[0], DecisionInput("sglt2i", follow_up="HbA1c in 3 months"),
                                  comparison)
    record = get_decision(wb, decision_id)
    assert record.agrees_with_model and record.version == 1
    assert record.attendees == [{"name": "Dr Morgan Chair", "discipline": "Diabetology"},
                                {"name": "Alex Pharmacist", "discipline": "Pharmacy"}]
    assert record.signed_by == "clinician" and record.model_run_id == 7
    assert record.estimates["alternatives"]["sglt2i"]["p_best"] == pytest.approx(1.0)
    assert get_meeting(wb, meeting_id).cases[0].status == "decided"


def test_when_override_has_no_rationale_then_it_is_refused(meeting):
    wb, _, cases, pseudonyms = meeting
    with pytest.raises(DecisionError, match="rationale"):
        record_decision(wb, DOC, cases[0], DecisionInput("glp1ra", rationale="  "), _comparison(pseudonyms[0]))
    decision_id = record_decision(
        wb, DOC, cases[0], DecisionInput("glp1ra", rationale="Patient prioritises weight loss", dissent="Pharmacy"),
        _comparison(pseudonyms[0]),
    )
    record = get_decision(wb, decision_id)
    assert not record.agrees_with_model and record.leading_alternative == "sglt2i"
    assert record.rationale == "Patient prioritises weight loss"


def test_when_a_decision_is_corrected_then_both_versions_stay_and_the_first_is_unchanged(meeting):
    wb, _, cases, pseudonyms = meeting
    first = record_decision(wb, DOC, cases[0], DecisionInput("sglt2i"), _comparison(pseudonyms[0]))
    original = get_decision(wb, first)
    with pytest.raises(DecisionError, match="correction"):
        record_decision(wb, DOC, cases[0], DecisionInput("sglt2i"), _comparison(pseudonyms[0]))
    record_decision(wb, CHAIR, cases[0], DecisionInput("glp1ra", rationale="eGFR result revised"),
                             _comparison(pseudonyms[0]), correction_of=first)
    versions = case_decisions(wb, cases[0])
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].superseded and not versions[1].superseded
    assert versions[1].supersedes_id == first
    from dataclasses import replace

    assert get_decision(wb, first) == replace(original, superseded=True)


def test_when_a_correction_repeats_the_signed_decision_then_it_is_refused_as_a_duplicate(meeting):
    wb, _, cases, pseudonyms = meeting
    decision = DecisionInput("glp1ra", rationale="Prefers weekly injection ", follow_up="HbA1c in 3 months")
    first = record_decision(wb, DOC, cases[0], decision, _comparison(pseudonyms[0]))
    same = DecisionInput("glp1ra", rationale="Prefers weekly injection", follow_up="HbA1c in 3 months",
                         dissent="  ")
    with pytest.raises(DecisionError, match="already recorded"):
        record_decision(wb, DOC, cases[0], same, _comparison(pseudonyms[0]), correction_of=first)
    assert [v.version for v in case_decisions(wb, cases[0])] == [1]
    changed = DecisionInput("glp1ra", rationale="Prefers weekly injection", follow_up="HbA1c in 6 weeks")
    record_decision(wb, DOC, cases[0], changed, _comparison(pseudonyms[0]), correction_of=first)
    assert [v.follow_up for v in case_decisions(wb, cases[0])] == ["HbA1c in 3 months", "HbA1c in 6 weeks"]


def test_when_a_signed_decision_is_edited_through_the_orm_then_it_is_refused(meeting):
    wb, _, cases, pseudonyms = meeting
    decision_id = record_decision(wb, DOC, cases[0], DecisionInput("sglt2i"), _comparison(pseudonyms[0]))
    with pytest.raises(DecisionError, match="immutable"), wb.sessions.begin() as s:
        s.get(Decision, decision_id).rationale = "rewritten later"


def test_when_estimates_are_hypothetical_then_no_decision_can_rest_on_them(meeting):
    from dataclasses import replace

    wb, _, cases, pseudonyms = meeting
    with pytest.raises(DecisionError, match="hypothetical"):
        record_decision(wb, DOC, cases[0], DecisionInput("sglt2i"),
                        replace(_comparison(pseudonyms[0]), hypothetical=True))


def test_when_the_chair_closes_the_meeting_then_no_case_or_first_decision_can_be_added(meeting):
    wb, meeting_id, cases, pseudonyms = meeting
    defer_case(wb, DOC, cases[2], "awaiting renal function")
    close_meeting(wb, CHAIR, meeting_id)
    info = get_meeting(wb, meeting_id)
    assert info.status == "closed" and info.cases[2].status == "deferred"
    with pytest.raises(MeetingError):
        add_case(wb, CHAIR, meeting_id, pseudonyms[0], "again?")
    with pytest.raises(DecisionError, match="closed"):
        record_decision(wb, DOC, cases[1], DecisionInput("sglt2i"), _comparison(pseudonyms[1]))
    assert meeting_decisions(wb, meeting_id) == []


def test_when_values_are_shown_to_the_meeting_then_flags_read_yes_no_and_numbers_lose_trailing_zeros():
    import pandas as pd

    from workbench.review.case import display_value, driver_unit, readable_drivers, short_number

    assert display_value("cvd", 1) == "yes" and display_value("heart_failure", 0.0) == "no"
    assert display_value("age", 90.0) == 90 and display_value("bmi", 32.0) == 32.0
    assert display_value("egfr", 41.26) == 41.3
    assert [short_number(v) for v in (90.0, 25.5, -0.04, float("nan"))] == ["90", "25.5", "0", "n/a"]
    frame = pd.DataFrame({"value": [1.0, 62.0], "scale": ["outcome", "outcome"]}, index=["cvd", "age"])
    assert readable_drivers(frame)["value"].tolist() == ["yes", 62.0]
    assert driver_unit(frame) == "mmol/mol" and driver_unit(frame.assign(scale="log-odds")) == "log-odds"


def _brief(**kw):
    from workbench.status import RunBrief

    base = dict(id=3, model_name="hierarchical", model_version="2.1", outcome="hba1c_change", status="approved",
                reliable=True, approximate=False, created_at="2026-03-01 10:00")
    return RunBrief(**(base | kw))


def test_when_a_run_is_named_then_every_surface_gets_one_verdict_from_its_diagnostics():
    from workbench.review.run_quality import run_line, run_quality

    assert run_quality(_brief()) == "diagnostics passed"
    assert "DIAGNOSTICS FAILED" in run_quality(_brief(reliable=False))
    # An approximate preview is never called reliable, whatever its reliable flag says.
    assert run_quality(_brief(approximate=True, reliable=True)).startswith("APPROXIMATE")
    assert run_quality(_brief(reliable=False), short=True) == "UNRELIABLE"
    line = run_line(_brief(reliable=False), {"hba1c_change": "HbA1c change"})
    assert line.startswith("Model run #3: hierarchical model v2.1 on HbA1c change, fitted 2026-03-01 10:00 UTC")
    assert "**DIAGNOSTICS FAILED" in line  # bold when the numbers need care
    assert "**" not in run_line(_brief())
    assert "on adverse_event" in run_line(_brief(outcome="adverse_event"))  # no label: the code, not a blank


def test_when_the_home_page_counts_the_data_behind_the_estimates_then_each_alternative_has_its_patients(
    seeded_wb,
):
    from workbench.cohort import analysis_frame
    from workbench.review.overview import alternatives_received

    overview = alternatives_received(seeded_wb)
    with seeded_wb.read() as session:
        truth = analysis_frame(session, purpose="model_training")["treatment"].dropna().value_counts()
    assert dict(zip(overview["alternative"], overview["patients"], strict=True)) == truth.to_dict()
    assert overview["patients"].is_monotonic_decreasing and overview["patients"].sum() > 0
    assert not overview["label"].str.contains("_").any()  # names the meeting reads, not codes
