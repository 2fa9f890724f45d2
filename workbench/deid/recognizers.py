"""Clinical recognizers: one small Presidio ``PatternRecognizer`` per identifier family.

Presidio ships no recognizer for MRNs, health-plan ids, ages over 89, clinicians with
titles, hospitals and wards, device serials or street lines. Each class here declares
``ENTITY``, ``PATTERNS`` and ``CONTEXT`` (and ``validate_result`` where a checksum
exists, e.g. the NHS number's mod 11). Many local identifiers are bare digit runs that
mean nothing without their label ("MRN: 4829301"), so a pattern may contain the label and
mark the identifier itself with the named group ``id``: the finding then covers only the
identifier, and the explanation records which label matched (what an auditor asks).

Which recognizers load is configuration (``recognizers.yaml``), not code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, ClassVar

import regex
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts

from workbench.deid.dates import DATE_PATTERNS, date_score, find_dates

logger = logging.getLogger(__name__)

__all__ = [
    "CLINICAL_RECOGNIZERS",
    "AccountRecognizer",
    "AgeOver89Recognizer",
    "CityStateRecognizer",
    "ClinicalDateRecognizer",
    "ClinicalPatternRecognizer",
    "ClinicianNameRecognizer",
    "DeviceSerialRecognizer",
    "HealthPlanRecognizer",
    "HospitalRecognizer",
    "LabelledPhoneRecognizer",
    "LabelledSsnRecognizer",
    "LicenseRecognizer",
    "MrnRecognizer",
    "NhsNumberRecognizer",
    "StreetAddressRecognizer",
    "VehicleRecognizer",
    "WebAddressRecognizer",
    "ZipRecognizer",
    "nhs_checksum_ok",
    "vin_checksum_ok",
]

_CASE_SENSITIVE = regex.DOTALL | regex.MULTILINE
_IGNORE_CASE = _CASE_SENSITIVE | regex.IGNORECASE

# A label, optional "no./number/#", optional ":"/"#"/"=" -- "MRN: ", "Hosp No. ", "NHS number "
_NUM_WORD = r"(?:\s*(?:no\.?|nr\.?|num(?:ber)?\.?|#|id\.?))?"
_SEP = r"\s*[:#=.\-]?\s*"

# One capitalised name word (Unicode aware, allows O'Neil, Smith-Jones, McDonald).
_NAME_WORD = r"(?:\p{Lu}(?:['’]\p{Lu})?\p{Ll}+(?:\p{Lu}\p{Ll}+)?(?:[-'’]\p{Lu}\p{Ll}+)*)"
# An initial: "J." or, before another name word, an undotted "A" ("Dr A Smith").
_INITIAL = r"(?:\p{Lu}\.|\p{Lu}(?=[ \t]+\p{Lu}))"
_NAME_SEQ = rf"(?:{_NAME_WORD}|{_INITIAL})(?:[ \t]+(?:{_NAME_WORD}|{_INITIAL})){{0,3}}"


class ClinicalPatternRecognizer(PatternRecognizer):
    """A ``PatternRecognizer`` whose patterns may narrow the finding to a named group ``id``.

    Subclasses set ``ENTITY``, ``PATTERNS``, ``CONTEXT`` and ``CASE_SENSITIVE`` and may
    override :meth:`accept` to trim or reject a candidate (returns the kept (start, end)).
    """

    ENTITY: ClassVar[str] = ""
    PATTERNS: ClassVar[list[Pattern]] = []
    CONTEXT: ClassVar[list[str]] = []
    CASE_SENSITIVE: ClassVar[bool] = False

    def __init__(
        self,
        patterns: list[Pattern] | None = None,
        context: list[str] | None = None,
        supported_entity: str | None = None,
        name: str | None = None,
        supported_language: str = "en",
    ) -> None:
        own_patterns = [Pattern(p.name, p.regex, p.score) for p in (patterns or self.PATTERNS)]
        self._label: str = name or type(self).__name__
        super().__init__(
            supported_entity=supported_entity or self.ENTITY,
            name=self._label,
            supported_language=supported_language,
            patterns=own_patterns,
            context=context if context is not None else list(self.CONTEXT),
            global_regex_flags=_CASE_SENSITIVE if self.CASE_SENSITIVE else _IGNORE_CASE,
        )
        flags = _CASE_SENSITIVE if self.CASE_SENSITIVE else _IGNORE_CASE
        self._compiled = [(p, regex.compile(p.regex, flags=flags)) for p in own_patterns]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Return the span to keep for a candidate, or None to reject it."""
        return start, end

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Run every pattern; the ``id`` group (when present) is the finding."""
        results: list[RecognizerResult] = []
        for pattern, compiled in self._compiled:
            for m in compiled.finditer(text):
                if "id" in compiled.groupindex and m.start("id") >= 0:
                    start, end = m.span("id")
                else:
                    start, end = m.span()
                if start == end:
                    continue
                kept = self.accept(text, start, end)
                if kept is None:
                    continue
                start, end = kept
                matched = text[start:end]
                score = pattern.score
                validation = self.validate_result(matched)
                if validation is not None:
                    if not validation:
                        continue
                    score = max(score, 0.95)
                if self.invalidate_result(matched):
                    continue
                explanation = AnalysisExplanation(
                    recognizer=self._label,
                    original_score=pattern.score,
                    pattern_name=pattern.name,
                    pattern=pattern.regex,
                    validation_result=validation,  # type: ignore[arg-type]  # None = no check
                    textual_explanation=f"Detected by `{self._label}` using pattern `{pattern.name}`",
                )
                results.append(
                    RecognizerResult(
                        entity_type=self.supported_entities[0],
                        start=start,
                        end=end,
                        score=score,
                        analysis_explanation=explanation,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self._label,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return EntityRecognizer.remove_duplicates(results)


def _labelled(labels: str, value: str) -> str:
    """Regex for ``<label> [no.] [:] <value>`` with the value as group ``id``."""
    return rf"(?<![\w])(?:{labels}){_NUM_WORD}{_SEP}(?P<id>{value})(?![\w])"


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


class MrnRecognizer(ClinicalPatternRecognizer):
    """Medical record / hospital numbers: digits that are only an MRN because of their label."""

    ENTITY = "MRN"
    _LABELS = (
        r"MRN|M\.R\.N\.?|medical\s+record(?:\s+number)?|record\s+(?=no|num|#)|"
        r"hosp(?:ital)?\.?\s*(?=no|num|#|id)|hospital\s+number|patient\s+(?=id|no|num|#)|"
        r"unit\s+(?=no|num)|case\s+(?=no|num)|chart\s+(?=no|num|#)|CRN|RTX|PAS\s+(?=no|num|id)"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "mrn_labelled",
            _labelled(_LABELS, r"(?:[A-Z]{1,4}[-\s]?)?\d[\d-]{3,14}\d|[A-Z]{1,4}\d{4,12}"),
            0.9,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["mrn", "hospital", "record", "number", "patient"]


class HealthPlanRecognizer(ClinicalPatternRecognizer):
    """Health-plan, insurance member and policy numbers (labelled), and Medicare MBIs."""

    ENTITY = "HEALTH_PLAN"
    _LABELS = (
        r"(?:health\s*plan|insurance|insurer|member(?:ship)?|policy|subscriber|beneficiary|"
        r"group|plan|medicaid|medicare)\s*(?=no|num|#|id)|"
        r"medicaid|medicare|MBI|HICN|member|policy|subscriber"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "plan_labelled",
            _labelled(_LABELS, r"[A-Z0-9](?:[A-Z0-9]|-(?=[A-Z0-9])){4,24}"),
            0.85,
        ),
        # Medicare Beneficiary Identifier: 11 characters, fixed letter/digit positions.
        Pattern(
            "mbi",
            r"(?<![\w-])[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]"
            r"[AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]{2}\d{2}(?![\w-])",
            0.6,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["insurance", "member", "policy", "plan", "medicare"]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Require at least 3 digits, so 'Member of the team' is not a member id."""
        return (start, end) if _digits(text[start:end]) >= 3 else None


