"""Panel 2SLS: algebraic identities and linearmodels' IV2SLS as an independent oracle."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.exceptions import DroppedVariableWarning, FormulaError, IdentificationError

KW = {"entity": "firm", "time": "year"}
ESTIMATORS = [pr.pooled_ols, pr.fixed_effects, pr.first_difference, pr.between]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    g = pr.datasets.load("grunfeld")
    g = g.assign(
        lag_value=g.groupby("firm").value.shift(1),
        lag_capital=g.groupby("firm").capital.shift(1),
        double_value=2 * g.value,
    )
    return g.dropna().reset_index(drop=True)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedVariableWarning)
        return fn(*args, **kw)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda f: f.__name__)
def test_instruments_spanning_the_regressors_give_ols(estimator, data):
    iv = _quiet(estimator, "inv ~ capital + [value ~ double_value]", data, **KW)
    ols = _quiet(estimator, "inv ~ capital + value", data, **KW)
    np.testing.assert_allclose(iv.params[ols.params.index], ols.params, rtol=1e-9)
    np.testing.assert_allclose(iv.std_errors[ols.params.index], ols.std_errors, rtol=1e-9)


@pytest.mark.parametrize("method", ["swamy-arora", "wallace-hussain", "amemiya", "nerlove"])
@pytest.mark.parametrize(
    ("iv_method", "balanced"),
    # not EC2SLS on an unbalanced panel: its instruments [W·z, B·z] do not span x − θᵢx̄ᵢ
    # when θᵢ varies
    [("g2sls", True), ("ec2sls", True), ("g2sls", False)],
    ids=["g2sls-balanced", "ec2sls-balanced", "g2sls-unbalanced"],
)
def test_random_effects_iv_with_spanning_instruments_is_random_effects(
    method, iv_method, balanced, data
):
    """Every first step of the variance components and the GLS step reduce to OLS when
    the instruments span the regressors, for each component method."""
    if not balanced:
        data = data.drop(index=data.index[::7])
    iv = _quiet(
        pr.random_effects,
        "inv ~ capital + [value ~ double_value]",
        data,
        **KW,
        method=method,
        iv_method=iv_method,
    )
    ols = pr.random_effects("inv ~ capital + value", data, **KW, method=method)
    np.testing.assert_allclose(iv.params[ols.params.index], ols.params, rtol=1e-9)
    np.testing.assert_allclose(iv.std_errors[ols.params.index], ols.std_errors, rtol=1e-9)
    assert iv.variance_components.sigma2_u == pytest.approx(
        ols.variance_components.sigma2_u, rel=1e-9
    )


def test_random_effects_iv_options_outside_its_conventions_are_refused(data):
    f = "inv ~ capital + [value ~ lag_value]"
    with pytest.raises(pr.InvalidParameterError, match="convention='stata'.*method='amemiya'"):
        pr.random_effects(f, data, **KW, method="amemiya", convention="stata")
    with pytest.raises(pr.InvalidParameterError, match="method='ml'"):
        pr.random_effects(f, data, **KW, method="ml")
    with pytest.raises(pr.InvalidParameterError, match="effects='twoway'"):
        pr.random_effects(f, data, **KW, effects="twoway")


def test_fe_2sls_equals_2sls_with_entity_dummies(data):
    fe = _quiet(pr.fixed_effects, "inv ~ capital + [value ~ lag_value + lag_capital]", data, **KW)
    dummies = pr.pooled_ols(
        "inv ~ capital + C(firm) + [value ~ lag_value + lag_capital]", data, **KW
    )
    np.testing.assert_allclose(fe.params, dummies.params[fe.params.index], rtol=1e-9)
    np.testing.assert_allclose(fe.std_errors, dummies.std_errors[fe.params.index], rtol=1e-9)
    np.testing.assert_allclose(fe.overid_test.stat, dummies.overid_test.stat, rtol=1e-9)


def test_pooled_2sls_matches_linearmodels(data):
    from linearmodels.iv import IV2SLS

    f = "inv ~ capital + [value ~ lag_value + lag_capital]"
    ours = pr.pooled_ols(f, data, **KW)
    theirs = IV2SLS.from_formula("inv ~ 1 + capital + [value ~ lag_value + lag_capital]", data)
    unadjusted = theirs.fit(cov_type="unadjusted", debiased=True)
    np.testing.assert_allclose(ours.params, unadjusted.params[ours.params.index], rtol=1e-10)
    np.testing.assert_allclose(
        ours.std_errors, unadjusted.std_errors[ours.params.index], rtol=1e-10
    )
    robust = theirs.fit(cov_type="robust", debiased=False)
    mine = ours.with_cov(cov="robust")
    np.testing.assert_allclose(mine.std_errors, robust.std_errors[ours.params.index], rtol=1e-10)
    clustered = theirs.fit(cov_type="clustered", clusters=data["firm"], debiased=False)
    np.testing.assert_allclose(
        ours.with_cov(cov="cluster").std_errors,
        clustered.std_errors[ours.params.index],
        rtol=1e-10,
    )
    # first-stage coefficients
    np.testing.assert_allclose(
        ours.first_stage_params["value"],
        unadjusted.first_stage.individual["value"].params[ours.first_stage_params.index],
        rtol=1e-10,
    )
    # Sargan and the first-stage partial F
    np.testing.assert_allclose(ours.overid_test.stat, unadjusted.sargan.stat, rtol=1e-10)
    first = unadjusted.first_stage.diagnostics.loc["value"]
    np.testing.assert_allclose(
        ours.first_stage.loc["value", "partial_rsquared"], first["partial.rsquared"], rtol=1e-10
    )


def test_bad_instrument_specifications(data):
    with pytest.raises(IdentificationError, match="Under-identified"):
        pr.pooled_ols("inv ~ [value + capital ~ lag_value]", data, **KW)
    with pytest.raises(FormulaError, match="'lag_value' is both an exogenous"):
        pr.pooled_ols("inv ~ capital + lag_value + [value ~ lag_value]", data, **KW)
    firm_size = data.groupby("firm").value.transform("mean")
    with pytest.raises(IdentificationError, match="no variation left"):
        _quiet(
            pr.fixed_effects, "inv ~ capital + [value ~ size]", data.assign(size=firm_size), **KW
        )
    with pytest.raises(FormulaError, match="one bracket"):
        pr.pooled_ols("inv ~ [value ~ lag_value] + [capital ~ lag_capital]", data, **KW)
    with pytest.raises(pr.InvalidParameterError, match="no instrumental-variables form"):
        pr.correlated_random_effects("inv ~ capital + [value ~ lag_value]", data, **KW)


def test_collinear_instruments_are_named(data):
    with pytest.raises(IdentificationError, match="linear combinations"):
        pr.pooled_ols(
            "inv ~ capital + [value ~ lag_value + twice]",
            data.assign(twice=2 * data.lag_value),
            **KW,
        )


def test_hansen_j_and_wu_hausman_match_linearmodels(data):
    from linearmodels.iv import IV2SLS, IVGMM

    spec = "inv ~ 1 + capital + [value ~ lag_value + lag_capital]"
    ours = pr.pooled_ols("inv ~ capital + [value ~ lag_value + lag_capital]", data, **KW)
    unadjusted = IV2SLS.from_formula(spec, data).fit(cov_type="unadjusted")
    assert ours.endogeneity_test.stat == pytest.approx(unadjusted.wu_hausman().stat, rel=1e-10)
    assert ours.endogeneity_test.df == (
        unadjusted.wu_hausman().df,
        unadjusted.wu_hausman().df_denom,
    )
    robust = IVGMM.from_formula(spec, data, weight_type="robust").fit(cov_type="robust")
    j = ours.with_cov(cov="robust").overid_test
    assert j.name.startswith("Hansen") and j.stat == pytest.approx(robust.j_stat.stat, rel=1e-10)
    clustered = IVGMM.from_formula(spec, data, weight_type="clustered", clusters=data["firm"]).fit(
        cov_type="clustered", clusters=data["firm"]
    )
    j = ours.with_cov(cov="cluster").overid_test
    assert j.stat == pytest.approx(clustered.j_stat.stat, rel=1e-10)


def test_first_stage_f_under_each_covariance_matches_linearmodels(data):
    """Robust / clustered: the Wald statistic of the excluded instruments over q with
    ivreg2's small-sample factors (linearmodels reports the plain Wald chi2); unadjusted:
    the classical partial F (linearmodels scales s² by n instead of n - L)."""
    from linearmodels.iv import IV2SLS

    ours = pr.pooled_ols("inv ~ capital + [value ~ lag_value + lag_capital]", data, **KW)
    model = IV2SLS.from_formula("inv ~ 1 + capital + [value ~ lag_value + lag_capital]", data)
    n, L, q = len(data), 4, 2
    theirs = model.fit(cov_type="unadjusted").first_stage.diagnostics.loc["value", "f.stat"]
    assert ours.first_stage.loc["value", "f_stat"] * n / (n - L) == pytest.approx(theirs, rel=1e-10)
    # ivreg2's small-sample factors on linearmodels' Wald statistic: (n − L)/n robust,
    # (G − 1)/G · (n − L)/(n − 1) clustered
    G = data["firm"].nunique()
    factors = {"robust": (n - L) / n, "cluster": (G - 1) / G * (n - L) / (n - 1)}
    for cov, options in (("robust", {}), ("cluster", {"clusters": data["firm"]})):
        lm_cov = "clustered" if cov == "cluster" else cov
        theirs = model.fit(cov_type=lm_cov, **options).first_stage.diagnostics
        mine = ours.with_cov(cov=cov).first_stage.loc["value", "f_stat"]
        expected = theirs.loc["value", "f.stat"] * factors[cov]
        assert mine * q == pytest.approx(expected, rel=1e-10)


def test_weak_instruments_are_flagged(data):
    noise = np.random.default_rng(0).normal(size=len(data))
    with pytest.warns(pr.WeakInstrumentWarning, match=r"value \(F = "):
        res = pr.pooled_ols("inv ~ capital + [value ~ noise]", data.assign(noise=noise), **KW)
    assert res.first_stage.loc["value", "f_stat"] < 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", pr.WeakInstrumentWarning)
        pr.pooled_ols("inv ~ capital + [value ~ lag_value]", data, **KW)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("estimator", [pr.pooled_ols, pr.fixed_effects], ids=lambda f: f.__name__)
def test_iv_on_dask_equals_in_memory(estimator, data):
    """2SLS is written on the statistics seam, so a Dask frame gives the same fit."""
    dask = pytest.importorskip("dask")
    import dask.dataframe as dd

    formula = "inv ~ capital + [value ~ lag_value + lag_capital]"
    with dask.config.set(scheduler="synchronous"):
        lazy = _quiet(estimator, formula, dd.from_pandas(data, npartitions=2), **KW, cov="cluster")
    eager = _quiet(estimator, formula, data, **KW, cov="cluster")
    assert lazy.backend == "dask"
    np.testing.assert_allclose(lazy.params, eager.params, rtol=1e-10)
    np.testing.assert_allclose(lazy.std_errors, eager.std_errors, rtol=1e-10)


def test_c_statistic_matches_linearmodels(data):
    """With a robust or clustered covariance the endogeneity test is the C statistic."""
    from linearmodels.iv import IVGMM

    spec = "inv ~ 1 + capital + [value ~ lag_value + lag_capital]"
    ours = pr.pooled_ols("inv ~ capital + [value ~ lag_value + lag_capital]", data, **KW)
    robust = IVGMM.from_formula(spec, data, weight_type="robust").fit(cov_type="robust")
    test = ours.with_cov(cov="robust").endogeneity_test
    assert test.name.startswith("C ") and test.df == 1
    assert test.stat == pytest.approx(robust.c_stat().stat, rel=1e-9)
    clustered = IVGMM.from_formula(spec, data, weight_type="clustered", clusters=data["firm"])
    theirs = clustered.fit(cov_type="clustered", clusters=data["firm"]).c_stat().stat
    # a statistic of 7.5e-4, a difference of two J statistics of about 1: 1e-11 absolute
    assert ours.with_cov(cov="cluster").endogeneity_test.stat == pytest.approx(theirs, abs=1e-10)


IVREG2 = json.loads(
    (Path(__file__).parents[1] / "reference" / "iv" / "ivreg2_first_stage.json").read_text()
)["cases"]


def _ivreg2_data(case_id: str) -> tuple[str, pd.DataFrame, dict]:
    if case_id.startswith("griliches"):
        import statsmodels.sandbox.regression.tests as oracle

        data = pd.read_stata(Path(oracle.__file__).parent / "griliches76.dta")
        years = sorted(data.year.unique().astype(int))[1:]
        dummies = {f"dyear_{y}": (data.year == y).astype(float) for y in years}
        data = data.assign(**dummies, person=np.arange(len(data)), period=1)
        exogenous = " + ".join(["expr", "tenure", "rns", "smsa", *dummies])
        formula = f"lw ~ 1 + {exogenous} + [s + iq ~ med + kww + age + mrt]"
        return formula, data, {"entity": "person", "time": "period"}
    if case_id.startswith("mroz"):
        from linearmodels.datasets import mroz

        data = mroz.load().dropna(subset=["lwage"])
        data = data.assign(person=np.arange(len(data)), period=1)
        formula = "lwage ~ 1 + [educ + exper ~ age + kidslt6 + kidsge6]"
        return formula, data, {"entity": "person", "time": "period"}
    emp = pr.datasets.load("empluk").sort_values(["firm", "year"])
    logs = {"n": "emp", "w": "wage", "k": "capital", "ys": "output"}
    # abdata.dta stores the logs in single precision
    emp = emp.assign(
        **{v: np.log(emp[c]).astype(np.float32).astype(float) for v, c in logs.items()}
    )
    lagged = emp.groupby("firm")
    for v in ("w", "k", "ys"):
        lag1, lag2 = lagged[v].shift(1), lagged[v].shift(2)
        emp[f"d_{v}"] = emp[v] - lag1
        emp[f"d2_{v}"] = emp[v] - 2 * lag1 + lag2
    formula = "n ~ 1 + [w + k + ys ~ d_w + d_k + d_ys + d2_w + d2_k + d2_ys]"
    return formula, emp.dropna(), {"entity": "firm", "time": "year"}


# measured: mroz to Stata's printed digits (≤ 8e-8 relative); abdata ≤ 7.4e-7 relative,
# the single-precision rounding of abdata.dta that the float32 logs only approximate
@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(c for c in IVREG2 if "sw_f_stat" in IVREG2[c]))
def test_first_stage_and_sanderson_windmeijer_f_match_ivreg2(case_id):
    """The first-stage F and Sanderson–Windmeijer conditional F of pooled 2SLS with two
    and three endogenous regressors equal Stata ivreg2's (unadjusted, robust and
    clustered; ``ivreg2_first_stage.json`` names the source of every number)."""
    case = IVREG2[case_id]
    formula, data, kw = _ivreg2_data(case_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.WeakInstrumentWarning)
        res = pr.pooled_ols(formula, data, **kw, cov=case["vce"])
    assert res.nobs == case["nobs"]
    first = res.first_stage
    names = list(case["sw_f_stat"])
    rtol = 1e-7 if case_id.startswith("mroz") else 1e-6
    np.testing.assert_allclose(first.loc[names, "f_stat"], list(case["f_stat"].values()), rtol=rtol)
    np.testing.assert_allclose(
        first.loc[names, "sw_f_stat"], list(case["sw_f_stat"].values()), rtol=rtol
    )
    np.testing.assert_allclose(
        first.loc[names, "partial_rsquared"], list(case["partial_rsquared"].values()), rtol=rtol
    )
    assert (first.df_num.iloc[0], first.df_denom.iloc[0]) == tuple(case["f_df"])
    assert first.sw_df_num.iloc[0] == case["sw_df"][0]


@pytest.mark.parametrize("cov", ["unadjusted", "robust", "cluster"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda f: f.__name__)
def test_sanderson_windmeijer_f_with_one_endogenous_regressor_is_the_first_stage_f(
    estimator, cov, data
):
    """With one endogenous regressor nothing is partialled out: SW F = first-stage F."""
    res = _quiet(
        estimator, "inv ~ capital + [value ~ lag_value + lag_capital]", data, **KW, cov=cov
    )
    row = res.first_stage.loc["value"]
    assert row.sw_f_stat == pytest.approx(row.f_stat, rel=1e-12)
    assert row.sw_df_num == row.df_num == 2


# measured: Griliches 2e-13 (Sargan 4e-11); abdata 7e-7, coefficients 2e-6 (single-precision
# data); Mroz to the printed digits
@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(c for c in IVREG2 if "model" in IVREG2[c]))
def test_weak_identification_and_model_statistics_match_ivreg2(case_id):
    """The Cragg–Donald and Kleibergen–Paap rk Wald F (several endogenous regressors),
    coefficients, standard errors and Sargan/Hansen J equal Stata ivreg2's."""
    case = IVREG2[case_id]
    model = case["model"]
    formula, data, kw = _ivreg2_data(case_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.WeakInstrumentWarning)
        res = pr.pooled_ols(formula, data, **kw, cov=case["vce"])
    assert res.nobs == case["nobs"]
    # Mroz: printed to 4 digits (statistics) and 7 (coefficients); abdata: stored in
    # single precision; Griliches: full precision (the Sargan statistic agrees to 4e-11)
    source = case_id.split("_")[0]
    rtol = {"mroz": 1e-3, "abdata": 1e-6, "griliches": 1e-10}[source]
    rtol_params = {"mroz": 0.0, "abdata": 5e-6, "griliches": 1e-10}[source]
    # Mroz: 7 printed decimals; _cons is 5.1e-8 from its printed digits (mroz.dta holds
    # single-precision values, this copy doubles)
    atol_params = 1e-7 if source == "mroz" else 0.0
    weak = res.weak_identification
    assert weak.cragg_donald_f == pytest.approx(model["cragg_donald_f"], rel=rtol)
    if "kleibergen_paap_f" in model:
        assert weak.kleibergen_paap_f == pytest.approx(model["kleibergen_paap_f"], rel=rtol)
    for key in ("sargan", "hansen_j"):
        if key in model:
            assert res.overid_test.stat == pytest.approx(model[key], rel=rtol)
    for name, value in model.get("params", {}).items():
        assert res.params[name] == pytest.approx(value, rel=rtol_params, abs=atol_params)
    for name, value in model.get("std_errors", {}).items():
        assert res.std_errors[name] == pytest.approx(value, rel=rtol)


