"""The shared covariance module: definitions, small-sample factors, options."""

from __future__ import annotations

import numpy as np
import pytest

import panelre as pr

F = "inv ~ value + capital"


def test_one_observation_per_cluster_equals_robust(grunfeld):
    res = pr.pooled_ols(F, grunfeld, entity="firm", time="year")
    robust = res.with_cov("robust")
    clustered = res.with_cov("cluster", cluster=np.arange(200))
    np.testing.assert_allclose(robust.std_errors, clustered.std_errors, rtol=1e-12)
    # up to the df factor with small_sample
    n, k = 200, 3
    ratio = (
        res.with_cov("cluster", cluster=np.arange(200), small_sample=True).std_errors
        / robust.std_errors
    )
    np.testing.assert_allclose(ratio, np.sqrt(n / (n - 1) * (n - 1) / (n - k)), rtol=1e-12)


def test_cluster_by_column_name_equals_entity(grunfeld):
    res = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    a = res.with_cov("cluster", cluster="entity")
    b = res.with_cov("cluster", cluster="firm")
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-12)
    c = res.with_cov("cluster", cluster="year")
    d = res.with_cov("cluster", cluster="time")
    np.testing.assert_allclose(c.std_errors, d.std_errors, rtol=1e-12)


def test_stata_small_sample_factor(grunfeld):
    res = pr.pooled_ols(F, grunfeld, entity="firm", time="year")
    g, n, k = 10, 200, 3
    ratio = res.with_cov("cluster", small_sample=True).cov / res.with_cov("cluster").cov
    np.testing.assert_allclose(ratio.to_numpy(), g / (g - 1) * (n - 1) / (n - k), rtol=1e-12)


def _factor(res, small_sample, cluster="entity"):
    adjusted = res.with_cov("cluster", cluster=cluster, small_sample=small_sample).cov
    return (adjusted / res.with_cov("cluster", cluster=cluster).cov).to_numpy()


@pytest.mark.parametrize("convention", ["plm", "stata"])
def test_random_effects_cluster_factor_is_the_full_stata_factor(grunfeld, convention):
    # Stata's xtreg, re vce(cluster) applies G/(G-1)(N-1)/(N-K), K with _cons
    re = pr.random_effects(F, grunfeld, entity="firm", time="year", convention=convention)
    np.testing.assert_allclose(_factor(re, small_sample=True), 10 / 9 * 199 / 197, rtol=1e-12)


def test_fixed_effects_cluster_factor_counts_the_stata_constant(grunfeld):
    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    # Stata xtreg, fe: K = 2 slopes + _cons; the entity effects nest in the clusters
    np.testing.assert_allclose(_factor(fe, small_sample=True), 10 / 9 * 199 / 197, rtol=1e-12)
    np.testing.assert_allclose(_factor(fe, small_sample="stata"), 10 / 9 * 199 / 197, rtol=1e-12)
    # R plm vcovHC(type="sss"): K = the 2 slopes of the within regression
    np.testing.assert_allclose(_factor(fe, small_sample="plm"), 10 / 9 * 199 / 198, rtol=1e-12)
    # a column with the same groups nests the effects too
    np.testing.assert_allclose(
        _factor(fe, small_sample=True, cluster="firm"), 10 / 9 * 199 / 197, rtol=1e-12
    )
    # clusters that do not nest the entities: the 9 entity dummies beyond _cons count (areg)
    np.testing.assert_allclose(
        _factor(fe, small_sample=True, cluster="time"), 20 / 19 * 199 / 188, rtol=1e-12
    )
    np.testing.assert_allclose(
        _factor(fe, small_sample=True, cluster="year"), 20 / 19 * 199 / 188, rtol=1e-12
    )


def test_twoway_fixed_effects_cluster_factor_counts_unnested_time_effects(grunfeld):
    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year", effects="twoway")
    # as Stata xtreg y x i.year, fe vce(cluster firm): K = 2 + _cons + 19 year dummies
    np.testing.assert_allclose(_factor(fe, small_sample=True), 10 / 9 * 199 / 178, rtol=1e-12)


