"""Algebraic identities and agreement with statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.meta_analysis import combine_effects

from panelre.datasets import load
from panelre.meta import TAU2_ESTIMATORS, effect_size, meta_analysis
from panelre.meta._inputs import prepare_studies
from panelre.meta._wls import weighted_fit
from panelre.meta.combine import _inference
from panelre.meta.tau2 import generalized_q, log_likelihood


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    data = load("bcg")
    es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    return pd.concat([data, es], axis=1)


def test_fe_is_inverse_variance_weighted_mean(bcg: pd.DataFrame) -> None:
    m = meta_analysis("yi", "vi", data=bcg, method="FE")
    w = 1 / bcg.vi
    assert m.estimate == pytest.approx(np.sum(w * bcg.yi) / w.sum(), rel=1e-13)
    assert m.se == pytest.approx(np.sqrt(1 / w.sum()), rel=1e-13)
    assert m.tau2 == 0.0


@pytest.mark.parametrize("tau2", [0.0, 0.05, 0.3131, 2.0])
def test_re_with_fixed_tau2_is_wls(bcg: pd.DataFrame, tau2: float) -> None:
    studies = prepare_studies("yi", "vi", "~ ablat", bcg)
    inf = _inference(studies, tau2, "z", 0.95)
    X = sm.add_constant(bcg.ablat.to_numpy(dtype=float))
    wls = sm.WLS(bcg.yi.to_numpy(), X, weights=1 / (bcg.vi.to_numpy() + tau2)).fit()
    np.testing.assert_allclose(inf.beta, wls.params, rtol=1e-12)
    # statsmodels scales the covariance by the residual variance; metafor's is (X'WX)^-1
    np.testing.assert_allclose(inf.cov, wls.normalized_cov_params, rtol=1e-12)
    # under HKSJ the scale is exactly statsmodels' residual variance (k - p df)
    hk = _inference(studies, tau2, "hksj", 0.95)
    np.testing.assert_allclose(hk.cov, wls.cov_params(), rtol=1e-12)


def test_dl_matches_statsmodels_combine_effects(bcg: pd.DataFrame) -> None:
    m = meta_analysis("yi", "vi", data=bcg, method="DL")
    sm_res = combine_effects(bcg.yi.to_numpy(), bcg.vi.to_numpy(), method_re="dl")
    assert m.tau2 > 0
    assert m.tau2 == pytest.approx(sm_res.tau2, rel=1e-12)
    assert m.estimate == pytest.approx(sm_res.mean_effect_re, rel=1e-12)
    assert m.se == pytest.approx(sm_res.sd_eff_w_re, rel=1e-12)
    assert m.q == pytest.approx(sm_res.q, rel=1e-12)
    np.testing.assert_allclose(m.weights / 100, sm_res.weights_rel_re, rtol=1e-12)


def test_pm_matches_statsmodels_iterated(bcg: pd.DataFrame) -> None:
    # statsmodels' "iterated" estimator is Paule-Mandel, solved to a looser tolerance
    m = meta_analysis("yi", "vi", data=bcg, method="PM")
    sm_res = combine_effects(bcg.yi.to_numpy(), bcg.vi.to_numpy(), method_re="iterated")
    assert m.tau2 == pytest.approx(sm_res.tau2, rel=1e-6)
    assert m.estimate == pytest.approx(sm_res.mean_effect_re, rel=1e-6)


def test_paule_mandel_solves_its_equation(bcg: pd.DataFrame) -> None:
    m = meta_analysis("yi", "vi", data=bcg, method="PM")
    q = generalized_q(m.tau2, bcg.yi.to_numpy(), bcg.vi.to_numpy(), np.ones((13, 1)))
    assert q == pytest.approx(12, rel=1e-12)
    assert meta_analysis("yi", "vi", data=bcg, method="EB").tau2 == pytest.approx(m.tau2)


@pytest.mark.parametrize("method,restricted", [("ML", False), ("REML", True)])
def test_likelihood_estimates_are_maxima(bcg: pd.DataFrame, method: str, restricted: bool) -> None:
    y, v, X = bcg.yi.to_numpy(), bcg.vi.to_numpy(), np.ones((13, 1))
    t = meta_analysis(y, v, method=method).tau2
    ll = [log_likelihood(t + d, y, v, X, restricted) for d in (-1e-4, 0.0, 1e-4)]
    assert ll[1] > ll[0] and ll[1] > ll[2]
    # the score (numerical derivative) vanishes at the optimum
    h = 1e-6
    grad = (
        log_likelihood(t + h, y, v, X, restricted) - log_likelihood(t - h, y, v, X, restricted)
    ) / (2 * h)
    assert abs(grad) < 1e-6


def test_i2_h2_relation(bcg: pd.DataFrame) -> None:
    for method in TAU2_ESTIMATORS:
        m = meta_analysis("yi", "vi", data=bcg, method=method)
        assert m.i2 == pytest.approx(100 * (m.h2 - 1) / m.h2, rel=1e-12)
        assert m.tau2 >= 0 and m.h2 >= 1


def test_weights_sum_to_100(bcg: pd.DataFrame) -> None:
    m = meta_analysis("yi", "vi", data=bcg, method="SJ")
    assert m.weights.sum() == pytest.approx(100)


def test_trace_helpers_match_dense_matrices(bcg: pd.DataFrame) -> None:
    X = np.column_stack([np.ones(13), bcg.ablat.to_numpy(float)])
    d = 1 / (bcg.vi.to_numpy() + 0.2)
    v = bcg.vi.to_numpy()
    fit = weighted_fit(bcg.yi.to_numpy(), X, d)
    W = np.diag(d)
    P = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    V = np.diag(v)
    assert fit.trace() == pytest.approx(np.trace(P), rel=1e-12)
    assert fit.trace(v) == pytest.approx(np.trace(P @ V), rel=1e-12)
    assert fit.trace2() == pytest.approx(np.trace(P @ P), rel=1e-12)
    assert fit.trace2(v, v) == pytest.approx(np.trace(P @ V @ P @ V), rel=1e-12)
    assert fit.trace2(v, 1.0) == pytest.approx(np.trace(P @ V @ P), rel=1e-12)
    y = bcg.yi.to_numpy()
    assert fit.rss_pp == pytest.approx(y @ P @ P @ y, rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.permutations(list(range(13))), st.sampled_from(sorted(TAU2_ESTIMATORS)))
def test_study_order_changes_nothing(order: list[int], method: str) -> None:
    data = load("bcg")
    es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    base = meta_analysis(es.yi, es.vi, method=method)
    perm = meta_analysis(es.yi.to_numpy()[order], es.vi.to_numpy()[order], method=method)
    assert perm.estimate == pytest.approx(base.estimate, rel=1e-10)
    assert perm.tau2 == pytest.approx(base.tau2, rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("method", sorted(TAU2_ESTIMATORS))
def test_shift_and_scale_equivariance(bcg: pd.DataFrame, method: str) -> None:
    base = meta_analysis("yi", "vi", data=bcg, method=method)
    c = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled = meta_analysis(c * bcg.yi + 1.0, c**2 * bcg.vi, method=method)
    assert scaled.estimate == pytest.approx(c * base.estimate + 1.0, rel=1e-10)
    assert scaled.se == pytest.approx(c * base.se, rel=1e-10)
    assert scaled.tau2 == pytest.approx(c**2 * base.tau2, rel=1e-10)
