"""Benchmarks of the effect engine: recovery (demo cohort, ACIC 2016), sampler speed, full-fit time.

Usage::

    python benchmarks/models_bench.py [--n 2000] [--seeds 20240601,1,2] [--shared ../shared/data]
        [--acic-settings 1,...,10] [--acic-rows 1000] [--acic-models bcf,hierarchical]
        [--skip-bcf] [--skip-speed] [--skip-acic]
        [--save var/validation.json]

Prints every figure (and writes them as JSON with ``--save``).  Nothing here is tuned against
these numbers: the models run with their default configuration, the seeds are fixed in advance.
The machine's load average is printed beside every timing, because timings on a shared 2-core
machine mean little without it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.models import EffectData
from workbench.models.bcf import BCFModel
from workbench.models.comparison import compare_runs
from workbench.models.data import Design
from workbench.models.hierarchical import HierarchicalEffectModel
from workbench.testing import DEMO_ALTERNATIVES, demo_effect_data

ALTS = DEMO_ALTERNATIVES
RESULTS: dict[str, Any] = {}


def _load() -> str:
    return "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())


def _cohort(n: int, seed: int, outcome: str = "hba1c_change") -> tuple[EffectData, np.ndarray]:
    """The demo cohort (as the dashboard fits it) and its true effects against dpp4i."""
    _, data, truth = demo_effect_data(n, seed, outcome)
    return data, truth


def _metrics(eff_draws: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    est = eff_draws.mean(axis=0)
    lo, hi = np.quantile(eff_draws, [0.05, 0.95], axis=0)
    ate_error = est.mean(axis=0) - truth.mean(axis=0)
    ate_sd = eff_draws.mean(axis=1).std(axis=0)
    return {
        "sqrt_pehe": np.sqrt(((est - truth) ** 2).mean(axis=0)),
        "ate_error": ate_error,
        "coverage90": ((truth >= lo) & (truth <= hi)).mean(axis=0),
        # the cohort-average effect's error in posterior SDs of that average (calibrated: |z| > 1.645
        # on ~10 % of pairs); one realised cohort's shared error moves every patient's interval
        "ate_z": np.divide(ate_error, ate_sd, out=np.zeros_like(ate_error), where=ate_sd > 0),
        # spread of the true individual effects: where it is 0 (ACIC 2016 settings 2 and 3) every
        # patient's interval is asked to hold the same number (see _constant_note)
        "truth_sd": truth.std(axis=0),
        "truth_mean": truth.mean(axis=0),
        # how much of the true spread of effects the estimates recover: the slope of the estimated on
        # the true effects (1: full size; well below 1: heterogeneity shrunk towards the average, which
        # a wide enough interval can still cover, so coverage alone does not show it); 0 where the
        # true effect is constant
        "spread_recovered": _slope(est, truth),
    }


def _slope(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-column least-squares slope of ``est`` on ``truth`` (0 where ``truth`` does not vary)."""
    tc = truth - truth.mean(axis=0)
    var = (tc**2).sum(axis=0)
    cov = (tc * (est - est.mean(axis=0))).sum(axis=0)
    return np.divide(cov, var, out=np.zeros_like(cov), where=var > 1e-12 * len(truth))


def _constant_note(truth_sd: float, truth_mean: float) -> str:
    """Flag a constant true effect, where per-patient coverage is not read against 85-97 %.

    With one effect for every patient, coverage of individual effects is the share of patients whose
    interval holds that one number: it measures how much spurious heterogeneity the intervals leave
    room for, and rises towards 100 % as the posterior shrinks to a homogeneous effect.  The average
    effect's z is the calibration figure there (``coverage_reference.py`` prints what an exactly
    calibrated fixed-scale posterior gives on ACIC's design with a constant effect).
    """
    if truth_sd <= 1e-6 * max(1.0, abs(truth_mean)):
        return "  [constant true effect: read the average-effect z; coverage counts room for spurious heterogeneity]"
    return ""


