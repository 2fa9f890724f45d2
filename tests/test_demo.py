"""The demo cohort: deterministic, realistic, with a truth that shows the published patterns."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.demo import (
    ALTERNATIVES,
    COVARIATES,
    IDENTIFIER_TYPES,
    REFERENCE,
    DemoCohort,
    generate_cohort,
    write_extract,
)

SMALL_AREAS = {
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878",
    "879", "884", "890", "893",
}  # fmt: skip


@pytest.fixture(scope="module")
def cohort() -> DemoCohort:
    return generate_cohort(2000, seed=20240601)


@pytest.fixture(scope="module")
def extract(cohort: DemoCohort, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """CSV extract and gold spans of the full 2,000-patient cohort (FHIR is tested on fewer)."""
    out = tmp_path_factory.mktemp("demo2000")
    files = write_extract(cohort, out, formats=("csv",))
    tables = {t: pd.read_csv(p, dtype=str, keep_default_na=False) for t, p in files.csv_tables.items()}
    spans = [json.loads(line) for line in files.note_spans.read_text("utf-8").splitlines()]
    return {"files": files, "tables": tables, "spans": spans}


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_when_same_seed_then_extract_files_are_byte_identical(tmp_path: Path) -> None:
    write_extract(generate_cohort(40, seed=7), tmp_path / "a")
    write_extract(generate_cohort(40, seed=7), tmp_path / "b")
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert len(a) == 7 + 40 + 2
    assert a == b


def test_when_seed_differs_then_every_table_differs(tmp_path: Path) -> None:
    write_extract(generate_cohort(40, seed=7), tmp_path / "a")
    write_extract(generate_cohort(40, seed=8), tmp_path / "b")
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a.keys() == b.keys()
    differing = [k for k in a if a[k] != b[k]]
    assert len(differing) == len(a)


def test_when_writing_an_extract_then_the_cohort_is_unchanged(tmp_path: Path) -> None:
    before = generate_cohort(30, seed=3)
    write_extract(before, tmp_path)
    after = generate_cohort(30, seed=3)
    pd.testing.assert_frame_equal(before.patients, after.patients)


def test_when_cohort_generated_then_it_has_the_documented_shape(cohort: DemoCohort) -> None:
    p = cohort.patients
    assert p.index.name == "patient_id"
    assert p.index[0] == "P000001" and p.index.is_unique
    assert list(p.columns[: len(COVARIATES)]) == COVARIATES
    for col in ("treatment", "hba1c_change", "adverse_event", "index_date"):
        assert col in p.columns
    assert set(p["treatment"]) == set(ALTERNATIVES)
    assert set(p["sex"]) == {"female", "male"}
    assert set(p["ethnicity_group"]) == {"white", "black", "asian", "hispanic", "other"}
    assert set(p["deprivation_quintile"]) == {1, 2, 3, 4, 5}
    assert set(p["adverse_event"]) == {0, 1}
    assert all(isinstance(d, dt.date) for d in p["index_date"])
    for frame in (cohort.true_mu, cohort.true_ae_risk, cohort.true_propensity):
        assert list(frame.columns) == list(ALTERNATIVES)
        assert frame.index.equals(p.index)
    np.testing.assert_allclose(cohort.true_propensity.sum(axis=1), 1.0)
    assert REFERENCE == "dpp4i"
    assert (cohort.true_effects()[REFERENCE] == 0).all()


def test_when_covariates_drawn_then_ranges_and_correlations_are_clinical(
    cohort: DemoCohort,
) -> None:
    p = cohort.patients
    assert 0.01 <= (p["age"] >= 90).mean() <= 0.06
    assert p["hba1c_baseline"].between(58, 110).all()
    assert 65 <= p["hba1c_baseline"].median() <= 80
    assert 0.12 <= (p["egfr"] < 60).mean() <= 0.35  # CKD 3-4 present
    assert (p["egfr"] < 30).sum() >= 5
    assert p["age"].corr(p["egfr"]) < -0.4
    hf_cvd = p.loc[p["cvd"] == 1, "heart_failure"].mean()
    hf_no_cvd = p.loc[p["cvd"] == 0, "heart_failure"].mean()
    assert hf_cvd > 2 * hf_no_cvd
    assert p.groupby("deprivation_quintile")["bmi"].mean().is_monotonic_decreasing


def test_when_egfr_is_low_then_the_true_sglt2i_effect_shrinks(cohort: DemoCohort) -> None:
    egfr = cohort.patients["egfr"]
    # The SGLT2i-specific part of the effect (against the reference) fades below eGFR 45.
    eff = cohort.true_effects()["sglt2i"]
    assert eff[egfr >= 60].mean() < -3.0  # better than a DPP-4i with good kidney function
    assert eff[egfr < 45].mean() > eff[egfr >= 60].mean() + 4.0
    assert eff[egfr < 45].mean() > 0.0  # little glucose effect left: the gliptin now does more
    assert eff[egfr < 35].mean() > eff[(egfr >= 35) & (egfr < 45)].mean()


def test_when_bmi_is_high_then_the_true_glp1_effect_grows(cohort: DemoCohort) -> None:
    eff = cohort.true_effects()["glp1ra"]
    bmi = cohort.patients["bmi"]
    assert eff[bmi >= 38].mean() < eff[bmi < 27].mean() - 4.0
    assert np.corrcoef(bmi, eff)[0, 1] < -0.9


def test_when_hba1c_is_high_then_every_alternative_lowers_it_more(cohort: DemoCohort) -> None:
    hba1c = cohort.patients["hba1c_baseline"]
    for code in ALTERNATIVES:
        assert np.corrcoef(hba1c, cohort.true_mu[code])[0, 1] < -0.5
    eff = cohort.true_effects()["basal_insulin"]
    assert eff[hba1c >= 90].mean() < eff[hba1c < 65].mean() - 4.0
    means = cohort.true_mu.mean()
    assert means.between(-16, -8).all()


def test_when_ae_risks_compared_then_insulin_hypoglycaemia_is_highest_and_rises_with_age(
    cohort: DemoCohort,
) -> None:
    risk = cohort.true_ae_risk
    assert risk.mean().idxmax() == "basal_insulin"
    assert risk.mean().idxmin() == "dpp4i"
    age = cohort.patients["age"]
    assert risk["basal_insulin"][age >= 80].mean() > 1.5 * risk["basal_insulin"][age < 60].mean()
    p = cohort.patients
    types = p.loc[p["adverse_event"] == 1].groupby("treatment")["adverse_event_type"].agg(set)
    assert types["basal_insulin"] == {"hypoglycaemia"}
    assert types["sglt2i"] == {"genital_infection"}
    assert types["glp1ra"] == {"gi_intolerance"}
    assert (p.loc[p["adverse_event"] == 0, "adverse_event_type"] == "").all()


def test_when_treatment_is_confounded_then_treated_groups_differ_in_covariates(
    cohort: DemoCohort,
) -> None:
    g = cohort.patients.groupby("treatment")
    assert g["egfr"].mean()["sglt2i"] > g["egfr"].mean()["dpp4i"] + 10
    assert g["heart_failure"].mean()["sglt2i"] > g["heart_failure"].mean()["glp1ra"]
    assert g["bmi"].mean()["glp1ra"] == g["bmi"].mean().max()
    assert g["hba1c_baseline"].mean()["basal_insulin"] == g["hba1c_baseline"].mean().max()
    assert g["age"].mean()["dpp4i"] == g["age"].mean().max()
    shares = cohort.patients["treatment"].value_counts(normalize=True)
    assert shares.between(0.08, 0.5).all()


def test_when_propensities_checked_then_overlap_is_mostly_good_with_thin_regions(
    cohort: DemoCohort,
) -> None:
    ps = cohort.true_propensity.to_numpy()
    inside = ((ps > 0.03) & (ps < 0.97)).mean()
    assert inside > 0.9
    assert (ps < 0.03).sum() > 20  # thin regions exist: overlap warnings must have work to do
    low_egfr = cohort.patients["egfr"].to_numpy() < 30
    assert cohort.true_propensity["sglt2i"].to_numpy()[low_egfr].max() < 0.1


def test_when_outcomes_drawn_then_they_scatter_around_the_truth(cohort: DemoCohort) -> None:
    p = cohort.patients
    codes = list(ALTERNATIVES)
    k = p["treatment"].map(codes.index).to_numpy()
    mu = cohort.true_mu.to_numpy()[np.arange(len(p)), k]
    resid = p["hba1c_change"].to_numpy() - mu
    assert abs(resid.mean()) < 0.5
    assert 6.0 <= resid.std() <= 8.0
    risk = cohort.true_ae_risk.to_numpy()[np.arange(len(p)), k]
    assert abs(p["adverse_event"].mean() - risk.mean()) < 0.02


def test_when_extract_written_then_csv_agrees_with_cohort(cohort: DemoCohort, extract: dict) -> None:
    t = extract["tables"]
    p = cohort.patients
    assert list(t["patients"]["patient_id"]) == list(p.index)
    obs = t["observations"]
    hba1c = obs[obs["code"] == "59261-8"].groupby("patient_id")
    base = hba1c.first()["value"].astype(float)
    follow = hba1c.last()["value"].astype(float)
    np.testing.assert_allclose(base.loc[p.index], p["hba1c_baseline"])
    np.testing.assert_allclose(follow.loc[p.index] - base.loc[p.index], p["hba1c_change"], atol=1e-6)
    cond = t["conditions"]
    t2d = cond[cond["code"] == "44054006"].set_index("patient_id")["onset_date"]
    index = pd.to_datetime(pd.Series(p["index_date"]))
    duration = (index - pd.to_datetime(t2d.loc[p.index])).dt.days / 365.25
    np.testing.assert_allclose(duration, p["diabetes_duration"], atol=0.01)
    hf = set(cond.loc[cond["code"] == "84114007", "patient_id"])
    assert hf == set(p.index[p["heart_failure"] == 1])
    birth = pd.to_datetime(t["patients"].set_index("patient_id")["birth_date"]).loc[p.index]
    age = (index - birth).dt.days / 365.25
    np.testing.assert_allclose(age, p["age"], atol=0.01)
    meds = t["medications"].set_index("patient_id")
    assert (meds.loc[p.index, "alternative"] == p["treatment"]).all()
    assert (meds["line"] == "second").all()
    out = t["outcomes"].set_index("patient_id")
    assert (out.loc[p.index, "adverse_event"].astype(int) == p["adverse_event"]).all()
    pts = t["patients"]
    for col in ("consent_model_training", "consent_research"):
        declined = (pts[col] == "no").mean()
        assert 0.01 < declined < 0.12
    assert (pts["consent_care"] == "yes").all()
    truth = pd.read_csv(extract["files"].truth_csv).set_index("patient_id")
    np.testing.assert_allclose(truth.loc[p.index, "mu_sglt2i"], cohort.true_mu["sglt2i"], atol=1e-6)


def test_when_identifiers_generated_then_they_look_real(extract: dict) -> None:
    pts = extract["tables"]["patients"]
    assert pts["mrn"].is_unique and pts["ssn"].is_unique
    for ssn in pts["ssn"]:
        area, group, serial = ssn.split("-")
        assert area not in {"000", "666"} and not area.startswith("9")
        assert group != "00" and serial != "0000"
        assert ssn not in {"123-45-6789", "078-05-1120"}
    zips = pts["zip"].str[:3]
    assert zips.str.fullmatch(r"\d{3}").all()
    small = zips.isin(SMALL_AREAS).mean()
    assert 0.02 < small < 0.12
    assert pts["email"].str.fullmatch(r"[a-z0-9._]+@[a-z]+\.[a-z]+").all()
    # Many distinct names from many backgrounds, not a handful repeated.
    assert pts["family_name"].nunique() > 80
    assert pts["given_name"].nunique() > 150


def test_when_phone_numbers_generated_then_a_phone_validator_accepts_them(extract: dict) -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    for phone in extract["tables"]["patients"]["phone"].head(200):
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone, "US")), "invalid phone"


def test_when_letters_written_then_every_gold_span_is_nonempty_and_typed(extract: dict) -> None:
    notes = extract["tables"]["notes"].set_index("note_id")
    assert len(extract["spans"]) == len(notes)
    for line in extract["spans"]:
        text = notes.loc[line["note_id"], "text"]
        assert notes.loc[line["note_id"], "patient_id"] == line["patient_id"]
        prev_end = 0
        for span in line["spans"]:
            assert span["type"] in IDENTIFIER_TYPES
            piece = text[span["start"] : span["end"]]
            assert piece and piece == piece.strip()
            assert span["start"] >= prev_end  # ordered, not overlapping
            prev_end = span["end"]


def test_when_2000_letters_written_then_every_identifier_type_occurs(extract: dict) -> None:
    counts = Counter(s["type"] for line in extract["spans"] for s in line["spans"])
    missing = [t for t in IDENTIFIER_TYPES if counts[t] == 0]
    assert not missing
    # The rare Safe Harbor types are rare but not token: at least a few dozen each.
    for rare in ("URL", "IP_ADDRESS", "LICENSE", "VEHICLE", "DEVICE"):
        assert counts[rare] >= 20, rare


def test_when_letter_names_the_patient_then_spans_hold_the_patients_own_identifiers(
    cohort: DemoCohort, extract: dict
) -> None:
    pts = extract["tables"]["patients"].set_index("patient_id")
    notes = extract["tables"]["notes"].set_index("note_id")
    formats = Counter()
    for line in extract["spans"]:
        me = pts.loc[line["patient_id"]]
        text = notes.loc[line["note_id"], "text"]
        pieces = [(s["type"], text[s["start"] : s["end"]]) for s in line["spans"]]
        for kind, piece in pieces:
            if kind == "MRN":
                assert piece == me["mrn"]
            elif kind == "SSN":
                assert re.sub(r"\D", "", piece) == me["ssn"].replace("-", "")
                formats["ssn:" + re.sub(r"\d", "9", piece)] += 1
            elif kind == "ZIP":
                assert piece == me["zip"]
            elif kind == "EMAIL":
                assert piece == me["email"]
            elif kind == "NAME":
                assert not re.match(r"^(Dr|Mr|Mrs|Ms)\.?\s", piece)  # titles stay outside spans
        names = [piece for kind, piece in pieces if kind == "NAME"]
        own = [n for n in names if me["family_name"] in n or me["family_name"].upper() in n]
        assert own, "the patient's surname appears in every letter"
        assert any(me["given_name"] in n for n in names)
        dates = [piece for kind, piece in pieces if kind == "DATE"]
        for d in dates:
            formats["date:" + re.sub(r"\d", "9", re.sub(r"[A-Z][a-z]+", "Mon", d))] += 1
    assert sum(1 for k in formats if k.startswith("ssn:")) == 3
    assert sum(1 for k in formats if k.startswith("date:")) >= 6


def test_when_patient_is_over_89_then_the_letter_marks_the_age(cohort: DemoCohort, extract: dict) -> None:
    notes = extract["tables"]["notes"].set_index("note_id")
    ages = cohort.patients["age"]
    for line in extract["spans"]:
        text = notes.loc[line["note_id"], "text"]
        age_spans = [text[s["start"] : s["end"]] for s in line["spans"] if s["type"] == "AGE"]
        if ages[line["patient_id"]] >= 90:
            assert age_spans == [f"{int(ages[line['patient_id']])}-year-old"]
        else:
            assert age_spans == []


def test_when_letters_read_then_they_carry_tempting_clinical_numbers_outside_spans(
    extract: dict,
) -> None:
    notes = extract["tables"]["notes"].set_index("note_id")
    hits = Counter()
    for line in extract["spans"][:300]:
        text = notes.loc[line["note_id"], "text"]
        covered = np.zeros(len(text), bool)
        for s in line["spans"]:
            covered[s["start"] : s["end"]] = True
        for pattern in (r"HbA1c \d+", r"eGFR (of )?\d+", r"BP \d+/\d+", r"in 3/12", r"Type 2", r"\d+ mg"):
            for m in re.finditer(pattern, text):
                assert not covered[m.start() : m.end()].any()
                hits[pattern] += 1
    assert all(hits[p] > 0 for p in hits) and len(hits) >= 5
    texts = notes["text"]
    assert texts.str.count("\n\n").between(3, 12).all()
    assert texts.map(lambda s: s[:40]).nunique() > 500  # varied openings


def test_when_fhir_written_then_every_bundle_validates_with_fhir_resources(tmp_path: Path) -> None:
    from fhir.resources.R4B.bundle import Bundle

    cohort = generate_cohort(20, seed=11)
    calls: list[int] = []
    files = write_extract(cohort, tmp_path, progress=calls.append)
    assert sum(calls) == 20
    assert len(files.fhir_bundles) == 20
    notes = pd.read_csv(files.csv_tables["notes"], dtype=str, keep_default_na=False)
    for path, (_, note) in zip(files.fhir_bundles, notes.iterrows(), strict=True):
        data = json.loads(path.read_text("utf-8"))
        bundle = Bundle.model_validate(data)
        assert bundle.type == "transaction"
        urls = {e["fullUrl"] for e in data["entry"]}
        assert all(u.startswith("urn:uuid:") for u in urls) and len(urls) == len(data["entry"])
        refs = re.findall(r'"reference": "([^"]+)"', path.read_text("utf-8"))
        assert refs and set(refs) <= urls
        kinds = Counter(e["resource"]["resourceType"] for e in data["entry"])
        assert kinds["Patient"] == 1 and kinds["MedicationRequest"] == 1
        assert kinds["DocumentReference"] == 1 and kinds["Encounter"] == 2
        assert all(e["request"]["method"] == "POST" for e in data["entry"])
        by_type = {e["resource"]["resourceType"]: e["resource"] for e in data["entry"]}
        ids = by_type["Patient"]["identifier"]
        mr = [i for i in ids if i.get("type", {}).get("coding", [{}])[0].get("code") == "MR"]
        assert len(mr) == 1
        assert any(i["system"] == "http://hl7.org/fhir/sid/us-ssn" for i in ids)
        doc = by_type["DocumentReference"]
        att = doc["content"][0]["attachment"]
        assert att["contentType"] == "text/plain"
        assert base64.b64decode(att["data"]).decode("utf-8") == note["text"]
        ae = [
            e["resource"]
            for e in data["entry"]
            if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "adverse-event"
        ]
        assert len(ae) == 1 and isinstance(ae[0]["valueBoolean"], bool)


@pytest.mark.slow
def test_when_the_default_2000_patients_are_written_then_every_patient_has_a_bundle(
    tmp_path: Path,
) -> None:
    # Generation speed is printed by the benchmarks, not asserted here.
    files = write_extract(generate_cohort(2000), tmp_path)
    assert len(files.fhir_bundles) == 2000
