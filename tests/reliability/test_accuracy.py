"""Numerical accuracy on ill-conditioned designs against an extended-precision reference."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pandas as pd
import pytest

import panelre as pr

mpmath.mp.dps = 60


def mp_ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS in 60-digit arithmetic (normal equations are harmless at this precision)."""
    Xm = mpmath.matrix(X.tolist())
    ym = mpmath.matrix(y.tolist())
    beta = mpmath.lu_solve(Xm.T * Xm, Xm.T * ym)
    return np.array([float(b) for b in beta])


def design(seed: int, near: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_ent, t = 30, 6
    i = np.repeat(np.arange(n_ent), t)
    a = rng.normal(size=i.size) * 1e-6  # tiny scale
    b = rng.normal(size=i.size) * 1e6  # huge scale
    c = b * 1e-12 + a * 1e6 + near * rng.normal(size=i.size)  # nearly a combination of a, b
    y = 3 + 2e6 * a + 4e-6 * b + 0.5 * c + rng.normal(size=i.size) + rng.normal(size=n_ent)[i]
    return pd.DataFrame({"i": i, "t": np.tile(np.arange(t), n_ent), "a": a, "b": b, "c": c, "y": y})


@pytest.mark.parametrize("near", [1e-2, 1e-4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pooled_and_within_match_60_digit_reference(seed, near):
    df = design(seed, near)
    X = np.column_stack([np.ones(len(df)), df[["a", "b", "c"]].to_numpy()])
    y = df["y"].to_numpy()
    pooled = pr.pooled_ols("y ~ a + b + c", df, entity="i", time="t")
    np.testing.assert_allclose(pooled.params.to_numpy(), mp_ols(X, y), rtol=1e-8)
    # within: demean in extended precision too
    g = df.groupby("i")
    Xw = (df[["a", "b", "c"]] - g[["a", "b", "c"]].transform("mean")).to_numpy()
    yw = (df["y"] - g["y"].transform("mean")).to_numpy()
    fe = pr.fixed_effects("y ~ a + b + c", df, entity="i", time="t")
    np.testing.assert_allclose(fe.params.to_numpy(), mp_ols(Xw, yw), rtol=1e-8)


def test_rank_deficiency_is_detected_with_the_reported_tolerance():
    df = design(3, near=0.0)  # c is an exact combination of a and b (up to rounding)
    with pytest.warns(pr.DroppedVariableWarning, match=r"collinear.*relative tolerance 1e-10.*c"):
        res = pr.pooled_ols("y ~ a + b + c", df, entity="i", time="t")
    assert res.dropped == ["c"]


def test_near_collinearity_above_tolerance_is_kept():
    df = design(4, near=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pr.DroppedVariableWarning)
        res = pr.pooled_ols("y ~ a + b + c", df, entity="i", time="t")
    assert list(res.params.index) == ["Intercept", "a", "b", "c"]