def _report(label: str, alts: tuple[str, ...], m: dict[str, np.ndarray], extra: str = "") -> dict[str, Any]:
    print(f"  {label} {extra}")
    out = {}
    for k, a in enumerate(alts[1:], start=1):
        print(
            f"    {a:>14}: sqrt(PEHE) {m['sqrt_pehe'][k]:.3f}  ATE error {m['ate_error'][k]:+.3f}"
            f" (z {m['ate_z'][k]:+.2f})  90% coverage {m['coverage90'][k]:.1%}"
            f"  true-effect SD {m['truth_sd'][k]:.3f}  spread recovered {m['spread_recovered'][k]:.2f}"
            f"{_constant_note(m['truth_sd'][k], m['truth_mean'][k])}"
        )
        out[a] = {key: round(float(v[k]), 4) for key, v in m.items()}
    return out


def _fit_figures(model: Any, seconds: float) -> dict[str, Any]:
    d = model.diagnostics
    return {
        "model_version": model.version,
        "sampler": model.fit_info["sampler"],
        "seconds": round(seconds, 1),
        "compile_seconds": round(float(model.fit_info.get("compile_seconds", 0.0)), 1),
        "rhat_max": round(float(d.rhat_max), 4),
        "ess_bulk_min": round(float(d.ess_bulk_min), 0),
        "ess_tail_min": round(float(d.ess_tail_min), 0),
        "divergences": int(d.divergences),
        "ppc": {k: round(float(v), 4) for k, v in d.ppc.items()},
        "passed": bool(d.passed),
        "load": _load(),
    }


def recovery(n: int, seeds: list[int], skip_bcf: bool) -> None:
    out: dict[str, Any] = {}
    comparisons: dict[str, Any] = {}
    for outcome in ("hba1c_change", "adverse_event"):
        for seed in seeds:
            data, truth = _cohort(n, seed, outcome)
            print(f"\n== Recovery on the demo cohort: {outcome}, N={n}, seed {seed}, K={len(ALTS)} ==")
            # BCF on every seed of the continuous outcome (~3 min a fit): one cohort's coverage is one
            # draw, so the card needs several; its binary fits would dominate the bench's time
            classes = [HierarchicalEffectModel]
            if not skip_bcf and outcome == "hba1c_change":
                classes.append(BCFModel)
            fitted: dict[str, Any] = {}
            for cls in classes:
                t0 = time.perf_counter()
                m = cls().fit(data, random_seed=seed, progressbar=False)
                fitted[cls.name] = m
                sec = time.perf_counter() - t0
                fig = _fit_figures(m, sec)
                d = m.diagnostics
                per_alt = _report(
                    cls.name,
                    ALTS,
                    _metrics(m.predict_effects().effect_draws("dpp4i"), truth),
                    f"[{fig['sampler']}, {sec:.1f}s ({_load()}), R-hat max {d.rhat_max:.3f}, "
                    f"divergences {d.divergences}, ESS bulk/tail min {d.ess_bulk_min:.0f}/{d.ess_tail_min:.0f}, "
                    f"PPC {fig['ppc']}, {d.label()}]",
                )
                out.setdefault(outcome, {}).setdefault(cls.name, {})[str(seed)] = fig | {"alternatives": per_alt}
            if len(fitted) > 1:
                comparisons.setdefault(outcome, {})[str(seed)] = _comparison(fitted)
    _recovery_summary(out)
    RESULTS["demo_recovery"] = {"n": n, "seeds": seeds, "results": out} | (
        {"loo_comparison": comparisons} if comparisons else {}
    )


