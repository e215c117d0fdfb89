"""Crossed and nested random effects against lme4 (tests/reference/mixed/lme4_crossed.json,
made by make_crossed_reference.R; the R call is stored beside every case).

Tolerances are about three times the worst agreement measured over the cases (relative;
matrices relative to their largest entry; BLUPs relative to the larger of the random effect's
and the residual standard deviation). For the four small data sets (Penicillin, Pastes,
sleepstudy with Days crossed):

- the maximised criterion 1.7e-15 (tolerance 1e-13); the other criterion at the estimates
  9.4e-10 (5e-9);
- fixed effects 2.1e-13 (1e-12); standard errors and their covariance 3.1e-7 (1e-6);
- variance components and σ² 3.2e-7 (1e-6); BLUPs 4.8e-7 (1.5e-6).

InstEval (73,421 ratings, 4,128 random effects) has a flatter criterion, and lme4's bobyqa
and panelre's COBYQA stop further apart in θ: criterion 2.5e-14 (1e-12), other criterion
1.4e-10 (5e-10), fixed effects 4.3e-8 (2e-7), standard errors 2.1e-5 (6e-5), variance
components 2.7e-7 (1e-6), BLUPs 9.6e-7 (3e-6).
"""

from __future__ import annotations

import json
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from mixed_cases import MIXED_REFERENCE

from panelre.datasets import load
from panelre.exceptions import DataError
from panelre.mixed import anova, mixed

pytestmark = pytest.mark.reference

REFERENCE = json.loads((MIXED_REFERENCE / "lme4_crossed.json").read_text())
CASES = {c["id"]: c for c in REFERENCE["cases"]}
SMALL = {"criterion": 1e-13, "other": 5e-9, "params": 1e-12, "se": 1e-6, "vc": 1e-6, "blup": 1.5e-6}
LARGE = {"criterion": 1e-12, "other": 5e-10, "params": 2e-7, "se": 6e-5, "vc": 1e-6, "blup": 3e-6}


def _tolerance(case: dict) -> dict:
    return LARGE if case["dataset"] == "insteval" else SMALL


