"""Benchmarks of the effect engine: recovery (demo cohort, ACIC 2016), sampler speed, full-fit time.

Usage::

    python benchmarks/models_bench.py [--n 2000] [--shared ../shared/data] [--acic-settings 1,2]
        [--acic-rows 1000] [--skip-bcf] [--skip-speed] [--skip-acic]

Prints every figure; nothing is tuned against these numbers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.models import EffectData
from workbench.models.bcf import BCFModel
from workbench.models.hierarchical import HierarchicalEffectModel


def _cohort(n: int, seed: int):
    """Demo cohort if ``workbench.demo`` exists, else the tests' simulator (same shape)."""
    try:
        from workbench.demo import generate_cohort

        c = generate_cohort(n_patients=n, seed=seed)
        df = c.patients
        alts = ("dpp4i", "glp1ra", "sglt2i", "basal_insulin")
        mu = np.asarray(c.true_mu)
        wanted = [
            "age",
            "sex",
            "ethnicity_group",
            "bmi",
            "egfr",
            "hba1c_baseline",
            "diabetes_duration",
            "cvd",
            "heart_failure",
            "deprivation_quintile",
        ]
        covs = [x for x in wanted if x in df.columns]
        data = EffectData.from_frame(
            df,
            treatment="treatment",
            outcome="hba1c_change",
            covariates=covs,
            reference="dpp4i",
            alternatives=list(alts),
        )
        if isinstance(c.true_mu, pd.DataFrame):
            mu = c.true_mu[list(alts)].to_numpy()
        truth = mu - mu[:, [0]]
        return "demo cohort", data, truth
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from test_models_sim import simulate

        c = simulate(n, seed=seed)
        data = EffectData.from_frame(
            c.patients,
            treatment="treatment",
            outcome="outcome",
            reference="dpp4i",
            alternatives=list(c.alternatives),
        )
        return "simulated cohort (workbench.demo absent)", data, c.true_effects("dpp4i")


