"""Algebraic identities: LSDV = within, RE(θ=0) = pooled, RE(θ→1) = within, and
agreement with linearmodels where it follows the same convention."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import panelre as pr

F = "inv ~ value + capital"


def _lsdv(df: pd.DataFrame, dummies: list[str]):
    import statsmodels.api as sm

    parts = [df[["value", "capital"]]]
    for i, col in enumerate(dummies):
        parts.append(pd.get_dummies(df[col], prefix=col, drop_first=i > 0, dtype=float))
    return sm.OLS(df["inv"], pd.concat(parts, axis=1)).fit()


@pytest.mark.parametrize("frame", ["grunfeld", "grunfeld_unbalanced"])
@pytest.mark.parametrize(
    "effects,dummies", [("entity", ["firm"]), ("time", ["year"]), ("twoway", ["firm", "year"])]
)
def test_within_equals_dummy_variable_ols(frame, effects, dummies, request):
    df = request.getfixturevalue(frame)
    fe = pr.fixed_effects(F, df, entity="firm", time="year", effects=effects)
    ols = _lsdv(df, dummies)
    np.testing.assert_allclose(fe.params, ols.params[["value", "capital"]], rtol=1e-9)
    np.testing.assert_allclose(fe.std_errors, ols.bse[["value", "capital"]], rtol=1e-9)
    assert fe.df_resid == ols.df_resid
    np.testing.assert_allclose(fe.resids.to_numpy(), ols.resid.to_numpy(), atol=1e-8)


def test_fixed_effects_levels_equal_dummy_coefficients(grunfeld_unbalanced):
    fe = pr.fixed_effects(F, grunfeld_unbalanced, entity="firm", time="year")
    ols = _lsdv(grunfeld_unbalanced, ["firm"])
    np.testing.assert_allclose(fe.effects.to_numpy(), ols.params.iloc[2:].to_numpy(), rtol=1e-9)


def test_random_effects_with_zero_theta_is_pooled(grunfeld):
    # a regressor set with no entity effect: σ²ᵤ estimated negative -> θ = 0
    rng = np.random.default_rng(3)
    df = grunfeld.copy()
    df["inv"] = 1 + 0.1 * df["value"] + rng.normal(scale=50, size=len(df))
    with pytest.warns(pr.BoundaryWarning):
        re = pr.random_effects(F, df, entity="firm", time="year", method="amemiya")
    assert re.variance_components.sigma2_u == 0
    assert re.variance_components.theta == 0
    pooled = pr.pooled_ols(F, df, entity="firm", time="year")
    np.testing.assert_allclose(re.params, pooled.params, rtol=1e-10)


def test_random_effects_approaches_within_as_theta_goes_to_one(grunfeld):
    # huge entity effects push θ towards 1: RE slopes converge to FE slopes
    df = grunfeld.copy()
    df["inv"] = df["inv"] + 1e7 * df["firm"]
    re = pr.random_effects(F, df, entity="firm", time="year")
    fe = pr.fixed_effects(F, df, entity="firm", time="year")
    assert re.variance_components.theta > 0.9999
    np.testing.assert_allclose(re.params[["value", "capital"]], fe.params, rtol=1e-3)


@pytest.mark.parametrize("frame", ["grunfeld", "grunfeld_unbalanced"])
def test_stata_convention_matches_linearmodels_default(frame, request):
    from linearmodels import RandomEffects

    df = request.getfixturevalue(frame)
    ours = pr.random_effects(F, df, entity="firm", time="year", convention="stata")
    theirs = RandomEffects.from_formula(
        "inv ~ 1 + value + capital", df.set_index(["firm", "year"])
    ).fit()
    np.testing.assert_allclose(ours.params.to_numpy(), theirs.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.std_errors.to_numpy(), theirs.std_errors.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        ours.variance_components.sigma2_u, theirs.variance_decomposition["Effects"], rtol=1e-9
    )


def test_plm_convention_matches_linearmodels_small_sample(grunfeld_unbalanced):
    from linearmodels import RandomEffects

    ours = pr.random_effects(F, grunfeld_unbalanced, entity="firm", time="year")
    theirs = RandomEffects.from_formula(
        "inv ~ 1 + value + capital", grunfeld_unbalanced.set_index(["firm", "year"])
    ).fit(small_sample=True)
    np.testing.assert_allclose(ours.params.to_numpy(), theirs.params.to_numpy(), rtol=1e-9)


def test_first_difference_equals_ols_on_differences(grunfeld):
    import statsmodels.api as sm

    d = grunfeld.sort_values(["firm", "year"]).copy()
    diffs = d.groupby("firm")[["inv", "value", "capital"]].diff().dropna()
    ols = sm.OLS(diffs["inv"], sm.add_constant(diffs[["value", "capital"]])).fit()
    fd = pr.first_difference(F, grunfeld, entity="firm", time="year")
    np.testing.assert_allclose(fd.params.to_numpy(), ols.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(fd.std_errors.to_numpy(), ols.bse.to_numpy(), rtol=1e-9)


def test_stata_r2_definitions_for_fixed_effects(grunfeld):
    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    # within R² of FE is its own R² (demeaned regression)
    np.testing.assert_allclose(fe.rsquared_within, fe.rsquared, rtol=1e-12)
    xb = grunfeld[["value", "capital"]].to_numpy() @ fe.params.to_numpy()
    np.testing.assert_allclose(fe.rsquared_overall, np.corrcoef(xb, grunfeld["inv"])[0, 1] ** 2)
    means = (
        pd.DataFrame({"xb": xb, "y": grunfeld["inv"], "g": grunfeld["firm"]}).groupby("g").mean()
    )
    np.testing.assert_allclose(fe.rsquared_between, means.corr().iloc[0, 1] ** 2)


def test_results_are_invariant_to_row_order_and_relabelling(grunfeld_unbalanced):
    df = grunfeld_unbalanced
    shuffled = df.sample(frac=1.0, random_state=5).assign(
        firm=lambda d: "f" + (100 - d["firm"]).astype(str)
    )
    for fn in (pr.pooled_ols, pr.fixed_effects, pr.random_effects, pr.first_difference, pr.between):
        a = fn(F, df, entity="firm", time="year", cov="cluster")
        b = fn(F, shuffled, entity="firm", time="year", cov="cluster")
        np.testing.assert_allclose(a.params, b.params[a.params.index], rtol=1e-9)
        np.testing.assert_allclose(a.std_errors, b.std_errors[a.params.index], rtol=1e-8)


def test_twoway_entity_clusters_on_the_grid_equal_any_row_order(grunfeld):
    """Rows that are the full (entity, time) grid in order take the entity score sums of
    two-way maps as an N x T table product; shuffled rows take the general path."""
    shuffled = grunfeld.sample(frac=1.0, random_state=3)
    assert pr.PanelData(grunfeld, "firm", "year").is_grid
    assert not pr.PanelData(shuffled, "firm", "year").is_grid
    kw = {"entity": "firm", "time": "year", "effects": "twoway", "cov": "cluster"}
    for fn, extra in (
        (pr.fixed_effects, {}),
        (pr.fixed_effects, {"weights": "value"}),
        (pr.random_effects, {}),
    ):
        a, b = (fn(F, data, **kw, **extra) for data in (grunfeld, shuffled))
        np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-11)


def test_with_cov_equals_refit(grunfeld):
    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    a = fe.with_cov("driscoll-kraay", bandwidth=2)
    b = pr.fixed_effects(F, grunfeld, entity="firm", time="year", cov="driscoll-kraay", bandwidth=2)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-12)
    assert fe.cov_type == "Unadjusted"  # the original is unchanged


def test_blups_are_shrunken_mean_residuals(grunfeld_unbalanced):
    re = pr.random_effects(F, grunfeld_unbalanced, entity="firm", time="year")
    vc = re.variance_components
    t_i = grunfeld_unbalanced.groupby("firm").size().to_numpy()
    ebar = re.resids.groupby(level=0).mean().to_numpy()
    expected = t_i * vc.sigma2_u / (t_i * vc.sigma2_u + vc.sigma2_e) * ebar
    np.testing.assert_allclose(re.effects.to_numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(
        vc.shrinkage.to_numpy(), vc.sigma2_u / (vc.sigma2_u + vc.sigma2_e / t_i), rtol=1e-12
    )
    assert isinstance(vc.theta, pd.Series) and len(vc.theta) == 10


def test_predict_on_new_data(grunfeld):
    re = pr.random_effects(F, grunfeld, entity="firm", time="year")
    new = pd.DataFrame({"value": [1000.0], "capital": [100.0]})
    expected = re.params["Intercept"] + 1000 * re.params["value"] + 100 * re.params["capital"]
    np.testing.assert_allclose(re.predict(new, effects="exclude").iloc[0], expected)
    np.testing.assert_allclose(re.predict(effects="exclude"), re.fitted_values)


def test_summary_renders_in_every_format(grunfeld):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        re = pr.random_effects(F, grunfeld, entity="firm", time="year")
    s = re.summary
    assert "capital" in str(s) and "<table>" in s._repr_html_()
    assert "\\begin{tabular}" in s.as_latex() and "| capital |" in s.as_markdown()
    frame = re.to_frame()
    assert list(frame.columns) == ["params", "std_errors", "tstats", "pvalues", "lower", "upper"]
