"""Correlated random effects and Hausman–Taylor (issue: time-invariant regressors)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from tests.conftest import r_names, reference_cases

WAGES_FORMULA = (
    "lwage ~ wks + C(south) + C(smsa) + C(married) + exp + I(exp**2) + C(bluecol) + ind"
    " + C(union) + C(sex, levels=['male', 'female']) + C(black) + ed"
)
ENDOGENOUS = ["wks", "married", "union", "exp", "ed"]


def plm_name(ours: str) -> str:
    """panelre/formulaic column names -> R's (C(south)[T.yes] -> southyes)."""
    if ours.startswith("C("):
        var = ours[2:].split(",")[0].split(")")[0]
        level = ours.split("[T.")[1].rstrip("]")
        return var + level
    return ours.replace("I(exp ** 2)", "I(exp^2)")


@pytest.mark.reference
@pytest.mark.parametrize(
    "instruments,case_id", [("baltagi", "wages_ht_baltagi"), ("amemiya-macurdy", "wages_ht_am")]
)
def test_hausman_taylor_reproduces_plm(wages, instruments, case_id):
    case = reference_cases()[case_id]
    ht = pr.hausman_taylor(
        WAGES_FORMULA,
        wages,
        entity="id",
        time="time",
        endogenous=ENDOGENOUS,
        instruments=instruments,
    )
    params = r_names(case["params"])
    ses = r_names(case["std_errors"])
    for name in ht.params.index:
        np.testing.assert_allclose(ht.params[name], params[plm_name(name)], rtol=1e-7, err_msg=name)
        np.testing.assert_allclose(
            ht.std_errors[name], ses[plm_name(name)], rtol=1e-7, err_msg=name
        )
    vc = ht.variance_components
    np.testing.assert_allclose(
        [vc.sigma2_e, vc.sigma2_u], [case["sigma2"]["idios"], case["sigma2"]["id"]], rtol=1e-8
    )
    c = ht.classification
    assert c.exogenous_varying == ["C(south)[T.yes]", "C(smsa)[T.yes]", "C(bluecol)[T.yes]", "ind"]
    assert c.endogenous_invariant == ["ed"]


@pytest.mark.reference
def test_hausman_taylor_overidentification_test_reproduces_plm(wages):
    case = reference_cases()["wages_hausman_ht_vs_within"]
    ht = pr.hausman_taylor(WAGES_FORMULA, wages, entity="id", time="time", endogenous=ENDOGENOUS)
    test = ht.overid_test
    np.testing.assert_allclose(test.stat, case["stat"], rtol=1e-6)
    assert test.df == case["df"]


@pytest.mark.reference
@pytest.mark.parametrize(
    "case_id,model", [("wages_within", pr.fixed_effects), ("wages_re_swar", pr.random_effects)]
)
def test_wages_fe_and_re_reproduce_plm(wages, case_id, model):
    case = reference_cases()[case_id]
    f = WAGES_FORMULA.split(" ~ ")[0] + " ~ " + WAGES_FORMULA.split(" ~ ")[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.DroppedVariableWarning)
        res = model(f, wages, entity="id", time="time")
    params = r_names(case["params"])
    assert sorted(plm_name(n) for n in res.params.index) == sorted(params)
    for name in res.params.index:
        np.testing.assert_allclose(res.params[name], params[plm_name(name)], rtol=1e-7)


def test_order_condition_failure_names_the_variables(wages):
    with pytest.raises(
        pr.IdentificationError, match=r"at least as many exogenous time-varying.*0.*ed"
    ):
        pr.hausman_taylor(
            "lwage ~ wks + exp + ed",
            wages,
            entity="id",
            time="time",
            endogenous=["wks", "exp", "ed"],
        )


def test_unknown_endogenous_regressor(wages):
    with pytest.raises(pr.InvalidParameterError, match=r"\['income'\] are not in the model"):
        pr.hausman_taylor(
            "lwage ~ wks + ed", wages, entity="id", time="time", endogenous=["income"]
        )