class AccountRecognizer(ClinicalPatternRecognizer):
    """Account, billing, encounter and visit numbers (labelled only)."""

    ENTITY = "ACCOUNT"
    _LABELS = (
        r"(?:account|acct|a/c|billing|invoice|claim|encounter|visit|episode|admission|"
        r"financial|FIN|CSN|HAR)\s*(?=no|num|#|id)|account|acct|a/c|CSN|FIN"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("account_labelled", _labelled(_LABELS, r"[A-Z0-9](?:[A-Z0-9]|-(?=\w)){3,24}"), 0.85),
    ]
    CONTEXT: ClassVar[list[str]] = ["account", "billing", "encounter", "invoice"]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Require at least 4 digits."""
        return (start, end) if _digits(text[start:end]) >= 4 else None


def nhs_checksum_ok(value: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number (NHS Data Dictionary)."""
    digits = [int(c) for c in value if c.isdigit()]
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    total = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == digits[9]


class NhsNumberRecognizer(ClinicalPatternRecognizer):
    """UK NHS numbers (3-3-4 digits) after an NHS label, confirmed by the mod-11 checksum.

    Unlabelled 3-3-4 digit groups are US phone numbers far more often, so the label is
    required.
    """

    ENTITY = "NHS_NUMBER"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "nhs_labelled",
            r"(?<!\w)NHS(?:\s*(?:no\.?|num(?:ber)?|#))?[^\d\n]{0,12}?"
            r"(?P<id>\d{3}[\s-]?\d{3}[\s-]?\d{4})(?!\d)",
            0.9,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["nhs"]

    def validate_result(self, pattern_text: str) -> bool | None:
        """Mod-11 checksum."""
        return nhs_checksum_ok(pattern_text)