def _metrics(eff_draws: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    est = eff_draws.mean(axis=0)
    lo, hi = np.quantile(eff_draws, [0.05, 0.95], axis=0)
    return {
        "sqrt_pehe": np.sqrt(((est - truth) ** 2).mean(axis=0)),
        "ate_error": est.mean(axis=0) - truth.mean(axis=0),
        "coverage90": ((truth >= lo) & (truth <= hi)).mean(axis=0),
    }


def _print(label: str, alts, m: dict[str, np.ndarray], extra: str = "") -> None:
    print(f"  {label} {extra}")
    for k, a in enumerate(alts):
        if np.all(m["sqrt_pehe"][k] == 0) and m["coverage90"][k] == 1.0:
            continue  # the reference itself
        print(
            f"    {a:>14}: sqrt(PEHE) {m['sqrt_pehe'][k]:.3f}  ATE error {m['ate_error'][k]:+.3f}"
            f"  90% coverage {m['coverage90'][k]:.1%}"
        )


def recovery(n: int, seed: int, skip_bcf: bool) -> None:
    name, data, truth = _cohort(n, seed)
    print(f"\n== Recovery on the {name}: N={n}, K={len(data.alternatives)} ==")
    classes = [HierarchicalEffectModel] + ([] if skip_bcf else [BCFModel])
    for cls in classes:
        t0 = time.perf_counter()
        m = cls().fit(data, random_seed=seed, progressbar=False)
        ep = m.predict_effects()
        d = m.diagnostics
        _print(
            cls.name,
            data.alternatives,
            _metrics(ep.effect_draws(data.reference), truth),
            f"[{m.fit_info['sampler']}, {time.perf_counter() - t0:.1f}s, R-hat max {d.rhat_max:.3f}, "
            f"divergences {d.divergences}, ESS bulk min {d.ess_bulk_min:.0f}, {d.label()}]",
        )


def acic(shared: Path, settings: list[int], rows: int, skip_bcf: bool, seed: int) -> None:
    root = shared / "acic2016"
    if not (root / "x.csv").exists():
        print(f"\n== ACIC 2016: skipped, {root} not found ==")
        return
    X = pd.read_csv(root / "x.csv")
    for s in settings:
        z = pd.read_csv(root / f"zymu_{s}.csv")
        idx = np.random.default_rng(seed).choice(len(X), size=min(rows, len(X)), replace=False)
        idx.sort()
        Xs = X.iloc[idx].reset_index(drop=True)
        zs = z.iloc[idx].reset_index(drop=True)
        y = np.where(zs["z"] == 1, zs["y1"], zs["y0"])
        truth = (zs["mu1"] - zs["mu0"]).to_numpy()
        frame = Xs.assign(arm=np.where(zs["z"] == 1, "treated", "control"), y=y)
        frame.index = frame.index.astype(str)
        data = EffectData.from_frame(
            frame,
            treatment="arm",
            outcome="y",
            reference="control",
            alternatives=["control", "treated"],
            lower_is_better=False,
        )
        print(f"\n== ACIC 2016 setting {s}: {len(frame)} rows of {len(X)}, true ATE {truth.mean():.3f} ==")
        # Linear T-learner baseline: least squares per arm on the same design.
        from workbench.models.data import Design

        Zd = Design.fit(Xs).transform(Xs)
        A = np.column_stack([np.ones(len(Zd)), Zd])
        treated = zs["z"].to_numpy() == 1
        b1 = np.linalg.lstsq(A[treated], y[treated], rcond=None)[0]
        b0 = np.linalg.lstsq(A[~treated], y[~treated], rcond=None)[0]
        lin = A @ b1 - A @ b0
        print(
            f"  linear T-learner: sqrt(PEHE) {np.sqrt(np.mean((lin - truth) ** 2)):.3f}"
            f"  ATE error {lin.mean() - truth.mean():+.3f}"
        )
        both = np.stack([np.zeros_like(truth), truth], axis=1)
        for cls in [HierarchicalEffectModel] + ([] if skip_bcf else [BCFModel]):
            t0 = time.perf_counter()
            m = cls().fit(data, random_seed=seed, progressbar=False)
            eff = m.predict_effects().effect_draws("control")
            _print(cls.name, data.alternatives, _metrics(eff, both), f"[{time.perf_counter() - t0:.1f}s]")


def speed(n: int, seed: int) -> None:
    _, data, _ = _cohort(n, seed)
    print(f"\n== Sampler efficiency, hierarchical model, N={n} ==")
    out = {}
    for method in ("nuts", "pymc"):
        m = HierarchicalEffectModel()
        m.fit(data, method=method, random_seed=seed, progressbar=False)  # warm: compile
        t0 = time.perf_counter()
        m.fit(data, method=method, random_seed=seed + 1, progressbar=False)
        sec = time.perf_counter() - t0
        ess = m.diagnostics.ess_bulk_min
        out[method] = ess / sec
        print(f"  {m.fit_info['sampler']:>6}: min bulk ESS {ess:.0f} in {sec:.1f}s -> {ess / sec:.1f} ESS/s")
    print(f"  ratio nutpie / PyMC NUTS: {out['nuts'] / out['pymc']:.2f}x (min bulk ESS per second)")


def full_fit_subprocess(n: int, seed: int) -> None:
    code = (
        "import time; t0=time.perf_counter();"
        "import sys; sys.path.insert(0, 'benchmarks');"
        "from models_bench import _cohort;"
        "from workbench.models.hierarchical import HierarchicalEffectModel;"
        f"_, d, _ = _cohort({n}, {seed});"
        f"m = HierarchicalEffectModel().fit(d, random_seed={seed}, progressbar=False);"
        "print(f'{time.perf_counter()-t0:.1f} {m.fit_info[\"compile_seconds\"]:.1f} '"
        "f'{m.diagnostics.divergences} {m.diagnostics.rhat_max:.4f}')"
    )
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    print(f"\n== Full default fit in a fresh process, N={n}, hierarchical ==")
    if res.returncode != 0:
        print("  failed:", res.stderr[-500:])
        return
    inner, comp, div, rhat = res.stdout.split()[-4:]
    print(
        f"  wall {wall:.1f}s including interpreter start and imports (in-process {inner}s, "
        f"of which nutpie compile {comp}s); divergences {div}; R-hat max {rhat}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    ap.add_argument("--acic-settings", default="1,2")
    ap.add_argument("--acic-rows", type=int, default=1000)
    ap.add_argument("--skip-bcf", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-acic", action="store_true")
    args = ap.parse_args()
    full_fit_subprocess(args.n, args.seed)
    recovery(args.n, args.seed, args.skip_bcf)
    if not args.skip_acic:
        settings = [int(s) for s in args.acic_settings.split(",") if s]
        acic(args.shared, settings, args.acic_rows, args.skip_bcf, args.seed)
    if not args.skip_speed:
        speed(min(args.n, 1000), args.seed)


if __name__ == "__main__":
    main()
