"""The decision as a FHIR R4 document Bundle for other systems, validated with ``fhir.resources.R4B``.

The mapping (documented in docs/exports.md) keeps the team's decision (CarePlan) apart from what
the model said (RiskAssessment per alternative, GuidanceResponse + Device for the run), and says who
did what in a Provenance and an AuditEvent. The patient appears only as a pseudonymous identifier:
no name, birth date or address ever leaves the workbench this way. ``urn:uuid`` full URLs derive
from the decision id and content hash, so re-exporting an unchanged decision gives the same ids.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import uuid
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.guidanceresponse import GuidanceResponse
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.provenance import Provenance
from fhir.resources.R4B.riskassessment import RiskAssessment

from workbench.export import record as rec
from workbench.review.decisions import DecisionRecord

BASE = "https://casereview.example.org/fhir"
PSEUDONYM_SYSTEM = f"{BASE}/sid/pseudonym"
USERNAME_SYSTEM = f"{BASE}/sid/username"
DECISION_SYSTEM = f"{BASE}/sid/decision"
RUN_SYSTEM = f"{BASE}/sid/model-run"
ALTERNATIVE_SYSTEM = f"{BASE}/CodeSystem/alternative"
OUTCOME_SYSTEM = f"{BASE}/CodeSystem/predicted-outcome"
DOCUMENT_SYSTEM = f"{BASE}/CodeSystem/document-type"
EXT = f"{BASE}/StructureDefinition"
UCUM = "http://unitsofmeasure.org"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)
#: Qualitative adverse-event risk bands (HL7 risk-probability codes); cut-offs are the team's convention.
RISK_BANDS = (
    (0.10, "low", "Low likelihood"),
    (0.25, "moderate", "Moderate likelihood"),
    (1.01, "high", "High likelihood"),
)


def _full_url(record: DecisionRecord, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{record.id}/{record.content_hash}/{key}')}"


def _ref(url: str, display: str | None = None) -> dict[str, Any]:
    return {"reference": url, **({"display": display} if display else {})}


def _iso(value: Any) -> str:
    return rec.timestamp(value)


def _narrative(*paragraphs: str) -> dict[str, str]:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body or "<p/>"}</div>'}


def _dec(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def _quantity(value: float, unit: str = rec.OUTCOME_UNIT) -> dict[str, Any]:
    return {"value": _dec(value), "unit": unit, "system": UCUM, "code": unit}


def _summary_extension(url: str, e: rec.Estimate, prefix: str, reference: str | None = None) -> dict[str, Any] | None:
    """Mean and 50%/90% interval bounds as a complex extension (FHIR has no posterior-interval type)."""
    parts = []
    for name in ("mean", "q05", "q25", "q75", "q95"):
        value = getattr(e, f"{prefix}{name}")
        if value is not None:
            parts.append({"url": name, "valueQuantity": _quantity(value)})
    if not parts:
        return None
    if reference is not None:
        parts.append({"url": "reference", "valueCoding": {"system": ALTERNATIVE_SYSTEM, "code": reference}})
    return {"url": f"{EXT}/{url}", "extension": parts}


def _risk_assessment(
    record: DecisionRecord, e: rec.Estimate, urls: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, Any]:
    ref = rec.reference(record)
    mid = rec.mid(record)
    ref_label = labels.get(ref or "", rec.label_of(record, ref))
    predictions: list[dict[str, Any]] = []
    if e.code != ref and e.p_benefit is not None:
        pred: dict[str, Any] = {
            "outcome": {
                "coding": [{"system": OUTCOME_SYSTEM, "code": "hba1c-benefit-beyond-mid"}],
                "text": f"HbA1c at 6 months lower than with {ref_label} by more than {mid:g} {rec.OUTCOME_UNIT}",
            },
            "probabilityDecimal": _dec(e.p_benefit),
            "rationale": "Posterior probability that the expected effect exceeds the minimal important difference.",
        }
        effect = _summary_extension("effect-vs-reference", e, "effect_", reference=ref)
        if effect:
            pred["extension"] = [effect]
        predictions.append(pred)
    if e.p_best is not None:
        predictions.append(
            {
                "outcome": {
                    "coding": [{"system": OUTCOME_SYSTEM, "code": "best-expected-hba1c-change"}],
                    "text": "Largest expected HbA1c fall among the alternatives compared",
                },
                "probabilityDecimal": _dec(e.p_best),
            }
        )
    if e.ae_mean is not None:
        code, display = next((c, d) for cut, c, d in RISK_BANDS if e.ae_mean < cut)
        ae: dict[str, Any] = {
            "outcome": {
                "coding": [{"system": OUTCOME_SYSTEM, "code": "adverse-event-6m"}],
                "text": "Adverse event within 6 months",
            },
            "probabilityDecimal": _dec(e.ae_mean),
            "qualitativeRisk": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/risk-probability",
                        "code": code,
                        "display": display,
                    }
                ]
            },
        }
        if e.ae_q05 is not None and e.ae_q95 is not None:
            ae["extension"] = [
                {
                    "url": f"{EXT}/probability-interval-90",
                    "valueRange": {
                        "low": {"value": _dec(e.ae_q05), "unit": "1", "system": UCUM, "code": "1"},
                        "high": {"value": _dec(e.ae_q95), "unit": "1", "system": UCUM, "code": "1"},
                    },
                }
            ]
        predictions.append(ae)
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "code": {
            "coding": [{"system": ALTERNATIVE_SYSTEM, "code": e.code, "display": labels.get(e.code, e.label)}],
            "text": f"Predicted outcomes under {labels.get(e.code, e.label)}",
        },
        "subject": _ref(urls["patient"]),
        "occurrenceDateTime": _iso(record.signed_at),
        "performer": _ref(urls["model"]),
        "method": {"text": str((record.estimates or {}).get("run_version", "model run"))},
        "basis": [_ref(urls["guidance"])],
        "prediction": predictions or None,
    }
    expected = _summary_extension("expected-outcome", e, "")
    if expected:
        resource["extension"] = [expected]
    notes = []
    if e.overlap_warning:
        notes.append(
            {
                "text": "Extrapolation: few comparable patients received this alternative; "
                "less certain than its interval."
            }
        )
    notes += [{"text": c} for c in rec.run_caveats(record)]
    if notes:
        resource["note"] = notes
    return {k: v for k, v in resource.items() if v is not None}


def decision_bundle(
    record: DecisionRecord,
    *,
    alternatives_labels: Mapping[str, str] | None = None,
    exported_at: dt.datetime | None = None,
    exported_by: str | None = None,
) -> dict[str, Any]:
    """Build the FHIR R4 document Bundle for a signed decision, validated with fhir.resources R4B.

    Parameters
    ----------
    record
        The decision (frozen estimates included).
    alternatives_labels
        Code -> display label; default the labels frozen with the estimates.
    exported_at, exported_by
        When and by whom (username) the export happened, for the AuditEvent; default now and the
        signer. Fixed in tests for reproducible output.

    Returns
    -------
    dict
        FHIR JSON (``resourceType: Bundle``, ``type: document``), ready for ``json.dumps``.
    """
    exported = exported_at or dt.datetime.now(dt.UTC)
    items = rec.estimates(record)
    labels = {e.code: e.label for e in items} | dict(alternatives_labels or {})
    est = record.estimates or {}
    keys = ["composition", "patient", "signer", "decision", "guidance", "parameters", "model", "provenance", "audit"]
    keys += [f"risk/{e.code}" for e in items]
    urls = {k: _full_url(record, k) for k in keys}
    chosen_label = labels.get(record.chosen_alternative, rec.label_of(record, record.chosen_alternative))
    leading_label = labels.get(record.leading_alternative or "", rec.label_of(record, record.leading_alternative))
    signed = _iso(record.signed_at)
    decision_id = {"system": DECISION_SYSTEM, "value": str(record.id)}
    hash_ext = {"url": f"{EXT}/content-hash", "valueString": record.content_hash}
    run_version = str(est.get("run_version", "unknown v?"))
    model_name, _, model_version = run_version.rpartition(" v")
    model_name = model_name or run_version
    run_id = est.get("run_id", record.model_run_id)

    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": PSEUDONYM_SYSTEM, "value": record.pseudonym}],
    }
    signer = {
        "resourceType": "Practitioner",
        "identifier": [{"system": USERNAME_SYSTEM, "value": record.signed_by}],
    }
    model = {
        "resourceType": "Device",
        "identifier": [{"system": RUN_SYSTEM, "value": str(run_id)}],
        "deviceName": [{"name": run_version, "type": "model-name"}],
        "type": {"text": "Bayesian treatment-effect model (software)"},
        "version": [{"value": model_version or "unknown"}],
        "note": [{"text": c} for c in rec.run_caveats(record)] or None,
    }
    model = {k: v for k, v in model.items() if v is not None}
    parameters: dict[str, Any] = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "leading-alternative",
                "valueCoding": {
                    "system": ALTERNATIVE_SYSTEM,
                    "code": record.leading_alternative or "none",
                    "display": leading_label,
                },
            },
            {
                "name": "reference-alternative",
                "valueCoding": {"system": ALTERNATIVE_SYSTEM, "code": rec.reference(record) or "none"},
            },
            {"name": "min-important-difference", "valueQuantity": _quantity(rec.mid(record) or 0.0)},
            {"name": "reliable", "valueBoolean": bool(est.get("reliable", False))},
            {"name": "approximate", "valueBoolean": bool(est.get("approximate", False))},
        ],
    }
    if est.get("ae_run_id"):
        parameters["parameter"].append({"name": "adverse-event-run", "valueString": str(est["ae_run_id"])})
    guidance = {
        "resourceType": "GuidanceResponse",
        "identifier": [{"system": RUN_SYSTEM, "value": str(run_id)}],
        "moduleCanonical": f"{BASE}/model/{model_name}|{model_version or 'unknown'}",
        "status": "success",
        "subject": _ref(urls["patient"]),
        "occurrenceDateTime": signed,
        "performer": _ref(urls["model"], run_version),
        "outputParameters": _ref(urls["parameters"]),
        "note": [{"text": w} for w in rec.warnings(record)] or None,
    }
    guidance = {k: v for k, v in guidance.items() if v is not None}
    notes = [{"text": f"Rationale: {record.rationale}"}] if record.rationale else []
    notes += [
        {"text": f"{name}: {value}"}
        for name, value in (
            ("Patient preferences", record.patient_preferences),
            ("Dissent", record.dissent),
            ("Follow-up", record.follow_up),
        )
        if value
    ]
    decision: dict[str, Any] = {
        "resourceType": "CarePlan",
        "extension": [hash_ext, {"url": f"{EXT}/agrees-with-model", "valueBoolean": bool(record.agrees_with_model)}],
        "identifier": [decision_id],
        "status": "revoked" if record.superseded else "active",
        "intent": "plan",
        "title": f"Case review decision: {chosen_label}",
        "description": record.question,
        "subject": _ref(urls["patient"]),
        "created": signed,
        "author": _ref(urls["signer"]),
        "supportingInfo": [_ref(urls["guidance"])] + [_ref(urls[f"risk/{e.code}"]) for e in items],
        "activity": [
            {
                "detail": {
                    "code": {
                        "coding": [
                            {"system": ALTERNATIVE_SYSTEM, "code": record.chosen_alternative, "display": chosen_label}
                        ],
                        "text": chosen_label,
                    },
                    "status": "not-started",
                    "description": (
                        f"Start {chosen_label} (agrees with the model's leading alternative)."
                        if record.agrees_with_model
                        else f"Start {chosen_label} (override of the model's leading alternative, {leading_label})."
                    ),
                }
            }
        ],
        "note": notes or None,
    }
    if record.supersedes_id:
        decision["replaces"] = [{"identifier": {"system": DECISION_SYSTEM, "value": str(record.supersedes_id)}}]
    decision = {k: v for k, v in decision.items() if v is not None}
    risks = {f"risk/{e.code}": _risk_assessment(record, e, urls, labels) for e in items}
    targets = [_ref(urls["decision"]), _ref(urls["composition"])] + [_ref(urls[k]) for k in risks]
    provenance = {
        "resourceType": "Provenance",
        "target": targets,
        "recorded": signed,
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "assembler",
                            "display": "Assembler",
                        }
                    ]
                },
                "who": _ref(urls["model"], run_version),
            },
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "author",
                            "display": "Author",
                        }
                    ]
                },
                "who": _ref(urls["signer"]),
            },
        ],
        "entity": [{"role": "source", "what": _ref(urls["guidance"])}],
        "signature": [
            {
                "type": [
                    {
                        "system": "urn:iso-astm:E1762-95:2013",
                        "code": "1.2.840.10065.1.12.1.1",
                        "display": "Author's Signature",
                    }
                ],
                "when": signed,
                "who": _ref(urls["signer"]),
            }
        ],
    }
    audit = {
        "resourceType": "AuditEvent",
        "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110106", "display": "Export"},
        "action": "R",
        "recorded": _iso(exported),
        "outcome": "0",
        "purposeOfEvent": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}]}
        ],
        "agent": [
            {
                "who": {"identifier": {"system": USERNAME_SYSTEM, "value": exported_by or record.signed_by}},
                "requestor": True,
            }
        ],
        "source": {"observer": {"display": "Case Review Workbench"}},
        "entity": [
            {"what": _ref(urls["decision"]), "name": f"decision {record.id} v{record.version}"},
            {"what": _ref(urls["patient"])},
        ],
    }
    attendees = (
        "; ".join(f"{a.get('name', '')} ({a.get('discipline', '')})" for a in record.attendees) or "none recorded"
    )
    sections: list[dict[str, Any]] = [
        {"title": "Question", "text": _narrative(record.question)},
        {
            "title": "Alternatives considered",
            "text": _narrative(
                *[
                    f"{e.label}: expected {rec.signed(e.mean)} {rec.OUTCOME_UNIT} (90% {rec.interval(e.q05, e.q95)}); "
                    f"P(benefit) {rec.percent(e.p_benefit)}; P(best) {rec.percent(e.p_best)}"
                    + (f"; adverse-event risk {rec.percent(e.ae_mean)}" if e.ae_mean is not None else "")
                    for e in items
                ]
            ),
            "entry": [_ref(urls[k]) for k in risks] or None,
        },
        {
            "title": "Decision",
            "text": _narrative(
                f"Chosen: {chosen_label}.",
                "Agrees with the model's leading alternative."
                if record.agrees_with_model
                else f"Override of the model's leading alternative ({leading_label}).",
                f"Rationale: {record.rationale}" if record.rationale else "",
                f"Patient preferences: {record.patient_preferences}" if record.patient_preferences else "",
                f"Dissent: {record.dissent}" if record.dissent else "",
                f"Follow-up: {record.follow_up}" if record.follow_up else "",
            ),
            "entry": [_ref(urls["decision"])],
        },
        {
            "title": "Model run",
            "text": _narrative(f"Model run {run_id}: {run_version}.", *rec.warnings(record)),
            "entry": [_ref(urls["guidance"]), _ref(urls["model"]), _ref(urls["parameters"])],
        },
        {
            "title": "Meeting",
            "text": _narrative(
                f"{record.meeting_title}, {_iso(record.meeting_date)}.",
                f"Attendees: {attendees}.",
            ),
        },
        {
            "title": "Provenance",
            "text": _narrative(
                f"Signed by {record.signed_by} at {signed}; content hash {record.content_hash}.",
                f"Exported {_iso(exported)}.",
            ),
            "entry": [_ref(urls["provenance"]), _ref(urls["audit"])],
        },
    ]
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "extension": [hash_ext],
        "identifier": {"system": DECISION_SYSTEM, "value": f"{record.id}-v{record.version}"},
        "status": "amended" if record.version > 1 else "final",
        "type": {
            "coding": [{"system": DOCUMENT_SYSTEM, "code": "case-review-decision"}],
            "text": "Multidisciplinary case review decision",
        },
        "subject": _ref(urls["patient"]),
        "date": signed,
        "author": [_ref(urls["signer"])],
        "title": f"Case review decision: {record.meeting_title} ({_iso(record.meeting_date)})",
        "attester": [{"mode": "professional", "time": signed, "party": _ref(urls["signer"])}],
        "section": [{k: v for k, v in s.items() if v is not None} for s in sections],
    }
    if record.supersedes_id:
        composition["relatesTo"] = [
            {"code": "replaces", "targetIdentifier": {"system": DECISION_SYSTEM, "value": f"{record.supersedes_id}"}}
        ]
    resources: dict[str, tuple[Any, dict[str, Any]]] = {
        "composition": (Composition, composition),
        "patient": (Patient, patient),
        "signer": (Practitioner, signer),
        "decision": (CarePlan, decision),
        **{k: (RiskAssessment, v) for k, v in risks.items()},
        "guidance": (GuidanceResponse, guidance),
        "parameters": (Parameters, parameters),
        "model": (Device, model),
        "provenance": (Provenance, provenance),
        "audit": (AuditEvent, audit),
    }
    entries = []
    for key, (cls, data) in resources.items():
        validated = cls.model_validate(data)  # fail here, naming the resource, not deep in the Bundle
        entries.append({"fullUrl": urls[key], "resource": json.loads(validated.model_dump_json(exclude_none=True))})
    bundle = {
        "resourceType": "Bundle",
        "identifier": {"system": DECISION_SYSTEM, "value": f"{record.id}-v{record.version}-{record.content_hash[:16]}"},
        "type": "document",
        "timestamp": _iso(exported),
        "entry": entries,
    }
    return json.loads(Bundle.model_validate(bundle).model_dump_json(exclude_none=True))