class AgeOver89Recognizer(ClinicalPatternRecognizer):
    """Ages of 90 and above, which Safe Harbor counts as identifying (few such patients)."""

    ENTITY = "AGE"
    _AGE = r"(?:9\d|1[01]\d)"
    _WORDS = (
        r"(?:ninety|one[\s-]hundred(?:\s+and)?)(?:[\s-](?:one|two|three|four|five|six|seven|"
        r"eight|nine|ten))?"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "age_years",
            rf"(?<![\w.]){_AGE}\s*-?\s*(?:years?|yrs?|yo|y/o|y\.o\.?)(?:[\s-]*old)?(?!\w)",
            0.85,
        ),
        Pattern(
            "age_labelled",
            rf"(?<!\w)(?:aged|age(?:\s+of)?|age\s*[:=])\s*(?P<id>{_AGE})(?!\w|\.\d)",
            0.85,
        ),
        Pattern(
            "age_words",
            rf"(?<!\w){_WORDS}[\s-]+(?:years?|yrs?)(?:[\s-]*old)?(?!\w)",
            0.85,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["age", "aged", "year", "old"]


# Capitalised words that end a name run: a name is not followed by "Hospital" etc.
_NOT_NAME_WORDS = frozenset(
    """the a an and or of for to in on at by with from this that these his her their our
    your my it is was has had be been i we he she they you dear yours sincerely regards
    colleague colleagues sir madam team all patient patients consultant registrar nurse
    doctor hospital clinic ward unit department surgery practice centre center medical
    health trust service services gp md phd mbbs frcp frcs frcr frcpath rn np pa do ms msc
    bsc dm chb mrcp mrcgp monday tuesday wednesday thursday friday saturday sunday today
    tomorrow yesterday january february march april may june july august september october
    november december jan feb mar apr jun jul aug sep sept oct nov dec re subject date
    diagnosis plan impression history examination assessment summary note letter
    oncology oncologist surgeon radiologist pharmacist cardiology neurology haematology
    hematology radiology pathology urology gynaecology dermatology mdt ct mri pet scan
    copy cc to from signed electronically dictated reviewed seen by ref reference
    dr doctor prof professor mr mrs ms miss mx sister matron sr rev fr lady lord dame
    """.split()
)


_JOB_WORD = regex.compile(r"(?i)(?:ist|ists|ician|icians|ologist)$")


def _trim_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Drop trailing/leading words that are not names; reject if nothing name-like remains."""
    words = list(regex.finditer(r"\S+", text[start:end]))
    keep = [w for w in words]
    while keep and (
        keep[-1].group().strip(".,").lower() in _NOT_NAME_WORDS or _JOB_WORD.search(keep[-1].group().strip(".,"))
    ):
        keep.pop()
    while keep and keep[0].group().strip(".,").lower() in _NOT_NAME_WORDS:
        keep.pop(0)
    if not keep:
        return None
    s, e = start + keep[0].start(), start + keep[-1].end()
    if all(len(w.group().rstrip(".")) <= 1 for w in keep):
        return None  # initials only
    return s, e


class ClinicianNameRecognizer(ClinicalPatternRecognizer):
    """Names after a title or a role label ("Dr Aisha Rahman", "Consultant: J. Smith").

    The finding covers the name, not the title, so the letter reads "Dr [NAME]" and the
    reader still knows a doctor was involved.
    """

    ENTITY = "NAME"
    CASE_SENSITIVE = True
    _TITLES = (
        r"(?:Dr|DR|Doctor|Prof|Professor|Mr|MR|Mrs|MRS|Ms|MS|Miss|Mx|Nurse|Sister|Matron|"
        r"Sr|Rev|Fr|Sir|Dame|Lady|Lord)"
    )
    # Labels after which a name follows only with a colon/dash ("Consultant: J Smith"),
    # since "Consultant Diabetologist" is a job title, not a name.
    _ROLES_COLON = (
        r"(?i:consultant|registrar|physician|surgeon|oncologist|radiologist|pharmacist|"
        r"nurse\s+specialist|specialist\s+nurse|gp|author|signature|attending|"
        r"referring\s+(?:clinician|physician|doctor)|next\s+of\s+kin|nok|"
        r"patient(?:\s+name)?|name|cc|c\.c\.|to|from|re|subject)"
    )
    # Phrases that a name follows directly.
    _ROLES_FREE = (
        r"(?i:signed(?:\s+by)?|dictated\s+by|seen\s+by|reviewed\s+by|referred\s+by|"
        r"written\s+by|typed\s+by|verified\s+by|approved\s+by|electronically\s+signed\s+by|"
        r"dear|my\s+name\s+is|name\s+is|call\s+me|accompanied\s+by(?:\s+(?:his|her|their)"
        r"\s+\w+)?,?|(?:his|her|their)\s+(?:wife|husband|partner|son|daughter|mother|father|"
        r"brother|sister|niece|nephew|carer|friend|neighbour|neighbor),?)"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("titled_name", rf"(?<!\w){_TITLES}\.?[ \t]+(?P<id>{_NAME_SEQ})(?!\w)", 0.85),
        Pattern(
            "role_name",
            rf"(?<!\w){_ROLES_COLON}[ \t]*[:\-][ \t]*(?P<id>{_NAME_SEQ})(?!\w)",
            0.6,
        ),
        # "RE: HUGHES, Kevin" -- surname in capitals, then given name(s).
        Pattern(
            "surname_first",
            rf"(?:^|(?<=(?i:re|patient|name|pt|cc)[ \t]*[:\-][ \t]*))"
            rf"(?P<id>\p{{Lu}}{{2,}}(?:[-'’]\p{{Lu}}+)*,[ \t]*{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)(?!\w)",
            0.7,
        ),
        Pattern("phrase_name", rf"(?<!\w){_ROLES_FREE}[ \t]+(?P<id>{_NAME_SEQ})(?!\w)", 0.6),
        Pattern(
            "signature",
            r"(?i:yours\s+(?:sincerely|faithfully|truly)|kind\s+regards|best\s+wishes|"
            rf"with\s+best\s+wishes|regards),?[ \t]*\n(?:[ \t]*\n)*[ \t]*(?:{_TITLES}\.?[ \t]+)?"
            rf"(?P<id>{_NAME_SEQ})",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["dr", "consultant", "nurse", "signed", "seen"]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Trim non-name words ("Dr Patel Hospital" keeps "Patel"); "Drug name: X" names a thing."""
        if _THING_LABEL.search(text, max(0, start - 40), start):
            return None
        return _trim_name(text, start, end)


# "Drug name:", "product name -": the label names a thing, not a person.
_THING_LABEL = regex.compile(
    r"(?i)\b(?:drug|brand|generic|product|medication|medicine|file|user|company|business|street|"
    r"trade|domain|host|code|test|study|project|team|ward|unit|device|model|account|club|band|"
    r"song|book|film|pet|trial|programme|program|app|lab|hospital|clinic)[ \t]+name[ \t]*[:\-][ \t]*$"
)


_GENERIC_FACILITY_WORDS = frozenset(
    """the a an our your their this oncology diabetes diabetic cardiology cardiac fracture
    breast outpatient outpatients day pain memory eye dental renal surgical medical antenatal
    postnatal sexual lipid heart chest respiratory rheumatology dermatology neurology urology
    haematology hematology endocrine endocrinology gastroenterology hepatology vascular
    anticoagulation warfarin foot wound smoking weight obesity sleep stroke tia falls
    multidisciplinary mdt joint specialist virtual telephone follow-up new review emergency
    urgent general community walk-in minor injuries injury cancer paediatric pediatric
    children's women's maternity mental health acute critical intensive care high dependency
    orthopaedic orthopedic ent ophthalmology gynaecology gynecology colorectal upper lower gi
    thoracic lung prostate skin plastic rapid access one-stop nurse-led consultant-led
    infusion chemotherapy radiotherapy dialysis transplant hiv sti gum travel vaccination
    immunisation family planning palliative hospice local nearest nearby private
    """.split()
)
_FACILITY_SUFFIX = (
    r"(?:Hospitals?|HOSPITAL|Infirmary|INFIRMARY|Medical\s+Cent(?:er|re)|Health\s+Cent(?:er|re)|"
    r"Health\s+System|Healthcare|Health\s+Care|Cancer\s+(?:Cent(?:er|re)|Institute)|"
    r"Clinic|CLINIC|Hospice|Medical\s+Practice|Family\s+Practice|Medical\s+Group|"
    r"(?:NHS\s+)?(?:Foundation\s+)?Trust|Nursing\s+Home|Care\s+Home|Surgery|Cent(?:er|re))"
)


class HospitalRecognizer(ClinicalPatternRecognizer):
    """Hospitals, clinics, practices and wards by name ("St Mary's Hospital", "Ward 7B").

    A department ("Diabetes Clinic") is not an identifier; only a name-bearing facility is,
    so candidates made only of generic service words are rejected.
    """

    ENTITY = "HOSPITAL"
    CASE_SENSITIVE = True
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "facility_name",
            r"(?<!\w)(?P<id>(?:(?:St\.?|Saint|ST\.?)[ \t]+)?(?:[\p{Lu}][\p{L}'’&.-]*[ \t]+){1,5}"
            + _FACILITY_SUFFIX
            + r")(?!\w)",
            0.75,
        ),
        Pattern(
            "ward_number",
            r"(?<!\w)(?P<id>Ward[ \t]+(?:\d{1,3}[A-Z]?|[A-Z]\d{0,2})"
            r"(?:[ \t]+(?:East|West|North|South|Wing))?)(?!\w)",
            0.8,
        ),
        Pattern("ward_named", r"(?<!\w)(?P<id>(?:[\p{Lu}][\p{Ll}'’-]+[ \t]+){1,2}Ward)(?!\w)", 0.7),
    ]
    CONTEXT: ClassVar[list[str]] = ["hospital", "clinic", "ward", "admitted", "seen"]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Strip generic leading words; keep only facilities with a proper name."""
        words = list(regex.finditer(r"\S+", text[start:end]))
        if words and words[0].group() == "Ward":
            return start, end
        i = 0
        while i < len(words) and words[i].group().lower() in _GENERIC_FACILITY_WORDS:
            i += 1
        rest = words[i:]
        suffix_words = {
            "hospital", "hospitals", "infirmary", "medical", "center", "centre", "health",
            "system", "healthcare", "care", "cancer", "institute", "clinic", "hospice",
            "practice", "family", "group", "nhs", "foundation", "trust", "nursing", "home",
            "surgery", "ward",
        }  # fmt: skip
        if not rest or all(w.group().lower() in suffix_words for w in rest):
            return None
        return start + rest[0].start(), end


class LicenseRecognizer(ClinicalPatternRecognizer):
    """Professional and driving licence numbers (labelled): DEA, NPI, GMC, licence no."""

    ENTITY = "LICENSE"
    _LABELS = (
        r"(?:driver'?s?\s+|driving\s+|medical\s+|nursing\s+|professional\s+)?licen[cs]e|"
        r"lic\.|DEA|NPI|GMC|NMC|HCPC|DL|(?:GMC|NMC|HCPC|professional)\s+registration"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "license_labelled",
            rf"(?<![\w])(?:{_LABELS}){_NUM_WORD}{_SEP}\(?[ \t]*"
            r"(?P<id>(?:[A-Z]{2}[ \t])?[A-Z]{0,3}[-\s]?\d[A-Z0-9-]{3,18})(?![\w])",
            0.85,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["license", "licence", "dea", "npi", "gmc"]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Require at least 4 digits."""
        return (start, end) if _digits(text[start:end]) >= 4 else None


