"""panelre.mixed against lme4: the shared reference file and this folder's extra fixtures.

Tolerances are about three times the worst agreement measured over every case (relative;
matrices relative to their largest entry):

- the maximised log-likelihood and AIC/BIC: 2.6e-13 (tolerance 1e-12);
- the other criterion at the estimates (ML deviance of a REML fit, and vice versa):
  1.1e-10 (5e-10);
- fixed effects 6e-9 (2e-8); their standard errors and covariance 1.8e-7 (5e-7);
- the random-effects covariance 3.1e-7 (1e-6); σ² 2.6e-8 (1e-7);
- BLUPs and their conditional variances 1.2e-7 (5e-7).

What is left is lme4's optimiser: bobyqa at rhoend 1e-12 still stops ~1e-7 relative from
the optimum on these flat likelihoods.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from mixed_cases import dataset, extra_cases, reference_cases

from panelre.mixed import mixed

pytestmark = pytest.mark.reference
LOGLIKE, OTHER_CRITERION, PARAMS, SE = 1e-12, 5e-10, 2e-8, 5e-7
COV_RE, SIGMA2, BLUP = 1e-6, 1e-7, 5e-7

SHARED = reference_cases("mixed")
EXTRA = extra_cases()


def _name(r_name: str) -> str:
    return "Intercept" if r_name == "(Intercept)" else r_name


def _fit(case: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular cases warn; tested elsewhere
        return mixed(case["formula"], dataset(case["dataset"]), reml=case["reml"])


def _close_scaled(actual, expected, rtol: float) -> None:
    """Relative to the largest magnitude, so entries that are ~0 do not blow up."""
    expected = np.asarray(expected, dtype=float)
    scale = max(float(np.abs(expected).max()), 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def _names(value) -> list[str]:
    """jsonlite writes a one-element character vector as a plain string."""
    return [_name(v) for v in ([value] if isinstance(value, str) else value)]


def _cov_from_varcorr(rows: list[dict], names: list[str]) -> np.ndarray:
    cov = np.zeros((len(names), len(names)))
    for row in rows:
        if row["grp"] == "Residual":
            continue
        i = names.index(_name(row["var1"]))
        j = i if row["var2"] is None else names.index(_name(row["var2"]))
        cov[i, j] = cov[j, i] = row["vcov"]
    return cov


def test_shared_reference_has_mixed_cases():
    assert len(SHARED) >= 4


@pytest.mark.parametrize("case", SHARED, ids=[c["id"] for c in SHARED])
def test_shared_reference(case):
    res = _fit(case)
    np.testing.assert_allclose(res.loglike, case["loglike"], rtol=LOGLIKE)
    crit = res.reml_criterion if case["reml"] else res.deviance
    np.testing.assert_allclose(crit, case["deviance_or_reml"], rtol=LOGLIKE)
    names = [_name(k) for k in case["params"]]
    assert list(res.params.index) == names
    np.testing.assert_allclose(res.params[names], list(case["params"].values()), rtol=PARAMS)
    np.testing.assert_allclose(res.std_errors[names], list(case["std_errors"].values()), rtol=SE)
    cov = _cov_from_varcorr(case["variance_components"], list(res.random_names))
    _close_scaled(res.cov_re.to_numpy(), cov, COV_RE)
    np.testing.assert_allclose(res.sigma2, case["sigma2"], rtol=SIGMA2)
    for label, values in case["blup_first"].items():
        expected = list(values.values()) if isinstance(values, dict) else values
        _close_scaled(res.random_effects.loc[int(label)].to_numpy(), expected, BLUP)


@pytest.mark.parametrize("case", EXTRA, ids=[c["id"] for c in EXTRA])
def test_lme4_extra(case):
    res = _fit(case)
    assert (res.nobs, res.n_groups) == (case["nobs"], case["n_groups"])
    np.testing.assert_allclose(res.loglike, case["loglike"], rtol=LOGLIKE)
    np.testing.assert_allclose(res.reml_criterion, case["reml_crit"], rtol=OTHER_CRITERION)
    np.testing.assert_allclose(res.deviance, case["deviance"], rtol=OTHER_CRITERION)
    np.testing.assert_allclose([res.aic, res.bic], [case["aic"], case["bic"]], rtol=LOGLIKE)
    names = [_name(k) for k in case["params"]]
    np.testing.assert_allclose(res.params[names], list(case["params"].values()), rtol=PARAMS)
    np.testing.assert_allclose(res.std_errors[names], list(case["std_errors"].values()), rtol=SE)
    vcov = np.asarray(case["vcov"]["values"], dtype=float)
    _close_scaled(res.cov.loc[names, names].to_numpy(), vcov.reshape(len(names), -1), SE)
    assert list(res.random_names) == _names(case["cov_re"]["names"])
    cov_re = np.asarray(case["cov_re"]["values"], dtype=float).reshape(res.cov_re.shape)
    _close_scaled(res.cov_re.to_numpy(), cov_re, COV_RE)
    np.testing.assert_allclose(res.sigma2, case["sigma2"], rtol=SIGMA2)
    assert res.singular == case["singular"]
    assert res.converged


@pytest.mark.parametrize("case", EXTRA, ids=[c["id"] for c in EXTRA])
def test_lme4_extra_blups(case):
    res = _fit(case)
    effects = res.random_effects
    assert [str(g) for g in effects.index] == case["ranef"]["groups"]
    expected = np.asarray(case["ranef"]["values"], dtype=float).reshape(effects.shape)
    _close_scaled(effects.to_numpy(), expected, BLUP)
    q = effects.shape[1]
    condvar = np.asarray(case["condvar"], dtype=float).reshape(-1, q, q)
    # lme4 reports condVar per random term: for (x || g) only the diagonal blocks
    within = np.zeros((q, q), dtype=bool)
    for block in res.blocks:
        within[np.ix_(block, block)] = True
    _close_scaled(res.blup_cov[:, within], condvar[:, within], BLUP)
