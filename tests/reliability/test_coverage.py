"""Statistical validation: confidence-interval coverage where each covariance's
assumptions hold (seeded Monte Carlo). The fast versions run in CI; the ``slow`` ones
use 5x the replications. Rates are reported in docs/reliability.md."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import panelre as pr

TRUE_SLOPE = 0.5


def _panel(
    rng: np.random.Generator, scheme: str, n: int = 100, t: int = 5, effects: bool = True
) -> pd.DataFrame:
    i = np.repeat(np.arange(n), t)
    x = rng.normal(size=n * t)
    if scheme == "iid":
        e = rng.normal(size=n * t)
    elif scheme == "heteroskedastic":
        e = rng.normal(size=n * t) * np.sqrt(0.2 + x**2)
    else:  # serially correlated within entities (AR(1), rho 0.7) and heteroskedastic
        e = np.empty(n * t)
        e[::t] = rng.normal(size=n)
        for s in range(1, t):
            e[s::t] = 0.7 * e[s - 1 :: t] + rng.normal(size=n) * np.sqrt(0.5 + x[s::t] ** 2)
    y = 1 + TRUE_SLOPE * x + (rng.normal(size=n)[i] if effects else 0.0) + e
    return pd.DataFrame({"i": i, "t": np.tile(np.arange(t), n), "x": x, "y": y})


# covariance -> (error scheme where its assumptions hold, estimator, options). The
# heteroskedasticity-robust (White) covariance is inconsistent for the within estimator
# with fixed T (Stock & Watson 2008), so it is checked on pooled OLS without effects.
CASES = {
    "unadjusted": ("iid", pr.fixed_effects, {"cov": "unadjusted"}),
    "robust": ("heteroskedastic", pr.pooled_ols, {"cov": "robust", "small_sample": True}),
    "cluster": ("serial", pr.fixed_effects, {"cov": "cluster", "small_sample": True}),
}


def coverage(case: str, reps: int, seed: int) -> float:
    scheme, estimator, cov = CASES[case]
    rng = np.random.default_rng(seed)
    hits = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        for _ in range(reps):
            df = _panel(rng, scheme, effects=estimator is not pr.pooled_ols)
            res = estimator("y ~ x", df, entity="i", time="t", **cov)
            lo, hi = res.conf_int().loc["x"]
            hits += lo <= TRUE_SLOPE <= hi
    return hits / reps


@pytest.mark.parametrize("case", sorted(CASES))
def test_95_percent_intervals_cover_93_to_97_percent(case):
    rate = coverage(case, reps=1000, seed=123)
    assert 0.93 <= rate <= 0.97, rate


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_95_percent_intervals_cover_long_run(case):
    rate = coverage(case, reps=5000, seed=456)
    assert 0.935 <= rate <= 0.965, rate


def test_unadjusted_intervals_undercover_when_errors_are_serially_correlated():
    """The check has power: under AR(1) errors the unadjusted interval is too narrow."""
    scheme_cov = CASES["unadjusted"][2]
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(400):
        res = pr.fixed_effects("y ~ x", _panel(rng, "serial"), entity="i", time="t", **scheme_cov)
        lo, hi = res.conf_int().loc["x"]
        hits += lo <= TRUE_SLOPE <= hi
    assert hits / 400 < 0.93