_VIN_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


def vin_checksum_ok(vin: str) -> bool:
    """North American VIN check digit (position 9), ISO 3779 transliteration."""
    vin = vin.upper()
    if len(vin) != 17 or any(c not in _VIN_TRANSLIT for c in vin):
        return False
    total = sum(_VIN_TRANSLIT[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    check = total % 11
    return vin[8] == ("X" if check == 10 else str(check))


class VehicleRecognizer(ClinicalPatternRecognizer):
    """Vehicle identifiers: labelled plates/registrations and check-digit-valid VINs."""

    ENTITY = "VEHICLE"
    _LABELS = (
        r"(?i:licen[cs]e\s+plate|number\s+plate|plate|VIN|vehicle\s+(?:registration|reg|id)|"
        r"car\s+(?:registration|reg)|reg(?:istration)?\s+(?:plate|number|no\.?|mark)|"
        r"vehicle|car|van|truck)"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "vehicle_labelled",
            rf"(?<!\w){_LABELS}(?i:{_NUM_WORD}){_SEP}(?P<id>[A-Z0-9]{{2,17}}(?:[ -][A-Z0-9]{{1,8}})?)(?!\w)",
            0.85,
        ),
        Pattern("vin", r"(?<!\w)(?P<id>[A-HJ-NPR-Z0-9]{17})(?!\w)", 0.3),
    ]
    CASE_SENSITIVE = True
    CONTEXT: ClassVar[list[str]] = ["vehicle", "plate", "vin", "car", "registration"]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """A plate has a digit; a 17-character run must pass the VIN check digit."""
        value = text[start:end]
        if not any(c.isdigit() for c in value):
            return None
        if len(value) == 17 and " " not in value and "-" not in value:
            return (start, end) if vin_checksum_ok(value) else None
        return start, end

    def validate_result(self, pattern_text: str) -> bool | None:
        """VINs are validated in ``accept``; nothing more to check here."""
        return None


class DeviceSerialRecognizer(ClinicalPatternRecognizer):
    """Device serial numbers: after "serial", "S/N", "UDI", or near a named device."""

    ENTITY = "DEVICE"
    _LABELS = (
        r"serial(?:\s+(?:no\.?|number|#))?(?:\s+(?:SN|S/N))?|S/N|SN|device\s+(?:id|serial|no\.?)|"
        r"UDI|IMEI|"
        r"(?:model|lot)\s+(?=no|num|#)"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("serial_labelled", _labelled(_LABELS, r"[A-Z0-9](?:[A-Z0-9]|[-/.](?=\w)){3,30}"), 0.85),
        Pattern(
            "device_nearby",
            r"(?i:pump|pacemaker|CGM|ICD|defibrillator|sensor|implant|monitor|stimulator|"
            r"device|generator|transmitter)\b[^\n]{0,40}?(?<![\w-])(?P<id>[A-Z]{2,6}-?\d{5,14}[A-Z0-9]*)(?!\w)",
            0.7,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["serial", "device", "pump", "pacemaker", "cgm"]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """A serial has a digit and at least 5 characters (after its label)."""
        value = text[start:end]
        return (start, end) if _digits(value) >= 1 and len(value) >= 5 else None


_STREET_SUFFIX_WORDS = (
    "Street|St|Avenue|Ave|Av|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|"
    "Way|Terrace|Ter|Close|Crescent|Cres|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|"
    "Trail|Trl|Loop|Row|Walk|Gardens|Gdns|Grove|Hill|Park|Mews|Plaza|Pike|Alley|Path|"
    "Point|Pt|Ridge|Run|Crossing|Xing|Heights|Hts|View|Vale|Green|Rise|Parade|Broadway|"
    "Route|Rte|Expressway|Freeway|Turnpike|Causeway|Esplanade|Quay|Wharf|Yard|Hollow|Bend|"
    "Cove|Creek|Estates?|Glen|Meadows?|Pass|Springs?|Station|Summit|Village|Wynd|Brae|Gate"
)
_STREET_SUFFIX = "(?:" + _STREET_SUFFIX_WORDS + "|" + _STREET_SUFFIX_WORDS.upper() + ")"
#: English street suffixes (title or upper case), shared with ``addresses.py``.
STREET_SUFFIX = _STREET_SUFFIX
_UK_POSTCODE_RX = r"(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)[ \t]?\d[ABD-HJLNP-UW-Z]{2}"
_UNIT = r"(?:Apt|APT|Apartment|Suite|SUITE|Ste|STE|Unit|UNIT|Flat|FLAT|Fl|Floor|Room|Rm|Bldg|Building|#)"


class StreetAddressRecognizer(ClinicalPatternRecognizer):
    """Street lines (number + words + street suffix, optional unit) and PO boxes.

    Presidio has no street recognizer and NER rarely tags a street line as a whole.
    """

    ENTITY = "ADDRESS"
    CASE_SENSITIVE = True
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "street_line",
            r"(?<![\w/.-])(?P<id>\d{1,6}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?,?[ \t]+"
            r"(?:(?:[NSEW]\.?|North|South|East|West|NORTH|SOUTH|EAST|WEST)[ \t]+)?"
            r"(?:(?:\p{Lu}[\p{L}'’.-]*|\d{1,4}(?:st|nd|rd|th))[ \t]+){1,4}"
            + _STREET_SUFFIX
            + r"\.?(?:[ \t]+(?:[NSEW]|NE|NW|SE|SW)\.?(?!\w))?"
            r"(?:,?[ \t]+" + _UNIT + r"\.?[ \t]*#?[ \t]*[A-Za-z0-9-]{1,6})?)(?![\w'])",
            0.8,
        ),
        Pattern(
            "unit_line",
            r"(?<!\w)(?P<id>(?:Apt|APT|Apartment|Suite|SUITE|Ste|Flat|FLAT)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?)(?!\w)",
            0.6,
        ),
        Pattern(
            "address_labelled",
            r"(?i:(?<!\w)(?:(?:home|postal|mailing|billing|current|new)\s+)?address(?:\s+is)?|"
            r"lives\s+at|living\s+at|resides\s+at|residing\s+at)[ \t]*[:\-]?[ \t]*"
            r"(?P<id>\d{1,6}[A-Za-z]?[ \t,]+\p{Lu}[^\n;:]{2,60}?)(?=[ \t]*(?:\n|$|[.;](?:\s|$)|,[ \t]*\p{Lu}))",
            0.75,
        ),
        # "Fulham Road, London": a named street without a house number (strong suffixes only).
        Pattern(
            "street_no_number",
            r"(?<![\w'’])(?P<id>(?:\p{Lu}[\p{Ll}'’-]+[ \t]+){1,3}"
            r"(?:Street|Road|Lane|Avenue|Boulevard|Crescent|Terrace|Gardens|Grove|Parkway|Drive|Close))"
            r"(?![\w'’])",
            0.6,
        ),
        # A header line that is only a house number and a name ("27 Kingsway"), with a
        # postcode/ZIP within the next two lines (so "1 Hypertension" in a numbered problem
        # list is not an address).
        Pattern(
            "house_line",
            r"(?m)^[ \t>]*(?P<id>\d{1,5}[A-Za-z]?[ \t]+\p{Lu}[\p{L}'’.-]+(?:[ \t]+\p{Lu}[\p{L}'’.-]+){0,3})[ \t]*$"
            r"(?=\n(?:[^\n]*\n){0,1}[^\n]*(?:" + _UK_POSTCODE_RX + r"|(?<!\d)\d{5}(?!\d)))",
            0.6,
        ),
        Pattern("po_box", r"(?<!\w)(?P<id>P\.?[ \t]?O\.?[ \t]*Box[ \t]+\d{1,6})(?!\w)", 0.85),
        Pattern(
            "military",
            r"(?<!\w)(?P<id>(?:PSC|Unit|USNS|USS|USNV|USCGC)[ \t]+[\p{L}\d ,]{1,30}?\n?[ \t]*"
            r"(?:APO|FPO|DPO)[ \t]+A[AEP][ \t]+\d{5})(?!\w)",
            0.85,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["address", "lives", "resides", "street"]


_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|"
    "NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP"
)
_US_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|"
    "Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|"
    "Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|"
    "New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|"
    "Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|"
    "Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming|Puerto Rico"
)
_UK_POSTCODE = r"(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)[ \t]?\d[ABD-HJLNP-UW-Z]{2}"


class ZipRecognizer(ClinicalPatternRecognizer):
    """US ZIP codes next to a state or a ZIP label, and UK postcodes."""

    ENTITY = "ZIP"
    CASE_SENSITIVE = True
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "zip_after_state",
            rf"(?<!\w)(?:{_US_STATES}|{_US_STATE_NAMES})\.?,?[ \t]+(?P<id>\d{{5}}(?:-\d{{4}})?)(?![\w-])",
            0.85,
        ),
        Pattern(
            "zip_labelled",
            r"(?<!\w)(?i:zip(?:\s*code)?|postal\s+code|post\s*code)[ \t]*[:#]?[ \t]*"
            rf"(?P<id>\d{{5}}(?:-\d{{4}})?|\d{{4}}|{_UK_POSTCODE})(?![\w-])",
            0.85,
        ),
        Pattern("uk_postcode", rf"(?<![\w-])(?P<id>{_UK_POSTCODE})(?![\w-])", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["zip", "postcode", "postal"]


class LabelledPhoneRecognizer(ClinicalPatternRecognizer):
    """Phone/fax/pager numbers after a label, whatever their national format.

    Presidio's phone recognizer (libphonenumber) misses numbers written in local formats
    it cannot place; a "Tel:" label removes the doubt.
    """

    ENTITY = "PHONE_NUMBER"
    _LABELS = (
        r"tel|telephone|phone|ph|mobile|mob|cell|cellphone|fax|facsimile|contact|call|pager|"
        r"bleep|ext|extension|desk|office|home|work|landline|whatsapp|sms|text"
    )
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "phone_labelled",
            rf"(?<!\w)(?:{_LABELS})\.?(?:\s*(?:no\.?|number|#))?\s*(?:on|at)?\s*[:#]?\s*"
            r"(?P<id>\+?\(?\d[\d \t().-]{4,22}\d(?:\s*(?:x|ext\.?)\s*\d{1,5})?)(?![\w])",
            0.7,
        ),
        Pattern(
            "phone_common",
            r"(?<![\w+.-])(?P<id>(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}"
            r"(?:\s*(?:x|ext\.?)\s*\d{1,5})?)(?![\w-])",
            0.5,
        ),
        # International (+CC) and trunk-prefixed (0...) numbers in spaced digit groups.
        Pattern(
            "phone_international",
            r"(?<![\w+])(?P<id>\+\d{1,3}[ \t.-]?(?:\(0?\d{1,4}\)[ \t.-]?)?\d{1,4}"
            r"(?:[ \t.-]?\d{2,4}){1,4})(?![\w])",
            0.6,
        ),
        # Unlabelled local formats, anchored by what is said around them: "call me on
        # 9472 7916", "messages to 699 956 915", "416 60 039 office", "07700 063 966-Fax".
        Pattern(
            "phone_said_before",
            r"(?i:call(?:ed|ing)?\s+(?:me\s+|us\s+|him\s+|her\s+)?(?:on|at)|ring\s+(?:me\s+)?(?:on|at)|"
            r"reach(?:ed)?\s+(?:me\s+|us\s+)?(?:on|at)|text(?:ed)?\s+(?:me\s+)?(?:on|at)|answering\s+at|"
            r"messages?\s+(?:to|on|at)|registered(?:\s+(?:number|phone|mobile))?|number\s+is|"
            r"contact(?:ed)?\s+(?:me\s+|us\s+)?(?:on|at))[ \t]*[:#]?[ \t]*"
            r"(?P<id>\+?\(?\d{1,4}\)?(?:[ \t.-]?\(?\d{1,5}\)?){1,6}(?:\s*(?:x|ext\.?)\s*\d{1,5})?)(?![\w/])",
            0.6,
        ),
        Pattern(
            "phone_label_after",
            r"(?<![\w+./:-])(?<!\d,)"
            r"(?P<id>\+?\(?\d{1,4}\)?(?:[ \t.-]?\(?\d{1,5}\)?){1,6}(?:\s*(?:x|ext\.?)\s*\d{1,5})?)"
            r"(?:[ \t]*[-–][ \t]*|[ \t]+)(?i:office|fax|mobile|cell|home|work|landline|tel|phone)\b",
            0.6,
        ),
        Pattern(
            "phone_trunk",
            r"(?<![\w.,/:+-])(?P<id>\(?0\d{1,4}\)?(?:[ \t.-]\d{2,6}){1,4})(?![\w/-]|[.,]\d)",
            0.45,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["phone", "tel", "fax", "mobile", "call", "contact"]

    def accept(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Between 7 and 15 digits (E.164), trailing separators trimmed."""
        while end > start and text[end - 1] in " \t.-(":
            end -= 1
        n = _digits(text[start:end])
        return (start, end) if 7 <= n <= 16 else None


class LabelledSsnRecognizer(ClinicalPatternRecognizer):
    """US SSNs after an SSN label, in any grouping (``123 45 6789``, ``123456789``).

    Presidio's own SSN recognizer scores an unformatted 9-digit run very low and needs its
    context word within a few tokens; a label right before the number settles it.
    """

    ENTITY = "SSN"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "ssn_labelled",
            r"(?<!\w)(?:SSN|SS\s*#|SSN\s*#|social\s+security(?:\s+(?:no\.?|number|#))?)"
            r"(?:\s+on\s+file)?\s*[:#]?\s*(?:is\s+)?(?P<id>\d{3}[- ]?\d{2}[- ]?\d{4})(?!\d)",
            0.9,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["ssn", "social", "security"]

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Numbers the SSA never issues (area 000/666/9xx, group 00, serial 0000)."""
        d = "".join(c for c in pattern_text if c.isdigit())
        return d[:3] in ("000", "666") or d[0] == "9" or d[3:5] == "00" or d[5:] == "0000"


class CityStateRecognizer(ClinicalPatternRecognizer):
    """City and state in a US address line ("Denver, CO 80273"): the ZIP anchors them."""

    ENTITY = "LOCATION"
    CASE_SENSITIVE = True
    _CITY = r"(?:\p{Lu}[\p{L}'’.-]+[ \t]){0,2}\p{Lu}[\p{L}'’.-]+"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "city_before_state",
            rf"(?<![\w])(?P<id>{_CITY}),[ \t]*(?:{_US_STATES}|{_US_STATE_NAMES})\.?,?[ \t]+\d{{5}}",
            0.8,
        ),
        Pattern(
            "state_before_zip",
            rf"(?<=,[ \t]*|\n[ \t]*)(?P<id>{_US_STATES}|{_US_STATE_NAMES})(?=\.?,?[ \t]+\d{{5}}(?:-\d{{4}})?(?!\d))",
            0.8,
        ),
    ]
    PATTERNS = [
        *PATTERNS,
        Pattern(
            "town_before_postcode",
            rf"(?<![\w])(?P<id>{_CITY}),?[ \t]+(?={_UK_POSTCODE}(?![\w-]))",
            0.7,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["address", "city", "state"]


class WebAddressRecognizer(ClinicalPatternRecognizer):
    """URLs: with a scheme, starting ``www.``, or a bare domain followed by a path.

    Presidio's URL recognizer was 40% of our analysis time (one large regex plus a public
    suffix lookup per candidate); letters write URLs in these few plain forms.
    """

    ENTITY = "URL"
    _TLD = r"(?:com|org|net|edu|gov|mil|int|io|info|biz|health|care|nhs\.uk|co\.uk|org\.uk|ac\.uk|[a-z]{2})"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("url_scheme", r"(?<![\w@])(?:https?|ftp)://[^\s<>\"'()\[\]]+", 0.9),
        Pattern("url_www", r"(?<![\w@.])www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[^\s<>\"'()]*)?", 0.85),
        Pattern(
            "url_domain_path",
            rf"(?<![\w@./-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.{_TLD}/[^\s<>\"'()]+",
            0.7,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["portal", "website", "link", "url", "web"]


class ClinicalDateRecognizer(ClinicalPatternRecognizer):
    """Dates in the styles clinicians write, found by ``dates.find_dates`` (what it shifts).

    Besides full dates: weekday names, years in date context ("in 2019"), year ranges and
    decades (``dates.PARTIAL_DATE_KINDS``), whose context is judged in ``dates.py``, not by
    one regex. One finder for detection and shifting means every finding can be shifted.
    """

    ENTITY = "DATE"
    CASE_SENSITIVE = True
    PATTERNS: ClassVar[list[Pattern]] = [Pattern(n, rx, s) for n, rx, s in DATE_PATTERNS]
    CONTEXT: ClassVar[list[str]] = ["date", "dob", "born", "on", "seen"]

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """One result per date ``find_dates`` finds (longest match, no overlaps)."""
        results = []
        for span in find_dates(text):
            score = date_score(span.kind)
            explanation = AnalysisExplanation(
                recognizer=self._label,
                original_score=score,
                pattern_name=span.kind,
                textual_explanation=f"Detected by `{self._label}` as a date ({span.kind})",
            )
            results.append(
                RecognizerResult(
                    entity_type=self.ENTITY,
                    start=span.start,
                    end=span.end,
                    score=score,
                    analysis_explanation=explanation,
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self._label,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
            )
        return results


#: Registry of clinical recognizer classes by the name used in ``recognizers.yaml``.
CLINICAL_RECOGNIZERS: dict[str, type[ClinicalPatternRecognizer]] = {
    cls.__name__: cls
    for cls in (
        MrnRecognizer,
        HealthPlanRecognizer,
        AccountRecognizer,
        NhsNumberRecognizer,
        AgeOver89Recognizer,
        ClinicianNameRecognizer,
        HospitalRecognizer,
        LicenseRecognizer,
        VehicleRecognizer,
        DeviceSerialRecognizer,
        StreetAddressRecognizer,
        ZipRecognizer,
        LabelledPhoneRecognizer,
        LabelledSsnRecognizer,
        CityStateRecognizer,
        WebAddressRecognizer,
        ClinicalDateRecognizer,
    )
}


def build_clinical(names: Iterable[str], overrides: dict[str, dict[str, Any]] | None = None):
    """Instantiate the named clinical recognizers (unknown names raise ``KeyError``)."""
    overrides = overrides or {}
    out = []
    for name in names:
        cls = CLINICAL_RECOGNIZERS[name]
        out.append(cls(**overrides.get(name, {})))
    return out
