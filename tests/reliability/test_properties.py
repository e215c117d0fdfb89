"""Property-based tests over generated panels (hypothesis).

Each property is checked for every panel estimator on balanced and unbalanced panels with
gaps and singletons; the number of generated cases per property is ``max_examples``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import panelre as pr
from tests.reliability.panels import panels

F = "y ~ x1 + x2 + z"
KW = {"entity": "id", "time": "year"}
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ESTIMATORS = {
    "pooled": lambda f, d, **k: pr.pooled_ols(f, d, **k),
    "between": lambda f, d, **k: pr.between(f, d, **k),
    "fe_entity": lambda f, d, **k: pr.fixed_effects(f, d, **k),
    "fe_time": lambda f, d, **k: pr.fixed_effects(f, d, effects="time", **k),
    "fe_twoway": lambda f, d, **k: pr.fixed_effects(f, d, effects="twoway", **k),
    "fd": lambda f, d, **k: pr.first_difference(f, d, **k),
    "re_swar": lambda f, d, **k: pr.random_effects(f, d, **k),
    "re_walhus": lambda f, d, **k: pr.random_effects(f, d, method="walhus", **k),
    # Amemiya on an unbalanced panel needs within variation in every regressor (as plm):
    # without the time-invariant z
    "re_amemiya": lambda f, d, **k: pr.random_effects(
        f.replace(" + z", ""), d, method="amemiya", **k
    ),
    "re_nerlove": lambda f, d, **k: pr.random_effects(f, d, method="nerlove", **k),
    "re_stata": lambda f, d, **k: pr.random_effects(f, d, convention="stata", **k),
    "re_twoway": lambda f, d, **k: pr.random_effects(f, d, effects="twoway", **k),
    "cre": lambda f, d, **k: pr.correlated_random_effects(f, d, **k),
}


def fit(name, formula, data, **extra):
    """Fit, rejecting generated panels too small for the estimator (e.g. two-way random
    effects need more periods than regressors): that error is tested in test_errors.py."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        try:
            return ESTIMATORS[name](formula, data, **KW, **extra)
        except pr.InsufficientDataError:
            reject()


def close(a, b, rtol=1e-7, atol=1e-9):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(df=panels(), seed=st.integers(0, 1000))
def test_row_order_and_relabelling_change_nothing(name, df, seed):
    rng = np.random.default_rng(seed)
    other = df.sample(frac=1.0, random_state=seed).copy()
    relabel = rng.permutation(df["id"].max() + 1)
    other["id"] = "e" + relabel[other["id"]].astype(str)
    other["year"] = other["year"] * 10  # order-preserving relabelling of time
    a, b = fit(name, F, df), fit(name, F, other, cov="cluster")
    close(a.params, b.params[a.params.index])
    close(a.with_cov("cluster").std_errors, b.std_errors[a.params.index])


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(df=panels(), scale=st.sampled_from([-3.0, 1e-4, 7.5, 1e5]))
def test_scaling_y_scales_coefficients_and_standard_errors(name, df, scale):
    a = fit(name, F, df)
    b = fit(name, F, df.assign(y=df["y"] * scale))
    close(b.params, a.params * scale, rtol=1e-6, atol=1e-9 * abs(scale))
    close(b.std_errors, a.std_errors * abs(scale), rtol=1e-6, atol=1e-9 * abs(scale))


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(df=panels(), shift=st.sampled_from([-50.0, 3.0, 1e4]))
def test_adding_a_constant_to_y_changes_only_the_intercept(name, df, shift):
    a = fit(name, F, df)
    b = fit(name, F, df.assign(y=df["y"] + shift))
    slopes = [n for n in a.params.index if n != "Intercept"]
    close(b.params[slopes], a.params[slopes], rtol=1e-6, atol=1e-8 * max(1.0, abs(shift)))
    close(b.std_errors[slopes], a.std_errors[slopes], rtol=1e-6, atol=1e-8)
    if "Intercept" in a.params.index and name != "fd":
        close(
            b.params["Intercept"], a.params["Intercept"] + shift, rtol=1e-6, atol=1e-7 * abs(shift)
        )


def _duplicate(df):
    copy = df.copy()
    copy["id"] = copy["id"] + df["id"].max() + 1
    return pd_concat([df, copy])


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("name", ["fe_entity", "fe_time", "fe_twoway", "fd", "pooled"])
@SETTINGS
@given(df=panels())
def test_duplicating_every_entity_leaves_coefficients_unchanged(name, df):
    a, b = fit(name, F, df), fit(name, F, _duplicate(df))
    close(b.params, a.params[b.params.index])


@SETTINGS
@given(df=panels(min_entities=15))
def test_duplicating_entities_in_random_effects_follows_the_moment_equations(df):
    """Duplicating every entity doubles every quadratic form, while the degrees of freedom
    become 2n − 2N − K (within) and 2N − K − 1 (between, balanced Swamy–Arora). RE on the
    doubled data is GLS on the original data with the θ those components imply."""
    a = fit("re_amemiya", F, df)  # Amemiya: both forms from the within fit, simple df on
    b = fit("re_amemiya", F, _duplicate(df))  # balanced panels, exact traces otherwise
    assert b.variance_components.sigma2_e > 0
    d = a.source.rows  # the in-memory design matrices
    p = d.panel
    ols = pr.fixed_effects(F, df, **KW)
    ssr = float(ols.resids @ ols.resids)
    n, N, k = p.nobs, p.n_entities, len(ols.params)
    if p.is_balanced:
        close(b.variance_components.sigma2_e, 2 * ssr / (2 * n - 2 * N), rtol=1e-9)
        close(a.variance_components.sigma2_e, ssr / (n - N), rtol=1e-9)
    else:
        close(b.variance_components.sigma2_e, 2 * ssr / (2 * n - 2 * N - k), rtol=1e-9)
    # the doubled-data coefficients are GLS on the original data with the doubled-data θ
    vc = b.variance_components
    theta = 1 - np.sqrt(vc.sigma2_e / (p.counts.to_numpy() * vc.sigma2_u + vc.sigma2_e))
    gls = np.linalg.lstsq(p.quasi_demean(d.X, theta), p.quasi_demean(d.y, theta), rcond=None)
    close(b.params.to_numpy(), gls[0], rtol=1e-8)