def _recovery_summary(out: dict[str, Any]) -> None:
    """Across seeds: the procedure's coverage (mean over cohorts) beside the per-pair count.

    One cohort's coverage of individual effects is one random draw; an exactly calibrated posterior
    on the demo's design lands outside 85-97 % on about a third of pairs
    (``benchmarks/coverage_reference.py``), so the per-pair count alone does not tell calibration.
    """
    for outcome, by_model in out.items():
        for model, by_seed in by_model.items():
            if len(by_seed) < 2:
                continue
            print(f"\n== Across {len(by_seed)} seeds: {model}, {outcome} ==")
            pairs = inside = big_z = 0
            for a in ALTS[1:]:
                cov = np.array([r["alternatives"][a]["coverage90"] for r in by_seed.values()])
                z = np.array([r["alternatives"][a]["ate_z"] for r in by_seed.values()])
                pairs += len(cov)
                inside += int(((cov >= 0.85) & (cov <= 0.97)).sum())
                big_z += int((np.abs(z) > 1.645).sum())
                print(
                    f"    {a:>14}: mean 90% coverage {cov.mean():.1%} (range {cov.min():.1%}-{cov.max():.1%}); "
                    f"average-effect z {', '.join(f'{v:+.2f}' for v in z)}"
                )
            print(f"    pairs inside 85-97 %: {inside}/{pairs}; average-effect |z| > 1.645: {big_z}/{pairs}")


def _comparison(fitted: dict[str, Any]) -> dict[str, Any]:
    """Which run PSIS-LOO recommends (the hierarchical model unless bcf predicts clearly better)."""
    c = compare_runs(fitted, prefer="hierarchical")
    print(f"  PSIS-LOO: {c.recommended} recommended: {c.reason}; share of Pareto k > 0.7 {c.high_pareto_k}")
    return c.to_dict()