def test_weak_identification_with_one_endogenous_regressor_is_the_first_stage_f(data):
    """One endogenous regressor: Cragg–Donald = classical first-stage F, and the
    Kleibergen–Paap rk Wald F = the robust first-stage Wald F."""
    f = "inv ~ capital + [value ~ lag_value + lag_capital]"
    plain = pr.pooled_ols(f, data, **KW)
    assert plain.weak_identification.cragg_donald_f == pytest.approx(
        plain.first_stage.loc["value", "f_stat"], rel=1e-12
    )
    for cov in ("robust", "cluster"):
        res = plain.with_cov(cov=cov)
        assert res.weak_identification.kleibergen_paap_f == pytest.approx(
            res.first_stage.loc["value", "f_stat"], rel=1e-10
        )


CR2_IV = json.loads(
    (Path(__file__).parents[1] / "reference" / "iv" / "clubsandwich_cr2_iv.json").read_text()
)["cases"]


# measured: standard errors and Satterthwaite df to 3e-14 (pooled), 2e-12 (FE vs dummies)
@pytest.mark.reference
@pytest.mark.parametrize(
    ("case_id", "estimator"),
    [("pooled", pr.pooled_ols), ("firm_dummies", pr.fixed_effects)],
    ids=["pooled", "fixed_effects"],
)
def test_cr2_of_2sls_matches_clubsandwich(case_id, estimator, data):
    """cov="cr2" on a 2SLS fit (the projected regressors' hat matrix) equals R
    clubSandwich's vcovCR(ivreg, type="CR2") and its Satterthwaite df; FE-2SLS equals the
    2SLS with firm dummies."""
    case = CR2_IV[case_id]
    res = _quiet(
        estimator, "inv ~ capital + [value ~ lag_value + lag_capital]", data, **KW, cov="cr2"
    )
    assert res.nobs == case["nobs"]
    names = list(res.std_errors.index)
    expected = {
        ("Intercept" if k == "(Intercept)" else k): v for k, v in case["std_errors"].items()
    }
    dfs = {("Intercept" if k == "(Intercept)" else k): v for k, v in case["df"].items()}
    np.testing.assert_allclose(res.std_errors[names], [expected[n] for n in names], rtol=1e-11)
    np.testing.assert_allclose(res.coefficient_df[names], [dfs[n] for n in names], rtol=1e-11)
    # the J and C tests weight their moments by the plain clustered meat
    assert np.isfinite(res.overid_test.stat) and np.isfinite(res.endogeneity_test.stat)
