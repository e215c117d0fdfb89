"""Panel 2SLS against R plm on the Cornwell–Trumbull crime panel (Baltagi's EC2SLS
example; ``tests/reference/iv/plm_iv.json``, made by ``make_iv_reference.R``, the R call
stored beside every case)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.exceptions import AbsorbedVariableError, DroppedVariableWarning

HERE = Path(__file__).parents[1] / "reference" / "iv"
CASES = json.loads((HERE / "plm_iv.json").read_text())["cases"]
EXOG = (
    "lprbconv + lprbpris + lavgsen + ldensity + lwcon + lwtuc + lwtrd + lwfir + lwser + "
    "lwmfg + lwfed + lwsta + lwloc + lpctymle + lpctmin + C(region) + C(smsa)"
)
BRACKET = "[lprbarr + lpolpc ~ ltaxpc + lmix]"
FORMULA = f"lcrmrte ~ {EXOG} + C(year) + {BRACKET}"
KW = {"entity": "county", "time": "year"}
NLS_KW = {"entity": "idcode", "time": "year"}


@pytest.fixture(scope="module")
def crime() -> pd.DataFrame:
    return pd.read_csv(HERE / "crime.csv.gz")


FITS = {
    "crime_pooling_2sls": lambda d: pr.pooled_ols(FORMULA, d, **KW),
    "crime_within_2sls": lambda d: pr.fixed_effects(FORMULA, d, **KW),
    "crime_within_twoways_2sls": lambda d: pr.fixed_effects(
        f"lcrmrte ~ {EXOG} + {BRACKET}", d, **KW, effects="twoway"
    ),
    "crime_between_2sls": lambda d: pr.between(FORMULA, d, **KW),
    "crime_fd_2sls": lambda d: pr.first_difference(FORMULA, d, **KW),
    "crime_random_g2sls_bvk": lambda d: pr.random_effects(FORMULA, d, **KW),
    "crime_random_ec2sls_baltagi": lambda d: pr.random_effects(
        FORMULA, d, **KW, iv_method="ec2sls"
    ),
}


# measured agreement: 6e-10 relative (coefficients), 8e-11 (standard errors)
@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(FITS))
def test_matches_plm(case_id: str, crime: pd.DataFrame) -> None:
    case = CASES[case_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedVariableWarning)  # region, smsa in FE/FD
        res = FITS[case_id](crime)
    names = [n for n in case["params"] if n in res.params.index]
    assert {"lprbarr", "lpolpc", "lprbconv", "lwfed"} <= set(names)
    np.testing.assert_allclose(res.params[names], [case["params"][n] for n in names], rtol=3e-9)
    np.testing.assert_allclose(
        res.std_errors[names], [case["std_errors"][n] for n in names], rtol=3e-10
    )
    assert res.df_resid == case["df_resid"]
    if "ercomp" in case:
        vc = res.variance_components
        assert vc.sigma2_e == pytest.approx(case["ercomp"]["sigma2_idios"], rel=1e-9)
        assert vc.sigma2_u == pytest.approx(case["ercomp"]["sigma2_id"], rel=1e-9)
        assert vc.theta == pytest.approx(case["ercomp"]["theta"], rel=1e-9)


@pytest.mark.reference
@pytest.mark.parametrize(
    ("case_id", "method"),
    [("nlswork_plm_random_bvk", "g2sls"), ("nlswork_plm_random_baltagi", "ec2sls")],
)
def test_unbalanced_random_effects_iv_matches_plm(case_id: str, method: str) -> None:
    """Stata's [XT] xtivreg example 2 specification on the unbalanced nlswork panel,
    fitted by plm (stata_xtivreg.json, "plm"): Baltagi–Chang's unbalanced Swamy–Arora
    components from the within- and Tᵢ-weighted between-2SLS. Measured: 7e-13."""
    case = json.loads((HERE / "stata_xtivreg.json").read_text())["plm"][case_id]
    nls = pd.read_csv(HERE / "nlswork_xtivreg.csv.gz").assign(
        black=lambda d: (d.race == 2).astype(float)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing values; birth_yr is time-invariant
        res = pr.random_effects(
            "ln_wage ~ age + I(age**2) + not_smsa + black + [tenure ~ union + birth_yr + south]",
            nls,
            entity="idcode",
            time="year",
            iv_method=method,
        )
    rename = {"I(age ** 2)": "I(age^2)", "Intercept": "(Intercept)"}
    params, ses = res.params.rename(rename), res.std_errors.rename(rename)
    for name, value in case["params"].items():
        assert params[name] == pytest.approx(value, rel=1e-9)
        assert ses[name] == pytest.approx(case["std_errors"][name], rel=1e-9)
    vc = res.variance_components
    assert vc.sigma2_u == pytest.approx(case["ercomp"]["sigma2_id"], rel=1e-9)
    assert vc.sigma2_e == pytest.approx(case["ercomp"]["sigma2_idios"], rel=1e-9)


@pytest.mark.reference
def test_overidentified_unbalanced_within_matches_plm() -> None:
    """Stata's [XT] xtivreg example 1 specification on nlswork (unbalanced; two
    instruments for tenure), fitted by plm's within 2SLS (stata_xtivreg.json, "plm")."""
    case = json.loads((HERE / "stata_xtivreg.json").read_text())["plm"]["nlswork_plm_within"]
    nls = pd.read_csv(HERE / "nlswork_xtivreg.csv.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows with missing values are dropped
        res = pr.fixed_effects(
            "ln_wage ~ age + I(age**2) + not_smsa + [tenure ~ union + south]",
            nls,
            entity="idcode",
            time="year",
        )
    ours = res.params.rename({"I(age ** 2)": "I(age^2)"})
    ses = res.std_errors.rename({"I(age ** 2)": "I(age^2)"})
    for name, value in case["params"].items():
        assert ours[name] == pytest.approx(value, rel=1e-9)
        assert ses[name] == pytest.approx(case["std_errors"][name], rel=1e-9)
    assert res.nobs == case["nobs"] and res.df_resid == case["df_resid"]
    assert res.overid_test.df == 1 and res.overid_test.valid


def test_hausman_after_panel_iv(crime: pd.DataFrame) -> None:
    """pr.hausman(fe_iv, re_iv) compares FE-2SLS and G2SLS as Stata's hausman after
    xtivreg: the common coefficients with V(FE) - V(RE)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedVariableWarning)
        fe, re = FITS["crime_within_2sls"](crime), FITS["crime_random_g2sls_bvk"](crime)
    test = pr.hausman(fe, re, variant="sigmamore")
    assert "2SLS" in test.name and "G2SLS" in test.name
    common = [n for n in fe.params.index if n in re.params.index]
    # df: the rank of V(FE) - V(RE) over the 22 common coefficients (Moore-Penrose)
    assert len(common) == 22 and 0 < test.df <= 22 and np.isfinite(test.stat)


def test_bundled_crime_and_empluk_are_the_reference_rows(crime: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(pr.datasets.load("crime"), crime)
    empluk = pd.read_csv(Path(__file__).parents[1] / "reference" / "gmm" / "empluk.csv.gz")
    pd.testing.assert_frame_equal(pr.datasets.load("empluk"), empluk)
    assert empluk.firm.nunique() == 140 and len(empluk) == 1031


METHOD_CASES = json.loads((HERE / "plm_iv_methods.json").read_text())["cases"]
RE_METHODS = {
    "swar": "swamy-arora",
    "walhus": "wallace-hussain",
    "amemiya": "amemiya",
    "nerlove": "nerlove",
}
NLSWORK = "ln_wage ~ age + I(age**2) + not_smsa{black} + [tenure ~ union + birth_yr + south]"


def _plm_name(name: str) -> str:
    """plm's label of one of our columns (``C(year)[T.82]`` -> ``factor(year)82``)."""
    if name == "Intercept":
        return "(Intercept)"
    if name == "I(age ** 2)":
        return "I(age^2)"
    return name.replace("C(", "factor(").replace(")[T.", ")").rstrip("]")


@pytest.fixture(scope="module")
def nlswork() -> pd.DataFrame:
    return pd.read_csv(HERE / "nlswork_xtivreg.csv.gz").assign(
        black=lambda d: (d.race == 2).astype(float)
    )


# measured: coefficients within 1.4e-10 of their standard error (crime, balanced) and
# 7e-12 relative (nlswork, unbalanced); standard errors 1.3e-10 relative; σ² 1.3e-11
@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(METHOD_CASES))
def test_random_effects_iv_component_methods_match_plm(
    case_id: str, crime: pd.DataFrame, nlswork: pd.DataFrame
) -> None:
    """G2SLS and EC2SLS with each of plm's variance-component methods for IV formulas
    (``random.method`` = swar, walhus, amemiya, nerlove), on the balanced crime panel
    and the unbalanced nlswork panel (``plm_iv_methods.json``, R call beside each case)."""
    case = METHOD_CASES[case_id]
    formula, data, kw = {
        "crime": (FORMULA, crime, KW),
        "nlswork": (NLSWORK.format(black=" + black"), nlswork, NLS_KW),
        "nlswork_varying": (NLSWORK.format(black=""), nlswork, NLS_KW),
    }[case["data"]]
    options = {
        "method": RE_METHODS[case["random_method"]],
        "iv_method": {"bvk": "g2sls", "baltagi": "ec2sls"}[case["inst_method"]],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dropped time-invariant columns, missing rows
        if "error" in case:  # plm: "'amemiya' model not estimable ... lacking within variation"
            assert "within variation" in case["error"] and "black" in case["error"]
            with pytest.raises(AbsorbedVariableError, match="within variation.*black"):
                pr.random_effects(formula, data, **kw, **options)
            return
        res = pr.random_effects(formula, data, **kw, **options)
    params = res.params.rename(_plm_name)
    ses = res.std_errors.rename(_plm_name)
    names = list(case["params"])
    assert set(names) <= set(params.index)
    expected_se = np.array([case["std_errors"][n] for n in names])
    expected = np.array([case["params"][n] for n in names])
    np.testing.assert_allclose((params[names].to_numpy() - expected) / expected_se, 0, atol=3e-10)
    np.testing.assert_allclose(ses[names], expected_se, rtol=3e-10)
    vc = res.variance_components
    assert vc.sigma2_e == pytest.approx(case["sigma2_idios"], rel=3e-11)
    assert vc.sigma2_u == pytest.approx(case["sigma2_id"], rel=3e-11)
    assert res.nobs == case["nobs"]


# measured: coefficients 1.1e-10, standard errors 5e-11, σᵤ and σₑ 8e-11 relative, R² 1e-11
@pytest.mark.reference
@pytest.mark.parametrize(
    ("case_id", "iv_method"),
    [("nlswork_xtivreg_re", "g2sls"), ("nlswork_xtivreg_ec2sls", "ec2sls")],
)
def test_stata_convention_follows_xtivreg_on_an_unbalanced_panel(
    case_id: str, iv_method: str, nlswork: pd.DataFrame
) -> None:
    """``convention="stata"``: xtivreg's unbalanced σ²ₑ and unweighted-between σ²ᵤ and its
    EC2SLS instruments, against the R re-implementation of xtivreg.ado 1.9.0 stored in
    ``stata_xtivreg.json`` ("stata_algorithm_reimplementation"; R code in
    ``make_iv_reference.R``, not Stata output). Its numbers reproduce the [XT] xtivreg
    manual's printed example 2 as recalled there (marked unverified)."""
    case = json.loads((HERE / "stata_xtivreg.json").read_text())[
        "stata_algorithm_reimplementation"
    ][case_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing values; birth_yr is time-invariant
        res = pr.random_effects(
            NLSWORK.format(black=" + black"),
            nlswork,
            **NLS_KW,
            iv_method=iv_method,
            convention="stata",
        )
    rename = {"I(age ** 2)": "c.age#c.age", "black": "2.race", "Intercept": "_cons"}
    params, ses = res.params.rename(rename), res.std_errors.rename(rename)
    names = list(case["params"])
    np.testing.assert_allclose(params[names], [case["params"][n] for n in names], rtol=1e-9)
    np.testing.assert_allclose(ses[names], [case["std_errors"][n] for n in names], rtol=1e-9)
    vc = res.variance_components
    assert np.sqrt(vc.sigma2_u) == pytest.approx(case["sigma_u"], rel=1e-9)
    assert np.sqrt(vc.sigma2_e) == pytest.approx(case["sigma_e"], rel=1e-9)
    assert res.rsquared_within == pytest.approx(case["r2_within"], rel=1e-9)
    assert res.rsquared_between == pytest.approx(case["r2_between"], rel=1e-9)
    assert res.rsquared_overall == pytest.approx(case["r2_overall"], rel=1e-9)
    assert res.nobs == case["N"] and res.df_resid == case["df_r"]


@pytest.mark.reference
@pytest.mark.parametrize("iv_method", ["g2sls", "ec2sls"])
def test_stata_and_plm_conventions_agree_on_a_balanced_panel(
    iv_method: str, crime: pd.DataFrame
) -> None:
    """On the balanced crime panel xtivreg's components and EC2SLS instruments equal
    plm's (make_iv_reference.R, "stata_on_crime"), so both conventions give plm's fit."""
    case = CASES[f"crime_random_{iv_method}_{'bvk' if iv_method == 'g2sls' else 'baltagi'}"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pr.random_effects(FORMULA, crime, **KW, iv_method=iv_method, convention="stata")
    names = [n for n in case["params"] if n in res.params.index]
    assert {"lprbarr", "lpolpc"} <= set(names)
    np.testing.assert_allclose(res.params[names], [case["params"][n] for n in names], rtol=3e-9)
    np.testing.assert_allclose(
        res.std_errors[names], [case["std_errors"][n] for n in names], rtol=3e-10
    )
