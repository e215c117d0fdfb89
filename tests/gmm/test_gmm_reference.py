"""Dynamic panel GMM against R plm's ``pgmm`` on the Arellano–Bond data
(``tests/reference/gmm/plm_pgmm.json``, made by ``make_gmm_reference.R``; the R call is
stored beside every case) and against Roodman's (2009) published xtabond2 output."""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import panelre as pr
from panelre.exceptions import DataError, InsufficientDataError, PanelreWarning

HERE = Path(__file__).parents[1] / "reference" / "gmm"
CASES = json.loads((HERE / "plm_pgmm.json").read_text())["cases"]
STATA = json.loads((HERE / "stata_xtabond2.json").read_text())["estimations"]

AB_B = "log(emp) ~ lag(log(emp), 1:2) + lag(log(wage), 0:1) + log(capital) + lag(log(output), 0:1)"
AB_A = (
    "log(emp) ~ lag(log(emp), 1:2) + lag(log(wage), 0:1) + lag(log(capital), 0:2)"
    " + lag(log(output), 0:2)"
)
BB = "log(emp) ~ lag(log(emp), 1) + lag(log(wage), 0:1) + lag(log(capital), 0:1)"
AR1 = "log(emp) ~ lag(log(emp), 1)"
EMP = {"log(emp)": (2, None)}
WK = {"log(emp)": (2, None), "log(wage)": (2, None), "log(capital)": (2, None)}

SPECS = {  # case -> (formula, gmm, effects, steps, transformation, collapse)
    "ab91b_diff_twostep": (AB_B, EMP, "twoway", 2, "difference", False),
    "ab91b_diff_onestep": (AB_B, EMP, "twoway", 1, "difference", False),
    "ab91b_diff_twostep_collapse": (AB_B, EMP, "twoway", 2, "difference", True),
    "ab91b_diff_onestep_collapse": (AB_B, EMP, "twoway", 1, "difference", True),
    "ab91a_diff_onestep": (AB_A, EMP, "twoway", 1, "difference", False),
    "ab91a_diff_twostep": (AB_A, EMP, "twoway", 2, "difference", False),
    "ab91a_wk_endog_diff_onestep": (AB_A, WK, "twoway", 1, "difference", False),
    "ab91a_wk_endog_diff_twostep": (AB_A, WK, "twoway", 2, "difference", False),
    "bb98_sys_onestep": (BB, WK, "twoway", 1, "system", False),
    "bb98_sys_twostep": (BB, WK, "twoway", 2, "system", False),
    "bb98_sys_onestep_individual": (BB, WK, "entity", 1, "system", False),
    "bb98_sys_twostep_individual": (BB, WK, "entity", 2, "system", False),
    "ar1_diff_onestep": (AR1, EMP, "entity", 1, "difference", False),
    "ar1_diff_twostep": (AR1, EMP, "entity", 2, "difference", False),
    "ar1_diff_onestep_lag23": (AR1, {"log(emp)": (2, 3)}, "entity", 1, "difference", False),
    "ar1_diff_twostep_lag23": (AR1, {"log(emp)": (2, 3)}, "entity", 2, "difference", False),
}


def _values(stored) -> np.ndarray:
    if isinstance(stored, str):
        stored = ast.literal_eval(stored)
    values = list(stored.values()) if isinstance(stored, dict) else stored
    return np.atleast_1d(np.asarray(values, dtype=float))


def _fit(case_id: str, cov: str = "robust") -> pr.GMMResults:
    formula, gmm, effects, steps, transformation, collapse = SPECS[case_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelreWarning)  # instruments > entities
        return pr.gmm(
            formula, pr.datasets.load("empluk"), entity="firm", time="year", gmm=gmm,
            effects=effects, steps=steps, transformation=transformation, collapse=collapse,
            cov=cov,
        )  # fmt: skip


# measured worst relative differences: 2.4e-8 (two-step system GMM with period dummies,
# whose weight matrix is the worst conditioned), 1e-11 elsewhere
@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(SPECS))
def test_matches_plm_pgmm(case_id: str) -> None:
    case = CASES[case_id]
    res = _fit(case_id)
    rtol = 1e-7 if case_id.startswith("bb98_sys_twostep") or "wk_endog" in case_id else 1e-9
    np.testing.assert_allclose(res.params, _values(case["params"]), rtol=rtol)
    np.testing.assert_allclose(res.std_errors, _values(case["std_errors"]), rtol=rtol)
    plain = _fit(case_id, cov="unadjusted")
    np.testing.assert_allclose(plain.std_errors, _values(case["std_errors_nonrobust"]), rtol=rtol)
    assert res.n_instruments == case["n_instruments"] and res.nobs == case["nobs"]
    assert res.n_entities == case["n_groups"]
    # Hansen's J is the two-step criterion (xtabond2's, also after one step): plm's
    # sargan() of the two-step fit
    two_step = CASES[case_id.replace("onestep", "twostep")]
    assert res.hansen.stat == pytest.approx(two_step["sargan"]["stat"], rel=rtol)
    assert res.hansen.df == two_step["sargan"]["df"]
    for order in (1, 2):
        assert res.ar_tests[order].stat == pytest.approx(case[f"ar{order}"]["stat"], rel=10 * rtol)
        assert plain.ar_tests[order].stat == pytest.approx(
            case[f"ar{order}_nonrobust"]["stat"], rel=10 * rtol
        )


