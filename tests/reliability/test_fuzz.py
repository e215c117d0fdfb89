"""Fuzz suite: random and adversarial inputs for every public function.

Each call either returns finite results or raises a ``PanelreError`` subclass with a
message — never another exception type, never NaN results without a warning — and the
caller's data is never modified (checked by hashing before and after).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import panelre as pr
from tests.reliability.panels import make_panel

F = "y ~ x1 + x2"
KW = {"entity": "id", "time": "year"}


def _corrupt(df: pd.DataFrame, kind: str, rng: np.random.Generator) -> pd.DataFrame:
    df = df.copy()
    n = len(df)
    if kind == "nan":
        for col in ("x1", "y"):
            df.loc[rng.choice(n, size=max(1, n // 10), replace=False), col] = np.nan
    elif kind == "inf":
        df.loc[int(rng.integers(n)), "x2"] = np.inf
    elif kind == "huge":
        df["x1"] = df["x1"] * 1e12
    elif kind == "tiny":
        df["x2"] = df["x2"] * 1e-12
    elif kind == "constant":
        df["x2"] = 5.0
    elif kind == "duplicated_column":
        df["x2"] = df["x1"]
    elif kind == "duplicated_pairs":
        df = pd.concat([df, df.iloc[:3]], ignore_index=True)
    elif kind == "one_entity":
        df = df[df["id"] == df["id"].iloc[0]]
    elif kind == "one_period":
        df = df[df["year"] == df["year"].min()]
    elif kind == "empty":
        df = df.iloc[:0]
    elif kind == "object_column":
        df["x1"] = df["x1"].map(lambda v: f"{v:.3f}")
    elif kind == "all_nan":
        df["y"] = np.nan
    elif kind == "absent_level":
        df["x2"] = np.where(np.arange(n) % 2 == 0, "a", "b")
        df.loc[df["x2"] == "b", "y"] = np.nan  # level 'b' disappears after dropping NaNs
    return df


KINDS = [
    "none",
    "nan",
    "inf",
    "huge",
    "tiny",
    "constant",
    "duplicated_column",
    "duplicated_pairs",
    "one_entity",
    "one_period",
    "empty",
    "object_column",
    "all_nan",
    "absent_level",
]


def _formula(kind: str) -> str:
    return "y ~ x1 + C(x2)" if kind == "absent_level" else F


CALLS = {
    "pooled_ols": lambda f, d: pr.pooled_ols(f, d, **KW),
    "between": lambda f, d: pr.between(f, d, **KW),
    "fe_entity": lambda f, d: pr.fixed_effects(f, d, cov="cluster", **KW),
    "fe_twoway": lambda f, d: pr.fixed_effects(f, d, effects="twoway", **KW),
    "first_difference": lambda f, d: pr.first_difference(f, d, cov="driscoll-kraay", **KW),
    "re_swar": lambda f, d: pr.random_effects(f, d, **KW),
    "re_walhus_time": lambda f, d: pr.random_effects(f, d, effects="time", method="walhus", **KW),
    "re_twoway": lambda f, d: pr.random_effects(f, d, effects="twoway", method="amemiya", **KW),
    "re_stata": lambda f, d: pr.random_effects(f, d, convention="stata", **KW),
    "cre": lambda f, d: pr.correlated_random_effects(f, d, **KW),
    "hausman_taylor": lambda f, d: pr.hausman_taylor(f + " + z", d, endogenous=["x1"], **KW),
    "hausman": lambda f, d: pr.hausman(pr.fixed_effects(f, d, **KW), pr.random_effects(f, d, **KW)),
    "hausman_regression": lambda f, d: pr.hausman_regression(f, d, cov="cluster", **KW),
    "breusch_pagan": lambda f, d: pr.breusch_pagan(f, d, effects="twoway", **KW),
    "f_test_effects": lambda f, d: pr.f_test_effects(pr.fixed_effects(f, d, **KW)),
    "select": lambda f, d: pr.select(f, d, **KW),
}


def _numbers(result) -> np.ndarray:
    if isinstance(result, pr.TestResult):
        return np.array([result.stat, result.pvalue])
    if isinstance(result, pr.Selection):
        return np.array([t.stat for t in result.tests.values() if t.valid])
    return np.concatenate([result.params.to_numpy(), result.std_errors.to_numpy()])


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(
    max_examples=int(os.environ.get("PANELRE_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 10_000),
    n=st.integers(1, 25),
    t=st.integers(1, 6),
    drop=st.sampled_from([0.0, 0.3]),
)
def test_public_functions_return_finite_results_or_a_panelre_error(name, kind, seed, n, t, drop):
    rng = np.random.default_rng(seed)
    df = _corrupt(make_panel(seed, n, t, drop=drop if t > 2 else 0.0), kind, rng)
    before = pd.util.hash_pandas_object(df, index=True).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = CALLS[name](_formula(kind), df)
        except pr.PanelreError as exc:
            assert str(exc), "errors must carry a message"
            result = None
    assert pd.util.hash_pandas_object(df, index=True).sum() == before, "input was modified"
    if result is not None:
        values = _numbers(result)
        ok = np.isfinite(values).all()
        flagged = any(issubclass(w.category, pr.PanelreWarning) for w in caught)
        invalid = isinstance(result, pr.TestResult) and not result.valid
        assert ok or flagged or invalid, f"non-finite results without a warning: {values}"
