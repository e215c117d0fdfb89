"""One vocabulary: every public result type has the shared names with the shared types
(API.md, "One vocabulary")."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import panelre as pr


def _results() -> dict[str, object]:
    g = pr.datasets.load("grunfeld")
    w = pr.datasets.load("wages")
    F, KW = "inv ~ value + capital", {"entity": "firm", "time": "year"}
    bcg = pr.datasets.load("bcg")
    es = pr.effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "pooled": pr.pooled_ols(F, g, **KW),
            "fixed_effects": pr.fixed_effects(F, g, **KW),
            "random_effects": pr.random_effects(F, g, **KW),
            "random_effects_ml": pr.random_effects(F, g, method="ml", **KW),
            "cre": pr.correlated_random_effects(F, g, **KW),
            "hausman_taylor": pr.hausman_taylor(
                "lwage ~ wks + exp + ed", w, entity="id", time="time", endogenous=["exp", "ed"]
            ),
            "mixed": pr.mixed("Reaction ~ Days + (Days | Subject)", pr.datasets.load("sleepstudy")),
            "meta": pr.meta_analysis(es.yi, es.vi),
            "meta_regression": pr.meta_analysis(es.yi, es.vi, moderators="~ ablat", data=bcg),
        }


RESULTS = _results()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_shared_names_and_types(name: str) -> None:
    res = RESULTS[name]
    names = list(res.params.index)
    for attr in ("params", "std_errors", "tstats", "pvalues"):
        value = getattr(res, attr)
        assert isinstance(value, pd.Series), attr
        assert list(value.index) == names, attr
    assert isinstance(res.cov, pd.DataFrame) and list(res.cov.index) == names
    np.testing.assert_allclose(np.sqrt(np.diag(res.cov)), res.std_errors, rtol=1e-12)
    for ci in (res.conf_int(), res.conf_int(0.9)):
        assert list(ci.columns) == ["lower", "upper"] and list(ci.index) == names
    assert (res.conf_int(0.9)["lower"] > res.conf_int(0.99)["lower"]).all()
    frame = res.to_frame()
    assert list(frame.columns) == ["params", "std_errors", "tstats", "pvalues", "lower", "upper"]
    assert isinstance(res.nobs, int)
    assert res.loglike is None or isinstance(res.loglike, float)
    for attr in ("fitted_values", "resids"):
        series = pr.stats.in_memory(getattr(res, attr))
        assert isinstance(series, pd.Series) and len(series) == res.nobs, attr
    assert str(res.summary)


def test_tests_share_pvalue_and_accept_results_or_formulas() -> None:
    g = pr.datasets.load("grunfeld")
    F, KW = "inv ~ value + capital", {"entity": "firm", "time": "year"}
    fe, re = RESULTS["fixed_effects"], RESULTS["random_effects"]
    pairs = [
        (pr.hausman(fe, re), pr.hausman(F, g, **KW)),
        (pr.f_test_effects(fe), pr.f_test_effects(F, g, **KW)),
        (pr.breusch_pagan(RESULTS["pooled"]), pr.breusch_pagan(F, g, **KW)),
        (
            pr.hausman_regression(fe, cov="cluster"),
            pr.hausman_regression(F, g, cov="cluster", **KW),
        ),
        (pr.serial_correlation(fe), pr.serial_correlation(F, g, **KW)),
    ]
    for from_result, from_formula in pairs:
        assert isinstance(from_result.pvalue, float)
        assert from_result.name in str(from_result.summary)
        assert from_result.stat == pytest.approx(from_formula.stat, rel=1e-12)
    with pytest.raises(pr.InvalidParameterError, match="not both"):
        pr.breusch_pagan(fe, g)


def test_select_names_use_the_function_names() -> None:
    sel = pr.select("inv ~ value + capital", pr.datasets.load("grunfeld"), entity="firm",
                    time="year")  # fmt: skip
    functions = {"pooled_ols", "fixed_effects", "random_effects", "correlated_random_effects"}
    assert sel.recommended in functions
    assert set(sel.tests) <= {"f_test_effects", "breusch_pagan", "hausman_regression", "hausman",
                              "serial_correlation", "cross_sectional_dependence",
                              "unit_root"}  # fmt: skip


def test_method_and_option_strings_are_case_insensitive() -> None:
    g = pr.datasets.load("grunfeld")
    F, KW = "inv ~ value + capital", {"entity": "firm", "time": "year"}
    base = pr.random_effects(F, g, method="swamy-arora", **KW)
    shouted = pr.random_effects(F, g, method="Swamy-Arora", convention="PLM", effects="Entity",
                                cov="Unadjusted", backend="NumPy", **KW)  # fmt: skip
    pd.testing.assert_series_equal(base.params, shouted.params)
    fe = pr.fixed_effects(F, g, cov="CLUSTER", small_sample="Stata", **KW)
    assert fe.cov_type == pr.fixed_effects(F, g, cov="cluster", small_sample="stata", **KW).cov_type
    w = pr.pooled_ols(F, g.assign(n=2), weights="n", weight_type="Frequency", **KW)
    assert w.nobs == 2 * len(g)
    fe0 = pr.fixed_effects(F, g, **KW)
    assert pr.serial_correlation(fe0, test="Wooldridge").stat == pytest.approx(
        pr.serial_correlation(fe0, test="wooldridge").stat
    )
    assert pr.cross_sectional_dependence(fe0, test="Pesaran-CD").stat == pytest.approx(
        pr.cross_sectional_dependence(fe0, test="pesaran-cd").stat
    )
    assert pr.unit_root(g, "inv", test="IPS", lags=1, **KW).stat == pytest.approx(
        pr.unit_root(g, "inv", test="ips", lags=1, **KW).stat
    )
    re = RESULTS["random_effects"]
    assert pr.hausman(fe0, re, variant="SigmaMore").stat == pytest.approx(
        pr.hausman(fe0, re, variant="sigmamore").stat
    )
    bcg = pr.datasets.load("bcg")
    es = pr.effect_size("rr", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    assert pr.meta_analysis(es.yi, es.vi, method="reml", test="HKSJ").tau2 == pytest.approx(
        pr.meta_analysis(es.yi, es.vi, method="REML", test="hksj").tau2
    )
