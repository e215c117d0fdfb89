"""Every stored R plm panel case reproduced (parameters and standard errors rtol 1e-7).

The cases come from tests/reference/reference_r.json (the shared R reference, regenerated in
place with each R call beside its numbers by make_reference.R) and from
tests/reference/panel/plm_extra.json (made by make_panel_reference.R, R call beside each).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from tests.conftest import dataset, r_names, reference_cases

PARAM_RTOL = 1e-7
SE_RTOL = 1e-7
ESTIMATORS = {
    "pooled": pr.pooled_ols,
    "between": pr.between,
    "fixed_effects": pr.fixed_effects,
    "first_difference": pr.first_difference,
    "random_effects": pr.random_effects,
}
# plm's unbalanced two-way random effects report (X'Ω⁻¹X)⁻¹ without the σ²ₑ factor
# (its plm.fit branch never rescales); coefficients and components still match, and the
# standard errors are checked against explicit n x n GLS with R's components instead.
PLM_TWOWAY_UNBALANCED_VCOV_BUG = {
    "grunfeld_unbal_re_twoway_swar",
    "grunfeld_unbal_re_twoway_amemiya",
    "grunfeld_unbal_re_twoway_walhus",
    "grunfeld_unbal_re_twoway_nerlove",
}


# Documented deviations (see docs/conventions.md): plm splits unbalanced two-way fixed
# effects using each entity's *first* observation and one-way time means, which is not a
# least-squares decomposition; panelre's Nerlove uses the exact two-way decomposition, so
# only σ²ₑ (SSR/n) agrees there. test_nerlove_twoway_unbalanced_definition checks ours.
DEVIATIONS = {"grunfeld_unbal_re_twoway_nerlove"}


def _panel_cases() -> list[str]:
    return sorted(
        cid
        for cid, c in reference_cases().items()
        if c["kind"] == "panel"
        and c.get("model") in ESTIMATORS
        and c["dataset"] != "wages"
        and cid not in DEVIATIONS
    )


def fit_case(case: dict) -> pr.PanelResults:
    options: dict = {}
    if case["model"] in ("fixed_effects", "random_effects"):
        options["effects"] = case.get("effects", "entity")
    if case["model"] == "random_effects":
        options["method"] = case["method"]
    cov = case.get("cov", "unadjusted")
    if cov == "cluster":
        options["cluster"] = case["cluster"]
    if "small_sample" in case and cov != "driscoll-kraay":
        # R plm's type="sss" (K without the constant that fixed effects absorb)
        options["small_sample"] = "plm" if case["small_sample"] == "sss" else False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        return ESTIMATORS[case["model"]](
            case["formula"],
            dataset(case["dataset"]),
            entity=case["entity"],
            time=case["time"],
            cov=cov,
            **options,
        )


@pytest.mark.reference
@pytest.mark.parametrize("case_id", _panel_cases())
def test_params_and_standard_errors(case_id: str) -> None:
    case = reference_cases()[case_id]
    res = fit_case(case)
    expected = r_names(case["params"])
    assert sorted(res.params.index) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(res.params[name], value, rtol=PARAM_RTOL, err_msg=name)
    ses = r_names(case["std_errors"])
    if case_id in PLM_TWOWAY_UNBALANCED_VCOV_BUG:
        ses = _explicit_gls_std_errors(case)
    for name, value in ses.items():
        np.testing.assert_allclose(res.std_errors[name], value, rtol=SE_RTOL, err_msg=name)
    if "rsquared" in case and case_id not in PLM_TWOWAY_UNBALANCED_VCOV_BUG:
        np.testing.assert_allclose(res.rsquared, case["rsquared"], rtol=1e-8)


def _explicit_gls_std_errors(case: dict) -> dict[str, float]:
    """Standard errors of GLS with the n x n covariance Ω = σ²ₑI + σ²ᵤDₑDₑ' + σ²ₜDₜDₜ' built
    from R's variance components (checked against R below), as ``lm`` on the whitened data
    reports them: ``e'Ω⁻¹e/(n − k) · (X'Ω⁻¹X)⁻¹``. The independent check where plm's own
    standard errors lack the scale (unbalanced two-way random effects)."""
    d = dataset(case["dataset"])
    lhs, rhs = case["formula"].split("~")
    names = [c.strip() for c in rhs.split("+")]
    y = d[lhs.strip()].to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(d)), *(d[c].to_numpy(dtype=float) for c in names)])
    s = case["sigma2"]
    De = pd.get_dummies(d[case["entity"]]).to_numpy(dtype=float)
    Dt = pd.get_dummies(d[case["time"]]).to_numpy(dtype=float)
    omega = s["idios"] * np.eye(len(d)) + s["id"] * De @ De.T + s["time"] * Dt @ Dt.T
    inv = np.linalg.inv(omega)
    xtx = X.T @ inv @ X
    b = np.linalg.solve(xtx, X.T @ inv @ y)
    e = y - X @ b
    V = float(e @ inv @ e) / (len(d) - X.shape[1]) * np.linalg.inv(xtx)
    return dict(zip(["Intercept", *names], np.sqrt(np.diag(V)), strict=True))


def _re_cases() -> list[str]:
    return [cid for cid in _panel_cases() if "sigma2" in reference_cases()[cid]]


@pytest.mark.reference
@pytest.mark.parametrize("case_id", _re_cases())
def test_variance_components_and_theta(case_id: str) -> None:
    case = reference_cases()[case_id]
    vc = fit_case(case).variance_components
    s = case["sigma2"]
    np.testing.assert_allclose(vc.sigma2_e, s["idios"], rtol=1e-8)
    if case.get("effects") == "time":
        np.testing.assert_allclose(vc.sigma2_u, s["time"], rtol=1e-8, atol=1e-9)
    else:
        np.testing.assert_allclose(vc.sigma2_u, s["id"], rtol=1e-8)
    if "time" in s and case.get("effects") == "twoway":
        np.testing.assert_allclose(vc.sigma2_t, s["time"], rtol=1e-8, atol=1e-9)
    theta = case["theta"]["id"] if "id" in case["theta"] else case["theta"]
    if case.get("effects") == "time":
        theta = case["theta"]
    got = np.atleast_1d(np.asarray(vc.theta, dtype=float))
    np.testing.assert_allclose(
        [got.min(), got.max()], [theta["min"], theta["max"]], rtol=1e-8, atol=1e-12
    )
    if "theta_by_entity" in case and case.get("effects") != "time":
        expected = np.array(list(case["theta_by_entity"].values()))
        full = (
            vc.theta.to_numpy()
            if hasattr(vc.theta, "to_numpy")
            else np.full(len(expected), vc.theta)
        )
        np.testing.assert_allclose(full, expected, rtol=1e-8)


@pytest.mark.reference
@pytest.mark.parametrize(
    "case_id", sorted(c for c, v in reference_cases().items() if v["kind"] == "effects")
)
def test_estimated_effects(case_id: str) -> None:
    case = reference_cases()[case_id]
    res = fit_case(case)
    expected = case["effects_by_entity"]
    got = res.effects
    np.testing.assert_allclose(
        [got[type(got.index[0])(k)] for k in expected], list(expected.values()), rtol=1e-7
    )


def test_nerlove_twoway_unbalanced_definition() -> None:
    """σ²ₑ as plm; σ²ᵤ, σ²ₜ from the exact two-way dummy-variable effects."""
    case = reference_cases()["grunfeld_unbal_re_twoway_nerlove"]
    data = dataset("grunfeld_unbal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        vc = pr.random_effects(
            case["formula"], data, entity="firm", time="year", effects="twoway", method="nerlove"
        ).variance_components
    np.testing.assert_allclose(vc.sigma2_e, case["sigma2"]["idios"], rtol=1e-10)
    # independent: OLS with both sets of dummies
    X = np.column_stack(
        [
            data[["value", "capital"]].to_numpy(),
            pd.get_dummies(data["firm"]).to_numpy(float),
            pd.get_dummies(data["year"]).to_numpy(float)[:, 1:],
        ]
    )
    coef = np.linalg.lstsq(X, data["inv"].to_numpy(), rcond=None)[0]
    n_firms = data["firm"].nunique()
    alpha = coef[2 : 2 + n_firms]
    gamma = np.concatenate([[0.0], coef[2 + n_firms :]])
    t_i = data.groupby("firm").size().to_numpy()
    n_t = data.groupby("year").size().to_numpy()
    gamma_c = gamma - np.average(gamma, weights=n_t)
    alpha_c = alpha + np.average(gamma, weights=n_t)
    alpha_c = alpha_c - np.average(alpha_c, weights=t_i)
    n = len(data)
    s2u = (alpha_c**2 * t_i).sum() / n * n_firms / (n_firms - 1)
    s2t = (gamma_c**2 * n_t).sum() / n * len(n_t) / (len(n_t) - 1)
    np.testing.assert_allclose([vc.sigma2_u, vc.sigma2_t], [s2u, s2t], rtol=1e-8)