@cache
def _fit(case_id: str):
    case = CASES[case_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sleepstudy cases are singular; tested below
        return mixed(case["formula"], load(case["dataset"]), reml=case["reml"])


def _name(r_name: str | None) -> str | None:
    return {"(Intercept)": "Intercept", "service1": "service"}.get(r_name, r_name)


def _close(actual, expected, rtol: float) -> None:
    expected = np.asarray(expected, dtype=float)
    scale = max(float(np.abs(expected).max()), 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


FAST = [c for c in CASES if not c.startswith("insteval")]
ALL = FAST + [pytest.param(c, marks=pytest.mark.timeout(300)) for c in CASES if c not in FAST]


@pytest.mark.parametrize("case_id", ALL)
def test_criteria(case_id):
    case, res = CASES[case_id], _fit(case_id)
    tol = _tolerance(case)
    maximised = res.reml_criterion if case["reml"] else res.deviance
    other = res.deviance if case["reml"] else res.reml_criterion
    expected = case["reml_crit"] if case["reml"] else case["deviance"]
    expected_other = case["deviance"] if case["reml"] else case["reml_crit"]
    np.testing.assert_allclose(maximised, expected, rtol=tol["criterion"])
    np.testing.assert_allclose(other, expected_other, rtol=tol["other"])
    np.testing.assert_allclose(res.loglike, case["loglike"], rtol=tol["criterion"])
    np.testing.assert_allclose(
        [res.aic, res.bic], [case["aic"], case["bic"]], rtol=tol["criterion"]
    )
    assert res.nobs == case["nobs"]
    assert res.group_counts == case["ngrps"]
    assert res.singular == case["singular"]
    assert res.converged


@pytest.mark.parametrize("case_id", ALL)
def test_fixed_effects(case_id):
    case, res = CASES[case_id], _fit(case_id)
    tol = _tolerance(case)
    names = [_name(n) for n in case["params"]]
    _close(res.params[names], list(case["params"].values()), tol["params"])
    _close(res.std_errors[names], list(case["std_errors"].values()), tol["se"])
    _close(res.cov.loc[names, names], case["vcov"]["values"], tol["se"])


@pytest.mark.parametrize("case_id", ALL)
def test_variance_components(case_id):
    """varcorr has lme4's rows in lme4's order (lme4 calls the second term of `||` "g.1")."""
    case, res = CASES[case_id], _fit(case_id)
    tol = _tolerance(case)
    ours = res.varcorr
    expected = pd.DataFrame(case["varcorr"])
    expected["grp"] = expected["grp"].str.replace(r"\.\d+$", "", regex=True)
    for col in ("var1", "var2"):
        expected[col] = expected[col].map(_name)
    assert (
        ours[["grp", "var1", "var2"]].astype(object).where(ours.notna(), None).values.tolist()
        == expected[["grp", "var1", "var2"]]
        .astype(object)
        .where(expected.notna(), None)
        .values.tolist()
    )
    _close(ours["vcov"], expected["vcov"], tol["vc"])
    variances = ours["var2"].isna()
    _close(ours.loc[variances, "sdcor"], expected.loc[variances, "sdcor"], tol["vc"])
    _close(res.sigma2, case["sigma2"], tol["vc"])


@pytest.mark.parametrize("case_id", ALL)
def test_blups_and_conditional_variances(case_id):
    case, res = CASES[case_id], _fit(case_id)
    tol = _tolerance(case)
    for factor, expected in case["ranef"].items():
        ours = res.ranef[factor]
        ours.index = ours.index.map(str)
        labels = expected["levels"]
        names = [_name(n) for n in expected["names"]]
        values = np.array(expected["values"], dtype=float).reshape(len(labels), -1)
        sd = np.sqrt(np.diag(res.factors[_index(res, factor)].cov)).max()
        got = ours.loc[labels, names].to_numpy()
        # relative to the larger of the effect's and the residual standard deviation (a
        # variance estimated as 0 gives BLUPs of 0 here and ~1e-7 in lme4)
        scale = max(sd, np.sqrt(res.sigma2))
        np.testing.assert_allclose(got, values, atol=tol["blup"] * scale)
        condvar = np.array(expected["condvar"], dtype=float).reshape(len(labels), len(names), -1)
        position = ours.index.get_indexer(labels)
        # lme4 reports conditional covariances within each term only (0 across `||` terms)
        fitted = res.factors[_index(res, factor)]
        within = np.zeros((len(names), len(names)), dtype=bool)
        for block in fitted.blocks:
            within[np.ix_(block, block)] = True
        # absolute tolerance on the scale of σ² (a variance estimated as 0 has conditional
        # variances ~1e-12 in both programs)
        np.testing.assert_allclose(
            res.ranef_condvar[factor][position][:, within],
            condvar[:, within],
            rtol=tol["blup"],
            atol=tol["blup"] * max(float(np.abs(condvar).max()), res.sigma2),
        )


def _index(res, name: str) -> int:
    return [f.name for f in res.factors].index(name)


@pytest.mark.parametrize("case", REFERENCE["predictions"]["cases"], ids=lambda c: c["id"])
def test_predictions_with_new_levels(case):
    res = _fit(case["model"])
    new = pd.DataFrame(REFERENCE["predictions"]["newdata"])
    re_form = {"all_re": None, "fixed_only": "~0", "plate_only": "~(1 | plate)"}[case["id"]]
    got = res.predict(new, re_form=re_form, allow_new_levels=True)
    np.testing.assert_allclose(got, case["values"], rtol=1e-7)
    if case["id"] != "fixed_only":
        with pytest.raises(DataError, match="not in the estimation sample"):
            res.predict(new, re_form=re_form)


@pytest.mark.parametrize("case", REFERENCE["anova"]["cases"], ids=lambda c: c["id"])
def test_likelihood_ratio_test(case):
    pen = load("penicillin")
    m0 = mixed("diameter ~ 1 + (1 | plate)", pen)
    m1 = mixed("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
    table = anova(m1, m0, refit=case["refit"])  # sorted by npar, as lme4
    expected = pd.DataFrame(case["rows"]).rename(columns={"Pr(>Chisq)": "pvalue"})
    assert table["npar"].tolist() == expected["npar"].tolist()
    for col in ("AIC", "BIC", "logLik", "deviance", "Chisq", "Df"):
        np.testing.assert_allclose(table[col].iloc[1], expected[col].iloc[1], rtol=1e-9)
        np.testing.assert_allclose(table[col].iloc[0], expected[col].iloc[0], rtol=1e-9)
    np.testing.assert_allclose(table["pvalue"].iloc[1], expected["pvalue"].iloc[1], rtol=1e-6)


WEIGHTED = json.loads((MIXED_REFERENCE / "lme4_crossed_weights.json").read_text())["cases"]


@pytest.mark.parametrize("case", WEIGHTED, ids=lambda c: c["id"])
def test_crossed_with_prior_weights(case):
    """lmer(..., weights = w) with w = 1 + (row %% 3) / 2 (make_crossed_weights_reference.R);
    measured agreement: criterion 3.7e-15, fixed effects 1.6e-12, standard errors 1.4e-7,
    variance components 3e-7, BLUPs 1.9e-8 absolute (plate SD 0.85)."""
    pen = load("penicillin")
    weights = 1 + (np.arange(1, len(pen) + 1) % 3) / 2
    res = mixed(case["formula"], pen, reml=case["reml"], weights=weights)
    maximised = res.reml_criterion if case["reml"] else res.deviance
    expected = case["reml_crit"] if case["reml"] else case["deviance"]
    np.testing.assert_allclose(maximised, expected, rtol=SMALL["criterion"])
    np.testing.assert_allclose(res.loglike, case["loglike"], rtol=SMALL["criterion"])
    _close(res.params, list(case["params"].values()), SMALL["params"])
    _close(res.std_errors, list(case["std_errors"].values()), SMALL["se"])
    _close(res.varcorr["vcov"], [row["vcov"] for row in case["varcorr"]], SMALL["vc"])
    blups = res.ranef["plate"]["Intercept"].loc[case["plate_levels"]]
    np.testing.assert_allclose(blups, case["ranef_plate"], atol=SMALL["blup"] * 1.0)
