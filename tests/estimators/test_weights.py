"""Observation weights: the identities that define them, and every bad-input path.

* integer frequency weights equal the data with rows repeated (parameters, standard errors
  under every covariance, observations, degrees of freedom);
* analytic weights that are all equal change nothing but σ² (by the constant);
* pooled WLS equals OLS on √w-scaled data;
* the weighted within estimator equals the weighted LSDV (two-way exact on unbalanced
  panels) — against R in tests/reference/test_weights_reference.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.exceptions import DataError, InsufficientDataError, InvalidParameterError

KW = {"entity": "firm", "time": "year"}
FORMULA = "inv ~ value + capital"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    g = pr.datasets.load("grunfeld")
    rng = np.random.default_rng(7)
    g["w"] = rng.uniform(0.3, 3.0, len(g))
    g["fw"] = rng.integers(1, 4, len(g))
    g = g.drop(index=[5, 33, 34, 101, 150]).reset_index(drop=True)  # unbalanced
    return g


def repeated(d: pd.DataFrame) -> pd.DataFrame:
    """Each row ``fw`` times, as separate observations (pooled and between only: repeated
    rows break the (entity, time) index the within estimators need)."""
    return d.loc[d.index.repeat(d["fw"])].reset_index(drop=True)


COVS = [
    ("unadjusted", {}),
    ("robust", {"small_sample": True}),
    ("cluster", {"small_sample": True}),
    ("cluster", {"small_sample": False}),
]


@pytest.mark.parametrize(("cov", "opts"), COVS)
def test_frequency_weights_equal_repeated_rows_pooled(data, cov, opts) -> None:
    rows = repeated(data)
    got = pr.pooled_ols(FORMULA, data, **KW, weights="fw", weight_type="frequency", cov=cov,
                        **opts)  # fmt: skip
    want = pr.pooled_ols(FORMULA, rows, entity="firm", cov=cov, **opts)
    np.testing.assert_allclose(got.params, want.params, rtol=1e-12)
    np.testing.assert_allclose(got.std_errors, want.std_errors, rtol=1e-11)
    assert (got.nobs, got.df_resid, got.df_model) == (want.nobs, want.df_resid, want.df_model)
    np.testing.assert_allclose(got.rsquared, want.rsquared, rtol=1e-12)


@pytest.mark.parametrize("effects", ["entity", "time", "twoway"])
def test_frequency_weights_equal_repeated_rows_within(data, effects) -> None:
    """Within: repeated rows in LSDV form (the effects as dummies in a pooled regression,
    which needs no (entity, time) index)."""
    rows = repeated(data)
    dummies = {"entity": " + C(firm)", "time": " + C(year)", "twoway": " + C(firm) + C(year)"}
    for cov, opts in COVS[:3]:
        got = pr.fixed_effects(FORMULA, data, **KW, effects=effects, weights="fw",
                               weight_type="frequency", cov=cov, **opts)  # fmt: skip
        want = pr.pooled_ols(FORMULA + dummies[effects], rows, entity="firm", cov=cov, **opts)
        np.testing.assert_allclose(got.params, want.params[got.params.index], rtol=1e-9)
        if cov == "unadjusted":  # the df are equal; HC/cluster factors count the dummies
            np.testing.assert_allclose(got.std_errors, want.std_errors[got.params.index], rtol=1e-9)
            assert got.df_resid == want.df_resid
        assert got.nobs == int(data["fw"].sum())


def test_frequency_weights_equal_repeated_rows_between(data) -> None:
    rows = repeated(data)
    for wls in (False, True):
        got = pr.between(FORMULA, data, entity="firm", weights="fw", weight_type="frequency",
                         wls=wls)  # fmt: skip
        want = pr.between(FORMULA, rows, entity="firm", wls=wls)
        np.testing.assert_allclose(got.params, want.params, rtol=1e-12)
        np.testing.assert_allclose(got.std_errors, want.std_errors, rtol=1e-12)


@pytest.mark.parametrize(
    ("fit", "opts"),
    [
        (pr.pooled_ols, {}),
        (pr.between, {}),
        (pr.between, {"wls": True}),
        (pr.fixed_effects, {"effects": "entity"}),
        (pr.fixed_effects, {"effects": "twoway"}),
        (pr.fixed_effects, {"constant": True}),
        (pr.first_difference, {}),
    ],
)
def test_equal_analytic_weights_change_nothing(data, fit, opts) -> None:
    d = data.assign(c=2.5)
    for cov in ("unadjusted", "robust", "cluster", "driscoll-kraay"):
        if fit is pr.between and cov != "unadjusted":
            continue
        got = fit(FORMULA, d, **KW, weights="c", cov=cov, **opts)
        want = fit(FORMULA, d, **KW, cov=cov, **opts)
        np.testing.assert_allclose(got.params, want.params, rtol=1e-11)
        np.testing.assert_allclose(got.std_errors, want.std_errors, rtol=1e-11)
        for r2 in ("rsquared", "rsquared_within", "rsquared_between", "rsquared_overall"):
            np.testing.assert_allclose(getattr(got, r2), getattr(want, r2), rtol=1e-11)
        assert got.nobs == want.nobs and got.df_resid == want.df_resid
    if fit is not pr.between:  # σ² scales with the weights' level (R lm's convention); a
        level = 2.5 / 2 if fit is pr.first_difference else 2.5  # difference weighs c/2
        np.testing.assert_allclose(got.resid_variance, level * want.resid_variance, rtol=1e-11)


def test_pooled_wls_is_ols_on_root_w_scaled_data(data) -> None:
    s = np.sqrt(data["w"].to_numpy())
    scaled = pd.DataFrame(
        {
            "firm": data["firm"],
            "y": data["inv"] * s,
            "c": s,
            "v": data["value"] * s,
            "k": data["capital"] * s,
        }
    )
    want = pr.pooled_ols("y ~ 0 + c + v + k", scaled, entity="firm", cov="robust")
    got = pr.pooled_ols(FORMULA, data, **KW, weights="w", cov="robust")
    np.testing.assert_allclose(got.params.to_numpy(), want.params.to_numpy(), rtol=1e-11)
    np.testing.assert_allclose(got.std_errors.to_numpy(), want.std_errors.to_numpy(), rtol=1e-11)


def test_weights_as_array_equal_weights_as_column(data) -> None:
    a = pr.fixed_effects(FORMULA, data, **KW, weights="w", effects="twoway")
    b = pr.fixed_effects(FORMULA, data, **KW, weights=data["w"].to_numpy(), effects="twoway")
    pd.testing.assert_series_equal(a.params, b.params)
    # rows dropped for missing values keep their own weights
    d = data.copy()
    d.loc[[3, 40], "value"] = np.nan
    with pytest.warns(pr.MissingValueWarning, match="2 of"):
        c = pr.pooled_ols(FORMULA, d, **KW, weights=d["w"].to_numpy())
    e = pr.pooled_ols(FORMULA, d.dropna(), **KW, weights="w")
    np.testing.assert_allclose(c.params, e.params, rtol=1e-13)


def test_weighted_r2_follow_stata_and_lm(data) -> None:
    """Pooled R² is the weighted R² of lm; FE's within R² is weighted, the between and
    overall R² are not (Stata's weighted xtreg, fe)."""
    fe = pr.fixed_effects(FORMULA, data, **KW, weights="w")
    unweighted = pr.pooled_ols(FORMULA, data, **KW)
    xb = data[["value", "capital"]].to_numpy() @ fe.params.to_numpy()
    overall = np.corrcoef(xb, data["inv"])[0, 1] ** 2
    np.testing.assert_allclose(fe.rsquared_overall, overall, rtol=1e-12)
    means = data.groupby("firm")[["inv", "value", "capital"]].mean()
    between = np.corrcoef(means[["value", "capital"]].to_numpy() @ fe.params, means["inv"])[0, 1]
    np.testing.assert_allclose(fe.rsquared_between, between**2, rtol=1e-12)
    w = data["w"].to_numpy()
    wm = data.groupby("firm")[["inv", "value", "capital"]].transform(
        lambda c: np.average(c, weights=w[c.index])
    )
    yt = (data["inv"] - wm["inv"]).to_numpy()
    xt = (data[["value", "capital"]] - wm[["value", "capital"]]).to_numpy() @ fe.params.to_numpy()
    within = (w @ (yt * xt)) ** 2 / ((w @ yt**2) * (w @ xt**2))
    np.testing.assert_allclose(fe.rsquared_within, within, rtol=1e-11)
    np.testing.assert_allclose(fe.rsquared, within, rtol=1e-11)
    assert unweighted.rsquared != pytest.approx(
        pr.pooled_ols(FORMULA, data, **KW, weights="w").rsquared
    )


def test_zero_weights_are_dropped_with_a_count(data) -> None:
    d = data.assign(w0=np.where(np.arange(len(data)) % 10 == 0, 0.0, data["w"]))
    with pytest.warns(pr.MissingValueWarning, match=r"20 of 195 row\(s\) with weight zero"):
        got = pr.fixed_effects(FORMULA, d, **KW, weights="w0")
    want = pr.fixed_effects(FORMULA, d[d["w0"] > 0], **KW, weights="w0")
    pd.testing.assert_series_equal(got.params, want.params)
    assert got.nobs == 175


@pytest.mark.parametrize(
    ("values", "kind", "error", "match"),
    [
        (np.nan, "analytic", DataError, r"1 missing value\(s\) \(first at row 7"),
        (np.inf, "analytic", DataError, r"1 infinite value"),
        (-1.0, "analytic", DataError, r"1 negative value.*finite and >= 0"),
        (1.5, "frequency", DataError, r"1 non-integer value.*weight_type='analytic'"),
    ],
)
def test_bad_weight_values_are_errors(data, values, kind, error, match) -> None:
    d = data.assign(bad=data["fw"].astype(float))
    d.loc[7, "bad"] = values
    before = d.copy()
    with pytest.raises(error, match=match):
        pr.pooled_ols(FORMULA, d, **KW, weights="bad", weight_type=kind)
    pd.testing.assert_frame_equal(d, before)  # the failing call left the data as it was


def test_bad_weight_arguments_are_errors(data) -> None:
    with pytest.raises(InvalidParameterError, match=r"'wieght' is not in the data \(did you mean"):
        pr.pooled_ols(FORMULA, data.rename(columns={"w": "weight"}), **KW, weights="wieght")
    with pytest.raises(DataError, match="must be numeric"):
        pr.pooled_ols(FORMULA, data.assign(s="a"), **KW, weights="s")
    with pytest.raises(InvalidParameterError, match=r"one value per row of the data \(195"):
        pr.pooled_ols(FORMULA, data, **KW, weights=np.ones(10))
    with pytest.raises(InvalidParameterError, match="'weight_type' parameter must be one of"):
        pr.pooled_ols(FORMULA, data, **KW, weights="w", weight_type="sampling")
    with pytest.raises(InvalidParameterError, match="without weights"):
        pr.pooled_ols(FORMULA, data, **KW, weight_type="frequency")
    with pytest.raises(InvalidParameterError, match="one-dimensional numeric"):
        pr.pooled_ols(FORMULA, data, **KW, weights=np.ones((195, 2)))
    with pytest.raises(InsufficientDataError, match="zero in every row"):
        pr.pooled_ols(FORMULA, data.assign(z=0.0), **KW, weights="z")


@pytest.mark.parametrize(
    ("fit", "opts", "match"),
    [
        (pr.random_effects, {}, "xtreg, re takes no weights"),
        (pr.correlated_random_effects, {}, "xtreg, re takes no weights"),
        (pr.hausman_taylor, {"endogenous": ["value"]}, "xthtaylor"),
    ],
)
def test_estimators_undefined_with_weights_say_so(data, fit, opts, match) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        fit(FORMULA, data, **KW, weights="w", **opts)


def test_first_difference_refuses_frequency_weights(data) -> None:
    with pytest.raises(InvalidParameterError, match="analytic weights only"):
        pr.first_difference(FORMULA, data, **KW, weights="fw", weight_type="frequency")


def test_user_data_are_not_modified(data) -> None:
    before = data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pr.fixed_effects(FORMULA, data, **KW, weights=data["w"].to_numpy(), effects="twoway")
        pr.between(FORMULA, data, **KW, weights="fw", weight_type="frequency")
    pd.testing.assert_frame_equal(data, before)


# ----------------------------------------------------------------------- specification tests
def test_f_test_of_weighted_effects_equals_the_wls_f_test(data) -> None:
    """F test of the entity effects on a weighted fit = statsmodels' WLS F test of the
    entity dummies (weighted LSDV against weighted pooled OLS)."""
    import statsmodels.formula.api as smf

    fe = pr.fixed_effects(FORMULA, data, **KW, weights="w")
    got = pr.f_test_effects(fe)
    full = smf.wls(FORMULA + " + C(firm)", data, weights=data["w"]).fit()
    restricted = smf.wls(FORMULA, data, weights=data["w"]).fit()
    f, p, df1 = full.compare_f_test(restricted)
    np.testing.assert_allclose([got.stat, got.pvalue], [f, p], rtol=1e-10)
    assert got.df == (int(df1), int(full.df_resid))
    stata = pr.f_test_effects(fe, convention="stata")  # nothing absorbed: the same test
    np.testing.assert_allclose(stata.stat, got.stat, rtol=1e-12)


def test_tests_undefined_with_weights_return_the_reason(data) -> None:
    lm = pr.breusch_pagan(FORMULA, data, **KW, weights="w")
    assert not lm.valid and "not defined with observation weights" in lm.reason
    assert np.isnan(lm.stat)
    aux = pr.hausman_regression(FORMULA, data, **KW, weights="w", cov="cluster")
    assert not aux.valid and "random effects are not defined" in aux.reason
    fe = pr.fixed_effects(FORMULA, data, **KW, weights="w")
    for test in (
        pr.serial_correlation(fe),
        pr.serial_correlation(fe, test="breusch-godfrey"),
        pr.cross_sectional_dependence(fe),
    ):
        assert not test.valid and "analytic weights" in test.reason and np.isnan(test.stat)


def test_hausman_and_select_refuse_mixed_or_weighted_inputs(data) -> None:
    fe = pr.fixed_effects(FORMULA, data, **KW, weights="w")
    re = pr.random_effects(FORMULA, data, **KW)
    with pytest.raises(pr.IncompatibleResultsError, match="different weights"):
        pr.hausman(fe, re)
    with pytest.raises(InvalidParameterError, match=r"f_test_effects"):
        pr.select(FORMULA, data, **KW, weights="w")


@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_weighted_effects_are_the_weighted_lsdv_dummies(data, effects) -> None:
    """The entity effects (and the fitted values x'b + αᵢ + γₜ) of a weighted fit are the
    dummies' coefficients (fitted values) of the weighted LSDV regression."""
    import statsmodels.formula.api as smf

    fe = pr.fixed_effects(FORMULA, data, **KW, weights="w", effects=effects)
    dummies = " + C(firm) - 1" + (" + C(year)" if effects == "twoway" else "")
    lsdv = smf.wls(FORMULA + dummies, data, weights=data["w"]).fit()
    fitted = fe.fitted_values.to_numpy()
    np.testing.assert_allclose(fitted, lsdv.fittedvalues.to_numpy(), rtol=1e-10, atol=1e-8)
    if effects == "entity":
        alpha = lsdv.params[[f"C(firm)[{f}]" for f in fe.effects.index]].to_numpy()
        np.testing.assert_allclose(fe.effects.to_numpy(), alpha, rtol=1e-10)
    else:  # γ has weighted mean zero; α carries the level
        gamma = fe.time_effects.to_numpy()
        w_t = data.groupby("year")["w"].sum().to_numpy()
        assert abs(gamma @ w_t) < 1e-8 * np.abs(gamma).max() * w_t.sum()


def test_weights_with_panel_data_and_dask_inputs(data) -> None:
    panel = pr.PanelData(data, entity="firm", time="year")
    a = pr.fixed_effects(FORMULA, panel, weights=data["w"].to_numpy())
    b = pr.fixed_effects(FORMULA, data, **KW, weights="w")
    pd.testing.assert_series_equal(a.params, b.params)
    import dask.dataframe as dd

    lazy = dd.from_pandas(data, npartitions=2)
    with pytest.raises(InvalidParameterError, match="must be the name of a column of the Dask"):
        pr.pooled_ols(FORMULA, lazy, **KW, weights=data["w"].to_numpy())
    with pytest.raises(InvalidParameterError, match="'wx' is not in the data"):
        pr.pooled_ols(FORMULA, lazy, **KW, weights="wx")


# ----------------------------------------------------------------------- found in review
def test_the_scale_of_analytic_weights_changes_nothing(data) -> None:
    """Only the ratios of analytic weights matter (the drop rule reads Σw, not the rows)."""
    for scale in (1e-12, 1e12):
        for fit in (pr.first_difference, pr.fixed_effects, pr.pooled_ols):
            a = fit(FORMULA, data, **KW, weights=data["w"] * scale)
            b = fit(FORMULA, data, **KW, weights="w")
            pd.testing.assert_series_equal(a.params, b.params, rtol=1e-9)
            pd.testing.assert_series_equal(a.std_errors, b.std_errors, rtol=1e-9)


def test_frequency_weights_give_the_repeated_rows_r2(data) -> None:
    rows = repeated(data)
    got = pr.pooled_ols(FORMULA, data, **KW, weights="fw", weight_type="frequency")
    want = pr.pooled_ols(FORMULA, rows, entity="firm")
    for r2 in ("rsquared", "rsquared_within", "rsquared_between", "rsquared_overall"):
        np.testing.assert_allclose(getattr(got, r2), getattr(want, r2), rtol=1e-12, err_msg=r2)


def test_transformed_data_carry_the_weights(data) -> None:
    import statsmodels.api as sm

    for fit, opts in ((pr.fixed_effects, {"effects": "twoway"}), (pr.first_difference, {})):
        res = fit(FORMULA, data, **KW, weights="w", **opts)
        rows = res.transformed_data()
        names = list(res.params.index)
        wls = sm.WLS(rows["inv"], rows[names], weights=rows["weights"]).fit()
        np.testing.assert_allclose(wls.params, res.params, rtol=1e-9)


def test_a_weights_series_is_aligned_on_the_data_index(data) -> None:
    shuffled = data["w"].sample(frac=1.0, random_state=1)
    a = pr.fixed_effects(FORMULA, data, **KW, weights=shuffled)
    b = pr.fixed_effects(FORMULA, data, **KW, weights="w")
    pd.testing.assert_series_equal(a.params, b.params)
    with pytest.raises(InvalidParameterError, match="index that does not match"):
        elsewhere = pd.Series(data["w"].to_numpy(), index=data.index + 1000)
        pr.fixed_effects(FORMULA, data, **KW, weights=elsewhere)


def test_tests_refuse_data_arguments_with_a_fitted_result(data) -> None:
    fe = pr.fixed_effects(FORMULA, data, **KW)
    re = pr.random_effects(FORMULA, data, **KW)
    with pytest.raises(InvalidParameterError, match="not both"):
        pr.f_test_effects(fe, weights="w")
    with pytest.raises(InvalidParameterError, match="not both"):
        pr.breusch_pagan(pr.pooled_ols(FORMULA, data, **KW), weight_type="frequency")
    with pytest.raises(InvalidParameterError, match="with a formula"):
        pr.hausman(fe, re, method="amemiya")
    with pytest.raises(InvalidParameterError, match="'effects' is for a formula"):
        pr.f_test_effects(fe, effects="time")