def test_stata_inference_uses_g_minus_one(grunfeld):
    from scipy import stats

    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    stata = fe.with_cov("cluster", small_sample=True)
    assert stata.df_inference == 9
    t = stata.tstats.abs().to_numpy()
    np.testing.assert_allclose(stata.pvalues, 2 * stats.t.sf(t, 9), rtol=1e-12)
    half = stata.conf_int()["upper"] - stata.params
    np.testing.assert_allclose(half, stats.t.ppf(0.975, 9) * stata.std_errors, rtol=1e-12)
    # plm's conventions keep t(df_resid)
    for options in ({}, {"small_sample": "plm"}):
        assert fe.with_cov("cluster", **options).df_inference == fe.df_resid
    assert fe.with_cov("robust", small_sample=True).df_inference == fe.df_resid
    # two-way clustering: the smaller G
    both = fe.with_cov("cluster", cluster=["entity", "time"], small_sample=True)
    assert both.df_inference == 9
    # random effects report z, as Stata's xtreg, re
    re = pr.random_effects(F, grunfeld, entity="firm", time="year")
    assert re.with_cov("cluster", small_sample=True).df_inference is None


def test_small_sample_option_is_checked(grunfeld):
    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    with pytest.raises(pr.InvalidParameterError, match="'stata' or 'plm'.*'sas'"):
        fe.with_cov("cluster", small_sample="sas")
    assert fe.with_cov("cluster", small_sample="PLM").cov_estimator.options() == {
        "small_sample": "plm",
        "cluster": "entity",
    }


def test_clustered_matches_linearmodels(grunfeld_unbalanced):
    from linearmodels import PanelOLS

    df = grunfeld_unbalanced.set_index(["firm", "year"])
    lm = PanelOLS.from_formula("inv ~ value + capital + EntityEffects", df).fit(
        cov_type="clustered", cluster_entity=True, debiased=False, group_debias=False
    )
    ours = pr.fixed_effects(F, df, cov="cluster")
    # linearmodels' unadjusted clustered estimator, no debiasing: the plm HC0 form
    np.testing.assert_allclose(ours.std_errors, lm.std_errors, rtol=1e-9)


def test_driscoll_kraay_bandwidth(grunfeld):
    res = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    zero = res.with_cov("driscoll-kraay", bandwidth=0)
    by_time = res.with_cov("cluster", cluster="time")
    np.testing.assert_allclose(zero.std_errors, by_time.std_errors, rtol=1e-12)
    assert res.with_cov("driscoll-kraay").cov_type == "Driscoll-Kraay (bandwidth auto)"


def test_driscoll_kraay_needs_time(grunfeld):
    res = pr.pooled_ols(F, grunfeld, entity="firm")
    with pytest.raises(pr.InvalidParameterError, match="time identifier"):
        res.with_cov("driscoll-kraay")


def test_cluster_array_length_is_checked(grunfeld):
    res = pr.pooled_ols(F, grunfeld, entity="firm")
    with pytest.raises(pr.InvalidParameterError, match="one value per observation.*200.*Got 5"):
        res.with_cov("cluster", cluster=np.arange(5))


def test_p_values_use_t_for_fe_and_normal_for_re(grunfeld):
    fe = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    re = pr.random_effects(F, grunfeld, entity="firm", time="year")
    from scipy import stats

    np.testing.assert_allclose(fe.pvalues, 2 * stats.t.sf(abs(fe.tstats), fe.df_resid))
    np.testing.assert_allclose(re.pvalues, 2 * stats.norm.sf(abs(re.tstats)))
    ci = fe.conf_int(0.9)
    np.testing.assert_allclose(
        ci["upper"] - fe.params, stats.t.ppf(0.95, fe.df_resid) * fe.std_errors
    )
