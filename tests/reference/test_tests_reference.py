"""Every stored R plm specification test reproduced (stat rtol 1e-6)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import panelre as pr
from tests.conftest import dataset, reference_cases

EFFECTS = {"individual": "entity", "twoways": "twoway"}


# R plm 2.6.2's phtest(method = "aux") picks the coefficients to test by position,
# (nvars + 2):(2 * nvars + 1), which assumes every regressor is time-varying. With
# time-invariant regressors (wagepan: educ, black, hisp) it tests the wrong coefficients.
# test_plm_aux_position_bug shows that plm's number is exactly that mistake.
PLM_AUX_BUG = {"wagepan_hausman_aux", "wagepan_hausman_aux_robust"}


def _cases() -> list[str]:
    return sorted(
        cid
        for cid, c in reference_cases().items()
        if c["kind"] == "test" and c["dataset"] != "wages" and cid not in PLM_AUX_BUG
    )


def run_case(case: dict) -> pr.TestResult:
    data = dataset(case["dataset"])
    kw = {"entity": case["entity"], "time": case["time"]}
    f = case["formula"]
    test, variant = case["test"], case.get("variant")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        if test == "hausman" and variant == "classic":
            return pr.hausman(pr.fixed_effects(f, data, **kw), pr.random_effects(f, data, **kw))
        if test == "hausman":
            cov = "cluster" if variant == "regression-robust" else "unadjusted"
            return pr.hausman_regression(f, data, cov=cov, **kw)
        if test == "breusch_pagan":
            effects = EFFECTS.get(case["effects"], case["effects"])
            return pr.breusch_pagan(f, data, effects=effects, variant=variant, **kw)
        if test == "f_effects":
            return pr.f_test_effects(pr.fixed_effects(f, data, effects=case["effects"], **kw))
    raise AssertionError(f"unknown case {case['id']}")


@pytest.mark.reference
@pytest.mark.parametrize("case_id", _cases())
def test_statistic_df_and_pvalue(case_id: str) -> None:
    case = reference_cases()[case_id]
    res = run_case(case)
    np.testing.assert_allclose(res.stat, case["stat"], rtol=1e-7)
    if case["df"] not in ([], None):
        expected_df = case["df"] if np.ndim(case["df"]) == 0 else tuple(case["df"])
        assert res.df == expected_df
    np.testing.assert_allclose(res.pvalue, case["pvalue"], rtol=1e-6, atol=1e-300)
    assert res.valid


@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(PLM_AUX_BUG))
def test_plm_aux_position_bug(case_id: str) -> None:
    """Our auxiliary regression, tested at plm's (wrong) positions, gives plm's statistic;
    tested at the right coefficients (the within-demeaned regressors) it is pr's answer."""
    import statsmodels.api as sm

    case = reference_cases()[case_id]
    data = dataset("wagepan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        re = pr.random_effects(case["formula"], data, entity="nr", time="year")
        ours = run_case(case)
    design = re.source.rows  # the in-memory design matrices
    panel = design.panel
    X = design.X[:, 1:]
    Xw = panel.demean(X)
    varying = np.diag(Xw.T @ Xw) > 1e-8 * np.diag(X.T @ X)
    theta = np.asarray(re.variance_components.theta, dtype=float)  # RE quasi-demeaning
    aux = panel.quasi_demean(design.X, theta)
    aux[:, 0] = 1.0
    aux = np.column_stack([aux, Xw[:, varying]])
    fit = sm.OLS(panel.quasi_demean(design.y, theta), aux).fit()
    if case_id.endswith("robust"):
        fit = fit.get_robustcov_results("cluster", groups=panel.entity_codes, use_correction=False)
    V, b = fit.cov_params(), fit.params
    nvars = int(varying.sum())
    plm_pos = list(range(nvars + 1, 2 * nvars + 1))
    right = list(range(aux.shape[1] - nvars, aux.shape[1]))
    wald = [float(b[i] @ np.linalg.solve(V[np.ix_(i, i)], b[i])) for i in (plm_pos, right)]
    np.testing.assert_allclose(wald[0], case["stat"], rtol=1e-6)
    np.testing.assert_allclose(wald[1], ours.stat, rtol=1e-6)
    assert ours.df == case["df"] == nvars
