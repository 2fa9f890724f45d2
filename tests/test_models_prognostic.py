"""The cross-fitted prognostic score that bcf's prognostic function takes as an input (real scikit-learn fits)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.models.prognostic import PrognosticScore


def _table(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A prognosis with a step, an interaction and a threshold: what a linear fit cannot follow."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 5))
    truth = 3.0 * (Z[:, 0] > 0.3) + 2.0 * Z[:, 1] * Z[:, 2] + 2.0 * np.maximum(Z[:, 3] - 0.5, 0.0)
    return Z, truth + rng.normal(0.0, 0.5, n), truth


def test_when_the_prognosis_is_nonlinear_then_the_score_recovers_it_where_a_linear_fit_cannot():
    Z, y, truth = _table()
    score = PrognosticScore.fit(Z, y, binary=False)
    A = np.column_stack([np.ones(len(Z)), Z])
    linear = A @ np.linalg.lstsq(A, y, rcond=None)[0]

    def r2(pred: np.ndarray) -> float:
        return 1.0 - float(np.mean((pred - truth) ** 2) / np.var(truth))

    assert r2(linear) < 0.5
    assert r2(score.stored) > 0.75  # out of fold: no patient's own outcome behind their score


def test_when_one_patient_outcome_changes_then_their_own_score_does_not():
    Z, y, _ = _table(200)
    before = PrognosticScore.fit(Z, y, binary=False)
    y2 = y.copy()
    y2[17] += 50.0
    after = PrognosticScore.fit(Z, y2, binary=False)
    assert after.stored[17] == before.stored[17]
    assert not np.array_equal(after.stored, before.stored)  # the others' fold models did see it


def test_when_refitted_on_the_same_data_then_the_score_is_identical():
    Z, y, _ = _table(300)
    assert PrognosticScore.fit(Z, y, binary=False).digest() == PrognosticScore.fit(Z, y, binary=False).digest()


def _one_fold_model_each(score: PrognosticScore, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Which fold model gave each row its score (asserting it was exactly one of them)."""
    per_model = np.stack([m.predict(rows) for m in score.models])  # (folds, rows)
    hits = per_model == scores[None, :]
    assert (hits.sum(axis=0) >= 1).all()
    return hits.argmax(axis=0)


def test_when_scoring_then_cohort_rows_keep_their_own_score_and_new_rows_get_one_fold_model():
    Z, y, _ = _table(300)
    score = PrognosticScore.fit(Z, y, binary=False)
    np.testing.assert_array_equal(score.predict(Z[::-1]), score.stored[::-1])
    new = Z[:60] + 0.01
    first = score.predict(new)
    np.testing.assert_array_equal(score.predict(new[::-1]), first[::-1])  # the same row, the same model
    used = _one_fold_model_each(score, new, first)
    assert len(np.unique(used)) == len(score.models)  # spread over the folds, not one favourite
    mixed = score.predict(np.vstack([new[:1], Z[:1]]))
    assert mixed[1] == score.stored[0] and mixed[0] == first[0]


def test_when_two_patients_share_a_covariate_row_then_they_share_a_score():
    Z, y, _ = _table(200)
    Z[50] = Z[10]
    score = PrognosticScore.fit(Z, y, binary=False)
    assert score.stored[50] == score.stored[10]
    assert score.predict(Z[[50]])[0] == score.stored[10]


def test_when_the_outcome_is_binary_then_scores_are_finite_log_odds_that_rank_the_risk():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(800, 4))
    risk = 1.0 / (1.0 + np.exp(-(-1.5 + 2.0 * (Z[:, 0] > 0) + Z[:, 1] * Z[:, 2])))
    y = (rng.random(800) < risk).astype(float)
    score = PrognosticScore.fit(Z, y, binary=True)
    assert np.isfinite(score.stored).all()
    assert np.corrcoef(score.stored, np.log(risk / (1 - risk)))[0, 1] > 0.6


def test_when_a_fold_holds_one_outcome_class_then_it_scores_that_fold_by_its_rate():
    Z = np.random.default_rng(2).normal(size=(40, 3))
    y = np.zeros(40)
    y[0] = 1.0  # one event: the folds without it have a single class
    score = PrognosticScore.fit(Z, y, binary=True)
    assert np.isfinite(score.stored).all() and np.isfinite(score.predict(Z + 1.0)).all()


def test_when_there_are_too_few_patients_then_the_score_refuses():
    with pytest.raises(ValueError, match="at least 4 patients"):
        PrognosticScore.fit(np.zeros((3, 2)), np.zeros(3), binary=False)


def test_when_learning_from_the_reference_arm_then_other_patients_outcomes_never_enter():
    Z, y, _ = _table(300)
    reference = np.arange(300) % 3 == 0
    score = PrognosticScore.fit(Z, y, binary=False, learn_from=reference)
    y2 = np.where(reference, y, y + 100.0)  # an effect of +100 in the other arms
    np.testing.assert_array_equal(PrognosticScore.fit(Z, y2, binary=False, learn_from=reference).stored, score.stored)
    # the others are scored like new patients: one fold model each, as the reference arm is
    others = ~reference
    _one_fold_model_each(score, Z[others], score.stored[others])
    np.testing.assert_array_equal(score.predict(Z[others] + 0.0), score.stored[others])


def test_when_bcf_prepares_a_cohort_then_the_score_is_used_only_where_it_can_be_learnt():
    """Continuous outcome and >= 50 reference patients: the score is a block of mu and an effect input."""
    from workbench.models.bcf import BCFModel
    from workbench.testing import demo_effect_data

    _, data, _ = demo_effect_data(400, 3)
    m = BCFModel()
    m._prepare(data)
    assert m._score is not None
    assert ("mu_score", sum(m._score_basis.sizes)) in m._layout()
    F_mu, F_tau = m._features(m._Z, m._propensity)
    assert F_mu.shape[1] == 1 + sum(m._mu_basis.sizes) + sum(m._score_basis.sizes)
    assert F_tau.shape[1] == 1 + sum(m._tau_basis.sizes) and m._tau_basis.sizes[0] == m._Z.shape[1] + 1
    # too few reference patients to learn from, or a binary outcome: 2.1's model
    _, small, _ = demo_effect_data(60, 3)
    s = BCFModel()
    s._prepare(small)
    assert s._score is None and "mu_score" not in dict(s._layout())
    _, binary, _ = demo_effect_data(400, 3, "adverse_event")
    b = BCFModel()
    b._prepare(binary)
    assert b._score is None
