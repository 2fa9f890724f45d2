"""The clinical question this deployment answers: its alternatives, covariates and outcomes.

One place for the scenario, shared by the demo generator, the cohort derivation, the model runs and
every surface that names an alternative. The shipped scenario is second-line therapy for type 2
diabetes after metformin.
"""

from __future__ import annotations

#: Alternatives in display order, code -> label.
ALTERNATIVE_LABELS: dict[str, str] = {
    "sglt2i": "SGLT2 inhibitor",
    "glp1ra": "GLP-1 receptor agonist",
    "dpp4i": "DPP-4 inhibitor",
    "basal_insulin": "Basal insulin",
}
ALTERNATIVES: tuple[str, ...] = tuple(ALTERNATIVE_LABELS)
#: The comparator effects are reported against by default (weight- and hypoglycaemia-neutral).
REFERENCE = "dpp4i"

COVARIATE_LABELS: dict[str, str] = {
    "age": "Age (years)",
    "sex": "Sex",
    "ethnicity_group": "Ethnicity group",
    "bmi": "BMI (kg/m²)",
    "egfr": "eGFR (mL/min/1.73m²)",
    "hba1c_baseline": "Baseline HbA1c (mmol/mol)",
    "diabetes_duration": "Diabetes duration (years)",
    "cvd": "Cardiovascular disease",
    "heart_failure": "Heart failure",
    "deprivation_quintile": "Deprivation quintile (1 = most deprived)",
}
COVARIATES: list[str] = list(COVARIATE_LABELS)
#: Covariates recorded as 0/1 flags: shown as yes/no, never as a bare number.
YES_NO_COVARIATES: frozenset[str] = frozenset({"cvd", "heart_failure"})

OUTCOMES: dict[str, str] = {
    "hba1c_change": "HbA1c change at 6 months (mmol/mol)",
    "adverse_event": "Adverse event",
}
OUTCOME_KIND: dict[str, str] = {"hba1c_change": "continuous", "adverse_event": "binary"}
