"""panelre against numbers Stata printed, at the printed precision.

Every number is stored as the string Stata printed (``stata/stata_published.json``, with the
source and the Stata command beside each case): a value agrees when it lies within half a
unit of the last printed digit. The data are panelre's bundled data sets, and for the
``[XT] xtreg`` manual's examples Stata's nlswork (``stata/nlswork.csv.gz``, the columns the
examples use, as shipped by the R package sampleSelection).
"""

from __future__ import annotations

import json
import warnings
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from tests.conftest import dataset

HERE = Path(__file__).parent / "stata"
ESTIMATORS = {
    "between": pr.between,
    "fixed_effects": pr.fixed_effects,
    "random_effects": pr.random_effects,
}


@cache
def published() -> dict:
    with open(HERE / "stata_published.json") as f:
        return json.load(f)


@cache
def _nlswork() -> pd.DataFrame:
    data = pd.read_csv(HERE / "nlswork.csv.gz")
    return data.assign(black=(data.race == 2).astype(float))  # Stata's 2.race


def data_for(name: str) -> pd.DataFrame:
    return _nlswork().copy() if name == "nlswork" else dataset(name)


def half_unit(printed: str) -> float:
    """Half a unit of the last printed digit of ``printed``."""
    exponent = Decimal(printed).as_tuple().exponent
    assert isinstance(exponent, int)
    return 0.5 * 10.0**exponent


def assert_printed(value: float, printed: str, what: str, rel_slack: float = 1e-12) -> None:
    """``value`` shows as ``printed`` at Stata's precision: within half a unit of the last
    digit, plus ``rel_slack`` relative (1e-12 for rounding; a case whose data Stata stores
    as float gives its measured ``float_data_rel_tol``)."""
    tol = half_unit(printed) * (1 + 1e-9) + rel_slack * abs(float(printed))
    assert abs(value - float(printed)) <= tol, f"{what}: {value!r} vs Stata {printed}"


@cache
def fit_case(case_id: str) -> pr.PanelResults:
    """One fit per case, shared by the tests (results are immutable)."""
    return fit(published()["estimations"][case_id])


def fit(case: dict) -> pr.PanelResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        return ESTIMATORS[case["estimator"]](
            case["formula"],
            data_for(case["data"]),
            entity=case["entity"],
            time=case["time"],
            **case["options"],
            **case["cov"],
        )


CASES = sorted(published()["estimations"])


@pytest.mark.reference
@pytest.mark.parametrize("case_id", CASES)
def test_coefficient_table(case_id: str) -> None:
    case = published()["estimations"][case_id]
    res = fit_case(case_id)
    slack = case.get("float_data_rel_tol", 1e-12)
    assert sorted(res.params.index) == sorted(case["params"])
    ci = res.conf_int()
    for name, printed in case["params"].items():
        assert_printed(res.params[name], printed, f"{name} coefficient", slack)
        se = case["std_errors"][name]
        assert_printed(res.std_errors[name], se, f"{name} std. err.", slack)
        lower, upper = case["conf_int"][name]
        assert_printed(ci.loc[name, "lower"], lower, f"{name} lower bound", slack)
        assert_printed(ci.loc[name, "upper"], upper, f"{name} upper bound", slack)
    if "dropped" in case:
        assert sorted(res.dropped) == sorted(case["dropped"])


@pytest.mark.reference
@pytest.mark.parametrize("case_id", CASES)
def test_header_statistics(case_id: str) -> None:
    case = published()["estimations"][case_id]
    res = fit_case(case_id)
    slack = case.get("float_data_rel_tol", 1e-12)
    for key in ("nobs", "n_entities"):
        if key in case:
            assert getattr(res, key) == int(case[key])
    for key in ("rsquared_within", "rsquared_between", "rsquared_overall"):
        if key in case:
            assert_printed(getattr(res, key), case[key], key, slack)
    if "wald" in case:
        stat, *df = case["wald"]
        wald = res.wald_test()
        assert_printed(wald.stat, stat, "model test", slack)
        assert wald.df == (tuple(df) if len(df) == 2 else df[0])
    if "f_test_effects" in case:
        stat, *df = case["f_test_effects"]
        test = pr.f_test_effects(res, convention="stata")
        assert_printed(test.stat, stat, "F test that all u_i=0", slack)
        assert test.df == tuple(df)


RE_CASES = [c for c in CASES if published()["estimations"][c]["estimator"] == "random_effects"]


@pytest.mark.reference
@pytest.mark.parametrize("case_id", RE_CASES)
def test_variance_components(case_id: str) -> None:
    case = published()["estimations"][case_id]
    res = fit_case(case_id)
    slack = case.get("float_data_rel_tol", 1e-12)
    vc = res.variance_components
    assert vc is not None
    for key in ("sigma_u", "sigma_e", "rho"):
        assert_printed(getattr(vc, key), case[key], key, slack)
    theta = np.atleast_1d(np.asarray(vc.theta, dtype=float))
    if "theta" in case:
        assert_printed(float(theta[0]), case["theta"], "theta")
        assert np.ptp(theta) == 0
    if "theta_entities" in case:
        # Stata's summary of theta over the panels (unbalanced: one theta per entity)
        printed = case["theta_entities"]
        for key, q in (("min", 0), ("p5", 5), ("median", 50), ("p95", 95), ("max", 100)):
            assert_printed(float(np.percentile(theta, q)), printed[key], f"theta {key}")
    if "loglike" in case:
        assert_printed(res.loglike, case["loglike"], "log likelihood")
        assert_printed(res.lr_test.stat, case["lr_test"], "LR test of sigma_u=0")
        assert res.lr_test.distribution == "chibar2"


@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(published()["hausman"]))
def test_hausman(case_id: str) -> None:
    case = published()["hausman"][case_id]
    kw = dict(entity=case["entity"], time=case["time"])
    data = data_for(case["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        fe = pr.fixed_effects(case["formula"], data, **kw)
        re = pr.random_effects(case["formula"], data, convention="stata", **kw)
    test = pr.hausman(fe, re, variant=case["variant"])
    slack = case.get("float_data_rel_tol", 1e-12)
    assert_printed(test.stat, case["stat"], "Hausman chi2", slack)
    assert test.df == case["df"]
