"""Specification tests beyond the stored R cases: variants, validity and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import panelre as pr

F = "inv ~ value + capital"


def simulate(n=200, t=5, corr=0.0, sigma_u=1.0, seed=0):
    """y = 1 + x1 - x2 + u_i + e_it with corr(u_i, mean x1) = corr (a Mundlak DGP)."""
    rng = np.random.default_rng(seed)
    u = sigma_u * rng.normal(size=n)
    i = np.repeat(np.arange(n), t)
    x1 = rng.normal(size=n * t) + corr * u[i]
    x2 = rng.normal(size=n * t)
    y = 1 + x1 - x2 + u[i] + rng.normal(size=n * t)
    return pd.DataFrame({"i": i, "t": np.tile(np.arange(t), n), "x1": x1, "x2": x2, "y": y})


@pytest.fixture
def fe_re(grunfeld):
    kw = {"entity": "firm", "time": "year"}
    return pr.fixed_effects(F, grunfeld, **kw), pr.random_effects(F, grunfeld, **kw)


def test_hausman_variants_follow_their_formulas(fe_re):
    fe, re = fe_re
    q = (fe.params - re.params[fe.params.index]).to_numpy()
    s2_fe, s2_re = fe.resid_variance, re.resid_variance
    v_fe, v_re = fe.cov.to_numpy(), re.cov.loc[fe.params.index, fe.params.index].to_numpy()
    more = pr.hausman(fe, re, variant="sigmamore")
    less = pr.hausman(fe, re, variant="sigmaless")
    np.testing.assert_allclose(more.stat, q @ np.linalg.solve(v_fe * s2_re / s2_fe - v_re, q))
    np.testing.assert_allclose(less.stat, q @ np.linalg.solve(v_fe - v_re * s2_fe / s2_re, q))
    classic = pr.hausman(fe, re)
    assert classic.details.rank == 2 and classic.details.positive_definite
    assert classic.df == 2 and "chi2(2)" in str(classic)


def test_hausman_refuses_clustered_covariances(fe_re):
    fe, re = fe_re
    with pytest.raises(pr.IncompatibleResultsError, match="hausman_regression.*cluster"):
        pr.hausman(fe.with_cov("cluster"), re)


def test_hausman_refuses_different_data(grunfeld, fe_re):
    _, re = fe_re
    other = pr.fixed_effects(F, grunfeld.iloc[:150], entity="firm", time="year")
    with pytest.raises(pr.IncompatibleResultsError, match="different data"):
        pr.hausman(other, re)
    with pytest.raises(pr.IncompatibleResultsError, match="fitted panel results"):
        pr.hausman(other, "RE")


def test_hausman_non_psd_difference_is_flagged_not_absed():
    # a design where V_FE - V_RE is indefinite: the classic test is invalid
    found = False
    for seed in range(40):
        df = simulate(n=30, t=3, seed=seed)
        kw = {"entity": "i", "time": "t"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pr.BoundaryWarning)
            fe, re = (
                pr.fixed_effects("y ~ x1 + x2", df, **kw),
                pr.random_effects("y ~ x1 + x2", df, **kw),
            )
        eig = np.linalg.eigvalsh(
            fe.cov.to_numpy() - re.cov.loc[fe.params.index, fe.params.index].to_numpy()
        )
        if eig.min() < -1e-6 * abs(eig).max():
            with pytest.warns(pr.NonPositiveDefiniteWarning, match="not positive semi-definite"):
                res = pr.hausman(fe, re)
            assert not res.valid and "hausman_regression" in res.reason
            assert "V(Fixed effects" in res.reason and "data do not support" not in res.reason
            found = True
            break
    assert found, "no seed produced an indefinite difference"


def test_hausman_swapped_arguments_are_put_in_order(grunfeld):
    """hausman(re, fe) is hausman(fe, re), with a warning; it never blames the data."""
    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    re = pr.random_effects(F, grunfeld, entity="firm", time="year")
    right = pr.hausman(fe, re)
    with pytest.warns(pr.ArgumentOrderWarning, match=r"consistent model first .* swapped|as if"):
        swapped = pr.hausman(re, fe)
    assert swapped.stat == right.stat and swapped.df == right.df and swapped.valid
    assert swapped.name == right.name


def test_regression_hausman_without_time_varying_regressors_is_invalid(grunfeld):
    df = grunfeld.assign(founded=grunfeld["firm"] * 3.0)
    res = pr.hausman_regression("inv ~ founded", df, entity="firm", time="year")
    assert not res.valid and "no time-varying regressors" in res.reason


def test_hausman_no_common_coefficients(grunfeld):
    df = grunfeld.assign(founded=grunfeld["firm"] * 3.0)
    fe = pr.fixed_effects(F, df, entity="firm", time="year")
    re = pr.random_effects("inv ~ founded", df, entity="firm", time="year")
    with pytest.raises(pr.IncompatibleResultsError, match="no coefficients"):
        pr.hausman(fe, re)


@pytest.mark.parametrize("cov", ["unadjusted", "cluster"])
def test_regression_hausman_equals_cre_wald(grunfeld, cov):
    """On a balanced panel the auxiliary-regression Hausman test (within-demeaned
    regressors added to the RE regression) is the Wald test of the entity means in the
    Mundlak (CRE) regression: the two regressions span the same columns. Measured
    agreement 2e-13 (unadjusted) and 3e-12 (clustered)."""
    res = pr.hausman_regression(F, grunfeld, entity="firm", time="year", cov=cov)
    cre = pr.correlated_random_effects(F, grunfeld, entity="firm", time="year", cov=cov)
    assert res.valid and res.df == cre.mundlak_test.df == 2
    np.testing.assert_allclose(res.stat, cre.mundlak_test.stat, rtol=1e-10)
    np.testing.assert_allclose(res.pvalue, cre.mundlak_test.pvalue, rtol=1e-9)


def test_f_test_needs_fixed_effects(fe_re):
    _, re = fe_re
    with pytest.raises(pr.IncompatibleResultsError, match="pr.fixed_effects"):
        pr.f_test_effects(re)


def test_lm_time_effects_need_time(grunfeld):
    with pytest.raises(pr.PanelIndexError, match="time identifier"):
        pr.breusch_pagan(F, grunfeld, entity="firm", effects="time")


def test_singleton_only_panel():
    df = simulate(n=50, t=1)
    with pytest.raises(pr.InsufficientDataError, match="every one of the 50 groups"):
        pr.breusch_pagan("y ~ x1", df, entity="i", time="t")
    with pytest.raises(pr.InsufficientDataError, match="single observation"):
        pr.select("y ~ x1", df, entity="i", time="t")


@pytest.mark.parametrize(
    "corr,sigma_u,expected",
    [(0.0, 1.0, "random_effects"), (1.0, 1.0, "fixed_effects"), (0.0, 0.0, "pooled_ols")],
)
def test_select_recovers_the_data_generating_model(corr, sigma_u, expected):
    df = simulate(corr=corr, sigma_u=sigma_u, seed=1)
    sel = pr.select("y ~ x1 + x2", df, entity="i", time="t")
    assert sel.recommended == expected
    text = sel.report()
    assert "Recommended model" in text and "p = " in text
    assert set(sel.tests) >= {"f_test_effects", "breusch_pagan", "hausman_regression"}
    assert set(sel.models) >= {"Pooled", "FE", "RE"}


def test_select_recommends_cre_with_time_invariant_regressors():
    df = simulate(corr=1.0, seed=2)
    df["z"] = np.repeat(np.random.default_rng(0).normal(size=200), 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.DroppedVariableWarning)
        sel = pr.select("y ~ x1 + x2 + z", df, entity="i", time="t")
    assert sel.recommended == "correlated_random_effects"
    assert sel.time_invariant == ["z"] and "z" in sel.report()


def test_selection_renders(grunfeld):
    sel = pr.select(F, grunfeld, entity="firm", time="year")
    d = sel.to_dict()
    assert d["recommended"] == "fixed_effects" and "hausman_regression" in d["tests"]
    assert "Model comparison" in str(sel)


def test_hausman_without_between_variation_is_invalid():
    sleep = pr.datasets.load("sleepstudy")  # every subject has Days 0..9
    test = pr.hausman_regression("Reaction ~ Days", sleep, entity="Subject", time="Days")
    assert not test.valid and "no between-entity variation" in test.reason
    sel = pr.select("Reaction ~ Days", sleep, entity="Subject", time="Days")
    assert sel.recommended == "random_effects" and "cannot be computed" in sel.report()


def test_select_table_models_share_the_covariance(grunfeld):
    """select() puts every model in one covariance: the recommended one, or cov=."""
    sel = pr.select(F, grunfeld, entity="firm", time="year")
    assert sel.recommended_cov == "driscoll-kraay"
    assert {m.cov_type for m in sel.models.values()} == {"Driscoll-Kraay (bandwidth auto)"}
    chosen = pr.select(F, grunfeld, entity="firm", time="year", cov="cluster")
    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year", cov="cluster")
    pd.testing.assert_series_equal(chosen.models["FE"].std_errors, fe.std_errors)
    assert chosen.tests["hausman"].stat == sel.tests["hausman"].stat  # tests unchanged
    with pytest.raises(pr.InvalidParameterError, match=r"Got 'clustr' \(did you mean 'cluster'"):
        pr.select(F, grunfeld, entity="firm", time="year", cov="clustr")
