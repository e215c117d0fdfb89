"""Every estimator, covariance and test, run on a backend and compared with numpy.

Shared by the Dask suite (``tests/dask``) and the array-API suite (``tests/stats``): the
same cases, each backend at the agreement measured for it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.exceptions import InvalidParameterError

KW = {"entity": "firm", "time": "year"}
FORMULA = "y ~ x1 + x2 + C(g)"
FORMULA_Z = "y ~ x1 + x2 + z"  # z is time-invariant (CRE, Hausman–Taylor)

COVARIANCES: list[tuple[str, dict[str, Any]]] = [
    ("unadjusted", {}),
    ("robust", {"small_sample": True}),
    ("cluster", {}),
    ("cluster", {"cluster": "time", "small_sample": True}),
    ("cluster", {"cluster": ["entity", "time"]}),
    ("cluster", {"cluster": "region"}),
    ("cluster", {"cluster": "region", "small_sample": True}),
    ("driscoll-kraay", {}),
    ("cr2", {}),
    ("cr2", {"cluster": "region"}),
]

ESTIMATORS: list[tuple[str, str, dict[str, Any]]] = [
    ("pooled_ols", FORMULA, {}),
    ("between", FORMULA, {}),
    ("fixed_effects", FORMULA, {"effects": "entity"}),
    ("fixed_effects", FORMULA, {"effects": "time"}),
    ("fixed_effects", FORMULA, {"effects": "twoway"}),
    ("fixed_effects", FORMULA, {"effects": "entity", "constant": True}),
    ("fixed_effects", FORMULA, {"effects": "twoway", "constant": True}),
    ("first_difference", FORMULA, {}),
    ("random_effects", FORMULA, {"method": "swamy-arora"}),
    ("random_effects", FORMULA, {"method": "wallace-hussain"}),
    ("random_effects", FORMULA, {"method": "amemiya"}),
    ("random_effects", FORMULA, {"method": "nerlove"}),
    ("random_effects", FORMULA, {"method": "ml"}),
    ("random_effects", FORMULA, {"method": "reml"}),
    ("random_effects", FORMULA, {"convention": "stata"}),
    ("random_effects", FORMULA, {"method": "ml", "convention": "stata"}),
    ("random_effects", FORMULA, {"effects": "time"}),
    ("random_effects", FORMULA, {"effects": "twoway"}),
    ("random_effects", FORMULA, {"effects": "twoway", "method": "amemiya"}),
    ("random_effects", FORMULA, {"effects": "twoway", "method": "wallace-hussain"}),
    ("random_effects", FORMULA, {"effects": "twoway", "method": "nerlove"}),
    ("correlated_random_effects", FORMULA_Z, {}),
    ("hausman_taylor", FORMULA_Z, {"endogenous": ["x1", "z"]}),
    ("hausman_taylor", FORMULA_Z, {"endogenous": ["x1", "z"], "instruments": "amemiya-macurdy"}),
    # observation weights (w: analytic, varying within entity; fw: integer frequencies)
    ("pooled_ols", FORMULA, {"weights": "w"}),
    ("between", FORMULA, {"weights": "w"}),
    ("fixed_effects", FORMULA, {"effects": "twoway", "weights": "w"}),
    ("fixed_effects", FORMULA, {"weights": "fw", "weight_type": "frequency", "constant": True}),
    ("first_difference", FORMULA, {"weights": "w"}),
]


def case_id(case: tuple[str, str, dict[str, Any]]) -> str:
    """A readable test id."""
    name, _, opts = case
    return name + "".join(f"-{v}" for v in opts.values() if not isinstance(v, list))


def make_panel(balanced: bool, n_entities: int = 300, n_periods: int = 8, seed: int = 0):
    """A seeded panel with entity and period effects, a categorical, a time-invariant
    regressor and a cluster column; ~15 % of the rows dropped when unbalanced."""
    rng = np.random.default_rng(seed)
    e = np.repeat(np.arange(n_entities), n_periods)
    t = np.tile(np.arange(n_periods), n_entities)
    if not balanced:
        keep = rng.random(e.size) < 0.85
        keep[::n_periods] = keep[1::n_periods] = True  # every entity has two rows
        e, t = e[keep], t[keep]
    n = e.size
    alpha = rng.normal(size=n_entities)
    z = rng.normal(size=n_entities)
    x1 = rng.normal(size=n) + 0.5 * alpha[e]
    x2 = rng.normal(size=n) + rng.normal(size=n_periods)[t]
    g = rng.choice(["a", "b", "c"], n)
    y = 1 + 0.5 * x1 - 0.3 * x2 + 0.4 * z[e] + alpha[e] + rng.normal(size=n_periods)[t]
    y = y + rng.normal(size=n) + np.select([g == "b", g == "c"], [0.4, -0.25], 0.0)
    weights = np.random.default_rng(seed + 1)  # drawn last: the other columns stay as they were
    return pd.DataFrame(
        {
            "firm": e,
            "year": 2000 + t,
            "y": y,
            "x1": x1,
            "x2": x2,
            "z": z[e],
            "g": g,
            "region": rng.integers(0, 25, n_entities)[e],
            "w": weights.uniform(0.3, 3.0, n),
            "fw": weights.integers(1, 4, n),
        }
    )


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call without warnings (boundary and dropped-variable warnings are the same on
    every backend and tested elsewhere)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def assert_results_equal(
    got: Any, ref: Any, rtol: float, rtol_derived: float | None = None
) -> None:
    """Coefficients, standard errors, sizes, R², components and effects agree
    (``rtol_derived``: for variance components, which are differences of moments and
    amplify summation-order differences; default ``rtol``)."""
    rtol_derived = rtol if rtol_derived is None else rtol_derived
    for attr in ("params", "std_errors"):
        a, b = getattr(got, attr), getattr(ref, attr)
        assert list(a.index) == list(b.index)
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=rtol)
    for attr in ("nobs", "n_entities", "df_resid", "df_model"):
        assert getattr(got, attr) == getattr(ref, attr), attr
    for attr in ("rsquared", "rsquared_within", "rsquared_between", "rsquared_overall"):
        np.testing.assert_allclose(getattr(got, attr), getattr(ref, attr), rtol=rtol)
    assert got.dropped == ref.dropped
    vc_g, vc_r = got.variance_components, ref.variance_components
    if vc_r is not None:
        np.testing.assert_allclose(vc_g.to_series(), vc_r.to_series(), rtol=rtol_derived)
        np.testing.assert_allclose(vc_g.shrinkage, vc_r.shrinkage, rtol=rtol_derived)
    if ref.effects is not None:
        np.testing.assert_allclose(got.effects, ref.effects, rtol=rtol, atol=1e-9)
    if ref.time_effects is not None:
        np.testing.assert_allclose(got.time_effects, ref.time_effects, rtol=rtol, atol=1e-9)
    if ref.loglike is not None:
        np.testing.assert_allclose(got.loglike, ref.loglike, rtol=rtol)


def fit_both(
    name: str, formula: str, opts: dict[str, Any], data: Any, panel: pd.DataFrame, backend: Any
) -> tuple[Any, Any]:
    """The same fit on ``data`` with ``backend`` and on ``panel`` with numpy."""
    got = quiet(getattr(pr, name), formula, data, backend=backend, **KW, **opts)
    ref = quiet(getattr(pr, name), formula, panel, backend="numpy", **KW, **opts)
    return got, ref


def assert_covariances_equal(got: Any, ref: Any, rtol: float) -> None:
    """Every covariance of the module gives the same standard errors."""
    for cov, options in COVARIANCES:
        if ref.estimator == "between" and (cov == "driscoll-kraay" or options.get("cluster")):
            continue  # the between regression has one row per entity and no periods
        if cov == "cr2":
            try:
                b = quiet(ref.with_cov, cov, **options)
            except InvalidParameterError:  # not defined for this fit: the same refusal
                with pytest.raises(InvalidParameterError):
                    quiet(got.with_cov, cov, **options)
                continue
            a = quiet(got.with_cov, cov, **options)
            np.testing.assert_allclose(a.coefficient_df, b.coefficient_df, rtol=rtol)
            np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=rtol, err_msg=cov)
            continue
        a = quiet(got.with_cov, cov, **options)
        b = quiet(ref.with_cov, cov, **options)
        np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=rtol, err_msg=f"{cov}")


def contrast_rtol(test: Any, result: Any, rtol: float) -> float:
    """Tolerance for a Hausman contrast ``q'(V₁ − V₂)⁻¹q``: ``rtol`` on the inputs, times
    the digits the difference ``V₁ − V₂`` cancels (``max|V|/min|eig|``). Hausman–Taylor
    against FE differs by a matrix ~10⁴ times smaller than either covariance here, FE
    against RE by ~10²."""
    eig = np.abs(test.details.eigenvalues)
    names = test.details.names
    scale = float(np.abs(result.cov.loc[names, names].to_numpy()).max())
    return rtol * max(1.0, scale / float(eig.min()))


def assert_tests_equal(data: Any, panel: pd.DataFrame, backend: Any, rtol: float) -> None:
    """Every specification test gives the same statistic, df and decision."""
    both = {}
    for name, opts in (("fixed_effects", {}), ("random_effects", {})):
        both[name] = fit_both(name, FORMULA, opts, data, panel, backend)
    for variant in ("classic", "sigmamore", "sigmaless"):
        a = quiet(pr.hausman, both["fixed_effects"][0], both["random_effects"][0], variant=variant)
        b = quiet(pr.hausman, both["fixed_effects"][1], both["random_effects"][1], variant=variant)
        tol = contrast_rtol(b, both["fixed_effects"][1], rtol)
        np.testing.assert_allclose(a.stat, b.stat, rtol=tol)
    a = pr.f_test_effects(both["fixed_effects"][0])
    b = pr.f_test_effects(both["fixed_effects"][1])
    np.testing.assert_allclose([a.stat, a.pvalue], [b.stat, b.pvalue], rtol=rtol)
    for effects in ("entity", "time", "twoway"):
        for variant in ("bp", "honda", "king-wu"):
            a = pr.breusch_pagan(FORMULA, data, effects=effects, variant=variant, backend=backend,
                                 **KW)  # fmt: skip
            b = pr.breusch_pagan(FORMULA, panel, effects=effects, variant=variant, **KW)
            np.testing.assert_allclose(a.stat, b.stat, rtol=rtol)
    for cov in ("unadjusted", "cluster"):
        a = quiet(pr.hausman_regression, FORMULA, data, cov=cov, backend=backend, **KW)
        b = quiet(pr.hausman_regression, FORMULA, panel, cov=cov, **KW)
        np.testing.assert_allclose(a.stat, b.stat, rtol=rtol)
        assert a.df == b.df
    cre = fit_both("correlated_random_effects", FORMULA_Z, {"cov": "cluster"}, data, panel, backend)
    np.testing.assert_allclose(cre[0].mundlak_test.stat, cre[1].mundlak_test.stat, rtol=rtol)
    ht = fit_both("hausman_taylor", FORMULA_Z, {"endogenous": ["z"]}, data, panel, backend)
    ref_test = ht[1].overid_test
    np.testing.assert_allclose(
        ht[0].overid_test.stat, ref_test.stat, rtol=contrast_rtol(ref_test, ht[1], rtol)
    )
    # the two ways diagnostics read rows: the residuals (Wooldridge) and the transformed
    # regression (Breusch-Godfrey, the cross-section tests); the other tests share them
    diagnostics = [
        (pr.serial_correlation, both["fixed_effects"], {"test": "wooldridge"}),
        (pr.serial_correlation, both["random_effects"], {"test": "breusch-godfrey", "order": 2}),
        (pr.cross_sectional_dependence, both["fixed_effects"], {"test": "bias-corrected"}),
    ]
    for test, (got, ref), opts in diagnostics:
        a, b = quiet(test, got, **opts), quiet(test, ref, **opts)
        np.testing.assert_allclose(a.stat, b.stat, rtol=rtol, err_msg=str(opts))
        np.testing.assert_allclose(a.pvalue, b.pvalue, rtol=rtol, atol=1e-300, err_msg=str(opts))
        assert a.df == b.df
    long_enough = panel.groupby(KW["entity"]).size().min() >= 5  # the balanced panels
    for name in ("ips",) if long_enough else ():
        a = quiet(pr.unit_root, data, "y", test=name, lags=0, **KW)
        b = quiet(pr.unit_root, panel, "y", test=name, lags=0, **KW)
        np.testing.assert_allclose(a.stat, b.stat, rtol=1e-12)
    sel_a = quiet(pr.select, FORMULA_Z, data, backend=backend, **KW)
    sel_b = quiet(pr.select, FORMULA_Z, panel, **KW)
    assert sel_a.recommended == sel_b.recommended
    assert sel_a.recommended_cov == sel_b.recommended_cov
    for key, test in sel_b.tests.items():
        np.testing.assert_allclose(sel_a.tests[key].stat, test.stat, rtol=rtol)