def _t_learner(Xs: pd.DataFrame, y: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Linear T-learner: least squares per arm on the same standardised design."""
    Z = Design.fit(Xs).transform(Xs)
    A = np.column_stack([np.ones(len(Z)), Z])
    b1 = np.linalg.lstsq(A[treated], y[treated], rcond=None)[0]
    b0 = np.linalg.lstsq(A[~treated], y[~treated], rcond=None)[0]
    return A @ b1 - A @ b0


def acic(shared: Path, settings: list[int], rows: int, models: list[str], seed: int) -> None:
    """ACIC 2016 (Dorie et al. 2019): same rows subsample for every setting, default models, linear baseline.

    ``rows`` 0 (or at least the table's 4,802) fits every row; those figures are kept under their own key,
    ``acic2016_all_rows``, beside the subsample's: a model's intervals can cover on 1,000 rows and not on
    all of them, where its posterior is narrower and a bias its basis carries is not (docs/models.md).
    """
    root = shared / "acic2016"
    if not (root / "x.csv").exists():
        print(f"\n== ACIC 2016: skipped, {root} not found ==")
        RESULTS["acic2016"] = {"skipped": f"{root} not found"}
        return
    X = pd.read_csv(root / "x.csv")
    rows = len(X) if rows <= 0 else min(rows, len(X))
    key = "acic2016_all_rows" if rows == len(X) else "acic2016"
    out: dict[str, Any] = {"rows": rows, "of_rows": len(X), "subsample_seed": seed, "settings": {}}
    classes = {"hierarchical": HierarchicalEffectModel, "bcf": BCFModel}
    for s in settings:
        z = pd.read_csv(root / f"zymu_{s}.csv")
        idx = np.sort(np.random.default_rng(seed).choice(len(X), size=rows, replace=False))
        Xs = X.iloc[idx].reset_index(drop=True)
        zs = z.iloc[idx].reset_index(drop=True)
        treated = zs["z"].to_numpy() == 1
        y = np.where(treated, zs["y1"], zs["y0"])
        truth = (zs["mu1"] - zs["mu0"]).to_numpy()
        data = EffectData.two_arms(Xs, treated, y)
        print(f"\n== ACIC 2016 setting {s}: {len(Xs)} rows of {len(X)}, true ATE {truth.mean():.3f} ==")
        lin = _t_learner(Xs, y, treated)
        base = {
            "sqrt_pehe": round(float(np.sqrt(np.mean((lin - truth) ** 2))), 4),
            "ate_error": round(float(lin.mean() - truth.mean()), 4),
        }
        print(
            f"  linear T-learner (least squares, same run): sqrt(PEHE) {base['sqrt_pehe']:.3f}  "
            f"ATE error {base['ate_error']:+.3f}"
        )
        res: dict[str, Any] = {"true_ate": round(float(truth.mean()), 4), "linear_t_learner": base}
        both = np.stack([np.zeros_like(truth), truth], axis=1)
        fitted: dict[str, Any] = {}
        for cls in [classes[name] for name in models]:
            t0 = time.perf_counter()
            m = cls().fit(data, random_seed=seed, progressbar=False)
            sec = time.perf_counter() - t0
            eff = m.predict_effects().effect_draws("control")
            per = _report(
                cls.name,
                ("control", "treated"),
                _metrics(eff, both),
                f"[{m.fit_info['sampler']}, {sec:.1f}s ({_load()}), R-hat max {m.diagnostics.rhat_max:.3f}, "
                f"ESS bulk/tail min {m.diagnostics.ess_bulk_min:.0f}/{m.diagnostics.ess_tail_min:.0f}, "
                f"divergences {m.diagnostics.divergences}, PPC {m.diagnostics.ppc}, {m.diagnostics.label()}]",
            )
            res[cls.name] = _fit_figures(m, sec) | per["treated"]
            ratio = per["treated"]["sqrt_pehe"] / base["sqrt_pehe"]
            print(f"    sqrt(PEHE) {cls.name} / linear T-learner: {ratio:.2f}")
            fitted[cls.name] = m
        if len(fitted) > 1:
            res["loo_comparison"] = _comparison(fitted)
        out["settings"][str(s)] = res
    RESULTS[key] = out


def speed(n: int, seed: int) -> None:
    """ESS per second: our default sampler (nutpie) against PyMC's own NUTS, same model, same run.

    Both get the model's default sampler settings (draws, tune, chains, cores, target_accept);
    PyMC's NUTS keeps its own adaptation (diagonal, jitter+adapt_diag), nutpie uses ours.  Each
    method fits once to warm its compiled model, then again with a new seed, which is timed.
    Two clocks: (a) the sampler call's wall time, tuning included, compilation excluded (nutpie's
    compiled model is cached; PyMC's call still spends time compiling its step function and
    starting worker processes); (b) sampling alone (PyMC's own ``sampling_time``; for nutpie the
    call itself, which holds no compilation).  The ratio of (a) is what the issue asks for.
    """
    data, _ = _cohort(n, seed)
    print(f"\n== Sampler efficiency, hierarchical model (default config), N={n} ==")
    out: dict[str, Any] = {"n": n}
    for method in ("nuts", "pymc"):
        m = HierarchicalEffectModel()
        m.fit(data, method=method, random_seed=seed, progressbar=False)  # warm: compile
        m.fit(data, method=method, random_seed=seed + 1, progressbar=False)
        call = float(m.fit_info["sampling_seconds"])  # the sampler call: diagnostics excluded
        own = float(m.idata["posterior"].attrs.get("sampling_time", call))
        ess = m.diagnostics.ess_bulk_min
        out[m.fit_info["sampler"]] = {
            "ess_bulk_min": round(float(ess), 0),
            "ess_tail_min": round(float(m.diagnostics.ess_tail_min), 0),
            "divergences": int(m.diagnostics.divergences),
            "rhat_max": round(float(m.diagnostics.rhat_max), 4),
            "chains": int(m.sampler_config["chains"]),
            "seconds": round(call, 2),
            "sampling_only_seconds": round(own, 2),
            "ess_per_second": round(float(ess / call), 1),
            "ess_per_second_sampling_only": round(float(ess / own), 1),
            "load": _load(),
        }
        print(
            f"  {m.fit_info['sampler']:>6}: min bulk ESS {ess:.0f} (R-hat max {m.diagnostics.rhat_max:.3f}, "
            f"divergences {m.diagnostics.divergences}); sampler call {call:.1f}s -> {ess / call:.1f} ESS/s; "
            f"sampling only {own:.1f}s -> {ess / own:.1f} ESS/s ({_load()})"
        )
    nut, pym = out["nutpie"], out["pymc"]
    out["ratio_nutpie_over_pymc"] = round(nut["ess_per_second"] / pym["ess_per_second"], 2)
    out["ratio_sampling_only"] = round(nut["ess_per_second_sampling_only"] / pym["ess_per_second_sampling_only"], 2)
    print(
        f"  ratio nutpie / PyMC NUTS, min bulk ESS per second: {out['ratio_nutpie_over_pymc']:.2f}x of the "
        f"sampler call (tuning included, compilation excluded); {out['ratio_sampling_only']:.2f}x of sampling "
        "alone"
    )
    RESULTS["sampler_speed"] = out


def full_fit_subprocess(n: int, seed: int) -> None:
    code = (
        "import time; t0=time.perf_counter();"
        "import sys; sys.path.insert(0, 'benchmarks');"
        "from models_bench import _cohort;"
        "from workbench.models.hierarchical import HierarchicalEffectModel;"
        f"d, _ = _cohort({n}, {seed});"
        f"m = HierarchicalEffectModel().fit(d, random_seed={seed}, progressbar=False);"
        "print(f'{time.perf_counter()-t0:.1f} {m.fit_info[\"compile_seconds\"]:.1f} '"
        "f'{m.diagnostics.divergences} {m.diagnostics.rhat_max:.4f} {m.diagnostics.ess_bulk_min:.0f}')"
    )
    before = _load()
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    print(f"\n== Full default fit in a fresh process, N={n}, hierarchical ==")
    if res.returncode != 0:
        print("  failed:", res.stderr[-500:])
        RESULTS["full_fit"] = {"failed": res.stderr[-500:]}
        return
    inner, comp, div, rhat, ess = res.stdout.split()[-5:]
    print(
        f"  wall {wall:.1f}s including interpreter start and imports (in-process {inner}s, of which nutpie "
        f"compile {comp}s); divergences {div}; R-hat max {rhat}; ESS bulk min {ess}; {before} -> {_load()}"
    )
    RESULTS["full_fit"] = {
        "n": n,
        "wall_seconds": round(wall, 1),
        "in_process_seconds": float(inner),
        "compile_seconds": float(comp),
        "divergences": int(div),
        "rhat_max": float(rhat),
        "ess_bulk_min": float(ess),
        "load_before": before,
        "load_after": _load(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seeds", default="20240601,1,2")
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    ap.add_argument("--acic-settings", default="1,2,3,4,5,6,7,8,9,10")
    ap.add_argument(
        "--acic-rows", type=int, default=1000, help="rows subsampled from 4,802 (same rows every setting); 0: all"
    )
    ap.add_argument("--acic-models", default="bcf,hierarchical", help="models fitted on each ACIC setting")
    ap.add_argument("--speed-n", type=int, default=1000)
    ap.add_argument("--skip-bcf", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-acic", action="store_true")
    ap.add_argument("--skip-recovery", action="store_true")
    ap.add_argument("--skip-full-fit", action="store_true")
    ap.add_argument("--save", type=Path, default=None, help="also write every figure to this JSON file")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="merge into an existing --save file (runs split across processes build one file)",
    )
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    RESULTS["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "start": _load()}
    if not args.skip_full_fit:
        full_fit_subprocess(args.n, seeds[0])
    if not args.skip_recovery:
        recovery(args.n, seeds, args.skip_bcf)
    if not args.skip_acic:
        settings = [int(s) for s in args.acic_settings.split(",") if s]
        models = [m for m in args.acic_models.split(",") if m and not (args.skip_bcf and m == "bcf")]
        acic(args.shared, settings, args.acic_rows, models, seeds[0])
    if not args.skip_speed:
        speed(min(args.n, args.speed_n), seeds[0])
    RESULTS["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    if args.save:
        _save(args.save, RESULTS, merge=args.merge)
        print(f"\nfigures written to {args.save}")


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` over ``old``, key by key at every depth (a setting's models from two runs sit side by side)."""
    out = dict(old)
    for key, value in new.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _save(path: Path, results: dict[str, Any], *, merge: bool) -> None:
    """Write the figures; with ``merge``, under a lock, over what another run already wrote there."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if merge and path.exists():
            results = _merged(json.loads(path.read_text()), results)
        path.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