def test_cre_slopes_equal_fixed_effects_on_balanced_panel(wages):
    f = "lwage ~ wks + exp + I(exp**2) + C(union) + ed"
    cre = pr.correlated_random_effects(f, wages, entity="id", time="time")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.DroppedVariableWarning)
        fe = pr.fixed_effects(f, wages, entity="id", time="time")
    np.testing.assert_allclose(cre.params[fe.params.index], fe.params, rtol=1e-10, atol=1e-13)
    assert "ed" in cre.params.index  # the time-invariant coefficient is estimated
    assert cre.mean_terms == [
        "mean(wks)",
        "mean(exp)",
        "mean(I(exp ** 2))",
        "mean(C(union)[T.yes])",
    ]


def test_cre_mundlak_test_is_the_robust_hausman_test(grunfeld):
    cre = pr.correlated_random_effects(
        "inv ~ value + capital", grunfeld, entity="firm", time="year", cov="cluster"
    )
    regression = pr.hausman_regression(
        "inv ~ value + capital", grunfeld, entity="firm", time="year", cov="cluster"
    )
    np.testing.assert_allclose(cre.mundlak_test.stat, regression.stat, rtol=1e-8)
    # with_cov keeps the CRE results type and re-runs the test with the new covariance
    plain = cre.with_cov("unadjusted").mundlak_test
    assert plain.stat != cre.mundlak_test.stat and plain.df == 2


def simulate(seed: int, n: int = 500, t: int = 6) -> pd.DataFrame:
    """Effect u correlated with x1 (time-varying) and z2 (time-invariant)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    i = np.repeat(np.arange(n), t)
    x1 = rng.normal(size=n * t) + 0.5 * rng.normal(size=n)[i]  # exogenous time-varying
    x2 = rng.normal(size=n * t) + 0.8 * u[i]  # endogenous time-varying
    z1 = rng.normal(size=n)[i]  # exogenous time-invariant
    z2 = (0.7 * u + 0.5 * x1.reshape(n, t).mean(axis=1) + rng.normal(size=n))[i]
    y = 1 + 0.5 * x1 - 0.5 * x2 + 1.0 * z1 + 2.0 * z2 + u[i] + rng.normal(size=n * t)
    return pd.DataFrame(
        {"i": i, "t": np.tile(np.arange(t), n), "x1": x1, "x2": x2, "z1": z1, "z2": z2, "y": y}
    )


def test_simulation_ht_and_cre_recover_the_truth_where_re_fails():
    df = simulate(seed=7)
    truth = {"x1": 0.5, "x2": -0.5, "z1": 1.0, "z2": 2.0}
    f = "y ~ x1 + x2 + z1 + z2"
    kw = {"entity": "i", "time": "t"}
    re = pr.random_effects(f, df, **kw)
    ht = pr.hausman_taylor(f, df, endogenous=["x2", "z2"], **kw)
    cre = pr.correlated_random_effects(f, df, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.DroppedVariableWarning)
        fe = pr.fixed_effects(f, df, **kw)
    assert "z2" not in fe.params.index  # FE cannot estimate the time-invariant coefficient
    # RE is biased on x2 and z2: far outside its own confidence intervals
    assert abs(re.params["z2"] - 2.0) > 5 * re.std_errors["z2"]
    assert abs(re.params["x2"] + 0.5) > 5 * re.std_errors["x2"]
    # HT recovers every coefficient; CRE the time-varying ones; both within 4 reported SEs
    for name, value in truth.items():
        assert abs(ht.params[name] - value) < 4 * ht.std_errors[name], name
    for name in ("x1", "x2"):
        assert abs(cre.params[name] - truth[name]) < 4 * cre.std_errors[name], name


@pytest.mark.reference
def test_wages_classic_hausman_reproduces_plm(wages):
    case = reference_cases()["wages_hausman_classic"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        fe = pr.fixed_effects(WAGES_FORMULA, wages, entity="id", time="time")
        re = pr.random_effects(WAGES_FORMULA, wages, entity="id", time="time")
        test = pr.hausman(fe, re, convention="plm")
    np.testing.assert_allclose(test.stat, case["stat"], rtol=1e-6)
    assert test.df == case["df"]
