"""Weighted panel estimators and covariances against R (tests/reference/weights/).

Every case in ``weights_r.json`` carries the R call that made it
(``make_weights_reference.R``): weighted ``lm`` for pooled WLS and the weighted LSDV
(one- and two-way, balanced and unbalanced), sandwich's ``vcovHC``, ``vcovCL`` and
``vcovPL`` for the covariances, plm's pooled and within fits (weights constant within
entity), the between regression of weighted entity means and the weighted
first-difference regression. Measured agreement: ≤ 1e-13 relative on parameters and
standard errors, so the tolerances below are 1e-9.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from tests.conftest import r_names

HERE = Path(__file__).parent / "weights"
RTOL = 1e-9


@cache
def cases() -> dict[str, dict]:
    return json.loads((HERE / "weights_r.json").read_text())["cases"]


@cache
def _grunfeld() -> pd.DataFrame:
    return pd.read_csv(HERE / "grunfeld_weights.csv")


def grunfeld(unbalanced: bool = False) -> pd.DataFrame:
    d = _grunfeld()
    return (d[d["unbal"] == 1] if unbalanced else d).reset_index(drop=True)


COVARIANCES = {
    "": {"cov": "unadjusted"},
    "hc0": {"cov": "robust", "small_sample": False},
    "hc1": {"cov": "robust", "small_sample": True},
    "cl_firm_hc0": {"cov": "cluster", "cluster": "entity", "small_sample": False},
    "cl_firm_hc1": {"cov": "cluster", "cluster": "entity", "small_sample": True},
    "cl_twoway_hc0": {"cov": "cluster", "cluster": ["entity", "time"], "small_sample": False},
    "dk_hc0": {"cov": "driscoll-kraay", "small_sample": False},
}
MODELS = {
    "pooled": (pr.pooled_ols, {}, False),
    "pooled_unbal": (pr.pooled_ols, {}, True),
    "within": (pr.fixed_effects, {}, False),
    "within_unbal": (pr.fixed_effects, {}, True),
    "within_time": (pr.fixed_effects, {"effects": "time"}, True),
    "within_twoway": (pr.fixed_effects, {"effects": "twoway"}, False),
    "within_twoway_unbal": (pr.fixed_effects, {"effects": "twoway"}, True),
}


def _estimation_cases() -> list[tuple[str, str, str]]:
    out = []
    for cid in cases():
        for model in sorted(MODELS, key=len, reverse=True):
            if cid == model or cid.startswith(model + "_"):
                suffix = cid[len(model) + 1 :]
                if suffix in COVARIANCES:
                    out.append((cid, model, suffix))
                break
    return sorted(out)


def check(res: pr.PanelResults, case: dict) -> None:
    want = pd.Series(r_names(case["params"]))
    pd.testing.assert_series_equal(
        res.params[want.index], want, check_names=False, rtol=RTOL, atol=0
    )
    want_se = pd.Series(r_names(case["std_errors"]))
    np.testing.assert_allclose(res.std_errors[want_se.index], want_se, rtol=RTOL)


@pytest.mark.reference
@pytest.mark.parametrize(("case_id", "model", "cov"), _estimation_cases())
def test_weighted_estimators_match_r(case_id: str, model: str, cov: str) -> None:
    case = cases()[case_id]
    fit, options, unbalanced = MODELS[model]
    res = fit(
        "inv ~ value + capital", grunfeld(unbalanced), entity="firm", time="year",
        weights="w", **options, **COVARIANCES[cov],
    )  # fmt: skip
    check(res, case)
    if cov == "":
        assert res.df_resid == case["df_resid"]
        np.testing.assert_allclose(np.sqrt(res.resid_variance), case["sigma"], rtol=RTOL)
        if model.startswith("pooled"):
            np.testing.assert_allclose(res.rsquared, case["rsquared"], rtol=RTOL)


def test_case_list_covers_every_stored_estimation() -> None:
    covered = {c for c, _, _ in _estimation_cases()}
    others = {
        "plm_within_constant_weights", "plm_pooling", "between", "between_wls_unweighted",
        "fd", "pooled_frequency_expanded",
    }  # fmt: skip
    panel = {c for c in cases() if not c.startswith(("mixed_", "meta_"))}
    assert panel - covered == others


@pytest.mark.reference
def test_plm_agrees_with_weighted_lsdv_when_weights_are_constant_within_entity() -> None:
    d = grunfeld()
    fe = pr.fixed_effects("inv ~ value + capital", d, entity="firm", time="year", weights="wc")
    check(fe, cases()["plm_within_constant_weights"])
    pooled = pr.pooled_ols("inv ~ value + capital", d, entity="firm", time="year", weights="w")
    check(pooled, cases()["plm_pooling"])


@pytest.mark.reference
def test_between_weighted_means_and_stata_wls() -> None:
    d = grunfeld(unbalanced=True)
    be = pr.between("inv ~ value + capital", d, entity="firm", weights="w")
    check(be, cases()["between"])
    wls = pr.between("inv ~ value + capital", d, entity="firm", wls=True)
    check(wls, cases()["between_wls_unweighted"])


@pytest.mark.reference
def test_first_difference_weights_differences_by_their_precision() -> None:
    fd = pr.first_difference(
        "inv ~ value + capital", grunfeld(unbalanced=True), entity="firm", time="year",
        weights="w",
    )  # fmt: skip
    case = cases()["fd"]
    renamed = {
        "params": {k.replace("dvalue", "value").replace("dcapital", "capital"): v
                   for k, v in case["params"].items()},
        "std_errors": {k.replace("dvalue", "value").replace("dcapital", "capital"): v
                       for k, v in case["std_errors"].items()},
    }  # fmt: skip
    check(fd, renamed)


@pytest.mark.reference
def test_frequency_weights_equal_lm_on_repeated_rows() -> None:
    d = grunfeld()
    res = pr.pooled_ols(
        "inv ~ value + capital", d, entity="firm", time="year", weights="fw",
        weight_type="frequency",
    )  # fmt: skip
    case = cases()["pooled_frequency_expanded"]
    check(res, case)
    assert res.nobs == int(d["fw"].sum())
    assert res.df_resid == case["df_resid"]


def test_reference_data_are_unchanged_by_fitting() -> None:
    d = grunfeld()
    before = d.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pr.fixed_effects("inv ~ value + capital", d, entity="firm", time="year", weights="w")
    pd.testing.assert_frame_equal(d, before)