@pytest.mark.reference
def test_roodman_2009_published_difference_gmm() -> None:
    """Roodman (2009), Stata Journal 9(1), section 3.3: xtabond2 one-step robust on
    abdata, Arellano–Bond (1991) Table 4 column (a1). abdata stores single-precision logs,
    so the coefficients agree to about 1e-6; the tests to the printed digits."""
    printed = STATA["roodman2009_diff_onestep_robust"]
    res = _fit("ab91a_diff_onestep")
    assert res.params["lag(log(emp), 1)"] == pytest.approx(
        float(printed["params"]["L1.n"]), abs=2e-6
    )
    assert res.std_errors["lag(log(emp), 1)"] == pytest.approx(
        float(printed["std_errors"]["L1.n"]), abs=2e-6
    )
    assert f"{res.sargan.stat:.2f}" == printed["sargan"]["chi2"] == "67.59"
    assert f"{res.hansen.stat:.2f}" == printed["hansen"]["chi2"] == "31.38"
    assert f"{res.ar_tests[1].stat:.2f}" == printed["ar1"]["z"]
    assert f"{res.ar_tests[2].stat:.2f}" == printed["ar2"]["z"]
    without, difference = res.difference_in_hansen("standard")
    group = printed["diff_in_hansen"]["iv(w L.w k L.k L2.k ys L.ys L2.ys yr1976-yr1984)"]
    assert f"{without.stat:.2f}" == group["excluding"]["chi2"] and without.df == 11
    assert f"{difference.stat:.2f}" == group["difference"]["chi2"] and difference.df == 14


def test_just_identified_gmm_is_2sls_on_the_differences():
    """One instrument (y_{t-2}, collapsed) for one regressor (Δy_{t-1}): difference GMM is
    pooled 2SLS of Δy on Δy_{t-1} instrumented by the level y_{t-2}."""
    emp = pr.datasets.load("empluk").sort_values(["firm", "year"])
    n = np.log(emp["emp"]).groupby(emp["firm"])
    rows = emp.assign(dn=n.diff(), dlag=n.shift(1) - n.shift(2), lag2=n.shift(2)).dropna()
    iv = pr.pooled_ols("dn ~ [dlag ~ lag2] - 1", rows, entity="firm", time="year")
    gmm = pr.gmm(AR1, emp, entity="firm", time="year", gmm={"log(emp)": (2, 2)},
                 collapse=True, steps=1)  # fmt: skip
    np.testing.assert_allclose(gmm.params.to_numpy(), iv.params.to_numpy(), rtol=1e-10)
    assert gmm.nobs == iv.nobs == 751


def test_just_identified_gmm_equals_iv():
    """One instrument per regressor: GMM is IV whatever the weight, so one and two steps
    agree and the Hansen test has no degrees of freedom."""
    emp = pr.datasets.load("empluk")
    kw = {"entity": "firm", "time": "year", "gmm": {"log(emp)": (2, 2)}}
    one = pr.gmm(AR1, emp, steps=1, collapse=True, **kw)
    two = pr.gmm(AR1, emp, steps=2, collapse=True, **kw)
    np.testing.assert_allclose(one.params, two.params, rtol=1e-10)
    assert one.n_instruments == 1 and not one.hansen.valid


def test_bad_input():
    emp = pr.datasets.load("empluk")
    kw = {"entity": "firm", "time": "year"}
    with pytest.raises(DataError, match="gaps"):
        pr.gmm(AR1, emp[~((emp.firm == 1) & (emp.year == 1979))], gmm=EMP, **kw)
    with pytest.raises(DataError, match="more than once"):
        pr.gmm(AR1, emp.iloc[[0, 0, 1]], gmm=EMP, **kw)
    with pytest.raises(InsufficientDataError, match="no differenced equation"):
        pr.gmm("log(emp) ~ lag(log(emp), 8)", emp, gmm=EMP, **kw)
    with pytest.raises(pr.InvalidParameterError, match="first lag >= 1"):
        pr.gmm(AR1, emp, gmm={"log(emp)": (0, None)}, **kw)
    with pytest.raises(pr.InvalidParameterError, match="transformation"):
        pr.gmm(AR1, emp, gmm=EMP, transformation="levels", **kw)
    with pytest.warns(PanelreWarning, match="105 instruments for 60 entities"):
        few = pr.gmm(BB, emp[emp.firm <= 60], gmm=WK, transformation="system", **kw)
    assert "Warning: 105 instruments for 60 entities" in str(few.summary)


def test_cli_gmm_and_the_regression_table(capsys):
    from panelre.cli import main

    argv = ["gmm", "empluk", AB_B, "--entity", "firm", "--time", "year"]
    assert main([*argv, "--gmm", "log(emp):2:", "--effects", "twoway", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "| lag(log(emp), 1) | 0.4742" in out
    assert main([*argv, "--gmm", "log(emp)2"]) == 1
    assert "EXPR:FIRST:LAST" in capsys.readouterr().err
    table = pr.compare(
        {"AB two-step": _fit("ab91b_diff_twostep")}, keep=["lag"], stats=["nobs", "n_entities"]
    )
    frame = table.to_frame()
    assert frame.loc["lag(log(emp), 1)", "AB two-step"] == "0.4742"
    assert frame.loc["Observations", "AB two-step"] == "611"


def test_only_lags_of_a_gmm_expression_are_endogenous():
    """A regressor whose name merely contains the GMM expression ('ys' for 'y') is a
    standard instrument, not an endogenous regressor."""
    emp = pr.datasets.load("empluk")
    data = emp.assign(y=np.log(emp["emp"]), ys=np.log(emp["output"]))
    res = pr.gmm("y ~ lag(y, 1) + ys", data, entity="firm", time="year", gmm={"y": (2, None)})
    assert res.n_instruments == 28 + 1
    assert res.design.groups["standard"].size == 1
