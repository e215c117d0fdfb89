"""Stata's conventions beside plm's: the fixed-effects constant, the u_i F test, first-
difference counts, ML standard errors, Wald tests and the one Hausman path for
Hausman–Taylor. Stata's published numbers are in tests/reference/test_stata_published.py;
these are the identities and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import panelre as pr
from tests.conftest import reference_cases
from tests.estimators.test_time_invariant import ENDOGENOUS, WAGES_FORMULA

F = "inv ~ value + capital"
KW = {"entity": "firm", "time": "year"}


@pytest.mark.parametrize("effects", ["entity", "time", "twoway"])
def test_constant_is_the_average_effect(grunfeld_unbalanced, effects):
    data = grunfeld_unbalanced
    plain = pr.fixed_effects(F, data, effects=effects, **KW)
    fec = pr.fixed_effects(F, data, effects=effects, constant=True, **KW)
    # the slopes, residuals and degrees of freedom are those of the within regression
    np.testing.assert_allclose(fec.params[plain.params.index], plain.params, rtol=1e-10)
    np.testing.assert_allclose(fec.resids, plain.resids, rtol=1e-9, atol=1e-9)
    assert fec.df_resid == plain.df_resid
    # _cons = mean(y) - mean(x)'b
    means = data[["inv", "value", "capital"]].mean()
    expected = means["inv"] - means[["value", "capital"]] @ plain.params
    np.testing.assert_allclose(fec.params["Intercept"], expected, rtol=1e-10)


def test_constant_standard_error_is_that_of_the_augmented_regression(grunfeld):
    # Stata: regress y - ybar_i + ybar on x - xbar_i + xbar and a constant, df n - N - K
    fec = pr.fixed_effects(F, grunfeld, constant=True, **KW)
    g = grunfeld.groupby("firm")
    cols = ["inv", "value", "capital"]
    aug = grunfeld[cols] - g[cols].transform("mean") + grunfeld[cols].mean()
    X = np.column_stack([aug[["value", "capital"]], np.ones(len(aug))])
    e = fec.resids.to_numpy()
    s2 = e @ e / fec.df_resid
    se = np.sqrt(np.diag(s2 * np.linalg.inv(X.T @ X)))
    np.testing.assert_allclose(fec.std_errors, se, rtol=1e-10)
    # the cluster factor's K is the same with and without the reported constant
    plain = pr.fixed_effects(F, grunfeld, cov="cluster", small_sample=True, **KW)
    clustered = fec.with_cov("cluster", small_sample=True)
    np.testing.assert_allclose(clustered.std_errors[plain.params.index], plain.std_errors)


def test_constant_must_be_a_bool(grunfeld):
    with pytest.raises(pr.InvalidParameterError, match="'constant'.*True or False.*'yes'"):
        pr.fixed_effects(F, grunfeld, constant="yes", **KW)


def test_stata_f_test_leaves_out_absorbed_regressors(wagepan):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.DroppedVariableWarning)
        fe = pr.fixed_effects("lwage ~ educ + exper + expersq + union", wagepan,
                              entity="nr", time="year")  # fmt: skip
        kept = pr.fixed_effects("lwage ~ exper + expersq + union", wagepan,
                                entity="nr", time="year")  # fmt: skip
    stata = pr.f_test_effects(fe, convention="stata")
    plm = pr.f_test_effects(fe)
    assert stata.df == (544, fe.df_resid)
    assert plm.df == (543, fe.df_resid)  # educ stays in plm's pooled model
    # Stata's test is the plm test of the model without the absorbed regressor
    same = pr.f_test_effects(kept)
    np.testing.assert_allclose(stata.stat, same.stat, rtol=1e-10)
    assert stata.df == same.df
    with pytest.raises(pr.InvalidParameterError, match="convention.*'sata'"):
        pr.f_test_effects(fe, convention="sata")


def test_first_difference_counts_the_differences(grunfeld):
    fd = pr.first_difference(F, grunfeld, **KW)
    assert fd.nobs == 190
    assert fd.nobs_data == 200
    assert fd.nobs - fd.df_resid == len(fd.params)  # as linearmodels and Stata
    fe = pr.fixed_effects(F, grunfeld, **KW)
    assert fe.nobs == fe.nobs_data == 200


@pytest.mark.reference
def test_one_hausman_path_for_hausman_taylor(wages):
    case = reference_cases()["wages_hausman_ht_vs_within"]  # plm phtest(within, ht)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        ht = pr.hausman_taylor(WAGES_FORMULA, wages, entity="id", time="time",
                               endogenous=ENDOGENOUS)  # fmt: skip
        fe = pr.fixed_effects(WAGES_FORMULA, wages, entity="id", time="time")
    direct = pr.hausman(fe, ht)
    overid = ht.overid_test
    assert direct.stat == overid.stat
    assert direct.df == overid.df == case["df"] == 9
    np.testing.assert_allclose(direct.stat, case["stat"], rtol=1e-6)
    # the Stata form stays available and flags the difference that is not PSD
    stata = pr.hausman(fe, ht, convention="stata")
    assert not stata.valid


def test_ml_stata_standard_errors_invert_the_full_information(grunfeld):
    lme4 = pr.random_effects(F, grunfeld, method="ml", **KW)
    stata = pr.random_effects(F, grunfeld, method="ml", convention="stata", **KW)
    np.testing.assert_allclose(stata.params, lme4.params, rtol=1e-12)
    # numerical Hessian of the log-likelihood in (beta, sigma2_e, sigma2_u) at the MLE
    y = grunfeld["inv"].to_numpy()
    X = np.column_stack([np.ones(200), grunfeld[["value", "capital"]]])
    ids = grunfeld["firm"].to_numpy()

    def loglike(theta):
        b, s2e, s2u = theta[:3], theta[3], theta[4]
        total = 0.0
        for g in np.unique(ids):  # a loop over 10 firms, in a test
            e = y[ids == g] - X[ids == g] @ b
            V = s2e * np.eye(e.size) + s2u
            total += -0.5 * (np.linalg.slogdet(2 * np.pi * V)[1] + e @ np.linalg.solve(V, e))
        return total

    vc = stata.variance_components
    theta = np.r_[stata.params.to_numpy(), vc.sigma2_e, vc.sigma2_u]
    np.testing.assert_allclose(loglike(theta), stata.loglike, rtol=1e-10)
    h = np.abs(theta) * 1e-4
    H = np.empty((5, 5))
    for i in range(5):
        for j in range(5):
            ei, ej = np.eye(5)[i] * h[i], np.eye(5)[j] * h[j]
            H[i, j] = (
                loglike(theta + ei + ej) - loglike(theta + ei - ej)
                - loglike(theta - ei + ej) + loglike(theta - ei - ej)
            ) / (4 * h[i] * h[j])  # fmt: skip
    se = np.sqrt(np.diag(np.linalg.inv(-H))[:3])
    np.testing.assert_allclose(stata.std_errors, se, rtol=1e-5)
    assert not np.allclose(stata.std_errors, lme4.std_errors, rtol=1e-4)


def test_lr_test_of_sigma_u(grunfeld):
    ml = pr.random_effects(F, grunfeld, method="ml", **KW)
    pooled = pr.pooled_ols(F, grunfeld, **KW)
    n = 200
    ssr = float(pooled.resid_variance * pooled.df_resid)
    pooled_loglike = -n / 2 * (np.log(2 * np.pi * ssr / n) + 1)
    test = ml.lr_test
    np.testing.assert_allclose(test.stat, 2 * (ml.loglike - pooled_loglike), rtol=1e-12)
    from scipy import stats

    np.testing.assert_allclose(test.pvalue, stats.chi2.sf(test.stat, 1) / 2, rtol=1e-12)
    assert "chibar2(01)" in str(test)
    sa = pr.random_effects(F, grunfeld, **KW)
    with pytest.raises(pr.InvalidParameterError, match="method='ml'.*'swamy-arora'"):
        _ = sa.lr_test


def test_wald_test_matches_the_t_test_and_checks_names(grunfeld):
    fe = pr.fixed_effects(F, grunfeld, cov="cluster", small_sample=True, **KW)
    one = fe.wald_test(["value"])
    np.testing.assert_allclose(one.stat, fe.tstats["value"] ** 2, rtol=1e-12)
    np.testing.assert_allclose(one.pvalue, fe.pvalues["value"], rtol=1e-10)
    assert one.df == (1, 9)
    re = pr.random_effects(F, grunfeld, **KW)
    assert re.wald_test().df == 2 and re.wald_test().distribution == "chi2"
    with pytest.raises(pr.InvalidParameterError, match="'valeu'.*did you mean 'value'"):
        fe.wald_test(["valeu"])
    with pytest.raises(pr.InvalidParameterError, match="needs coefficient names"):
        fe.wald_test([])
