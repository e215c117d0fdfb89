"""Prior weights in mixed models (lme4 ``weights=``) and user weights in meta-analysis
(metafor ``weights=``) against R (tests/reference/weights/weights_r.json; each case
carries its R call, made by make_weights_reference.R with bobyqa at rhoend 1e-12 and
metafor's threshold 1e-12).

Measured agreement: mixed coefficients 2e-14, standard errors 5.3e-8, σ 7e-9, the
log-likelihood (with lme4's Σ log w term) 1e-12 absolute, BLUPs 1.7e-6 absolute (values
~30); meta coefficients, standard errors and τ² 5e-12, weights 3e-14.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from panelre.exceptions import DataError, InvalidParameterError
from panelre.meta import meta_analysis
from panelre.mixed import mixed

HERE = Path(__file__).parent / "weights"


@cache
def cases() -> dict[str, dict]:
    return json.loads((HERE / "weights_r.json").read_text())["cases"]


def values(d: dict) -> np.ndarray:
    return np.array(list(d.values()), dtype=float)


MIXED = {
    "mixed_intercept_reml": ("Reaction ~ Days + (1 | Subject)", True),
    "mixed_intercept_ml": ("Reaction ~ Days + (1 | Subject)", False),
    "mixed_slope_reml": ("Reaction ~ Days + (Days | Subject)", True),
}


@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(MIXED))
def test_mixed_prior_weights_match_lme4(case_id: str) -> None:
    formula, reml = MIXED[case_id]
    case = cases()[case_id]
    data = pd.read_csv(HERE / "sleepstudy_weights.csv")
    res = mixed(formula, data, reml=reml, weights="w")
    np.testing.assert_allclose(res.params, values(case["params"]), rtol=1e-12)
    np.testing.assert_allclose(res.std_errors, values(case["std_errors"]), rtol=1e-7)
    np.testing.assert_allclose(np.sqrt(res.sigma2), case["sigma"], rtol=2e-8)
    np.testing.assert_allclose(res.loglike, case["loglike"], rtol=0, atol=1e-9)
    vc = {(v["var1"], v["var2"]): v["vcov"] for v in case["variance_components"]}
    cov = res.cov_re
    for (a, b), want in vc.items():
        if a is None:  # the residual row
            continue
        a = "Intercept" if a == "(Intercept)" else a
        b = a if b is None else ("Intercept" if b == "(Intercept)" else b)
        np.testing.assert_allclose(cov.loc[a, b], want, rtol=2e-7)
    np.testing.assert_allclose(res.random_effects.iloc[:, 0], case["ranef"], rtol=0, atol=5e-6)
    # the same weights as an array
    again = mixed(formula, data, reml=reml, weights=data["w"].to_numpy())
    np.testing.assert_allclose(again.params, res.params, rtol=1e-12)


def test_mixed_equal_prior_weights_change_only_sigma() -> None:
    data = pd.read_csv(HERE / "sleepstudy_weights.csv").assign(c=4.0)
    plain = mixed("Reaction ~ Days + (Days | Subject)", data)
    weighted = mixed("Reaction ~ Days + (Days | Subject)", data, weights="c")
    np.testing.assert_allclose(weighted.params, plain.params, rtol=1e-9)
    np.testing.assert_allclose(weighted.std_errors, plain.std_errors, rtol=1e-6)
    np.testing.assert_allclose(weighted.sigma2 / 4.0, plain.sigma2, rtol=1e-6)
    np.testing.assert_allclose(weighted.cov_re, plain.cov_re, rtol=1e-5)
    # −2 log L of y is the same model: only the parametrisation of σ² changed
    np.testing.assert_allclose(weighted.loglike, plain.loglike, rtol=1e-9)


def test_mixed_bad_weights() -> None:
    data = pd.read_csv(HERE / "sleepstudy_weights.csv")
    with pytest.raises(DataError, match="negative"):
        mixed("Reaction ~ Days + (1 | Subject)", data.assign(w=-data["w"]), weights="w")
    with pytest.raises(InvalidParameterError, match="did you mean 'w'"):
        mixed("Reaction ~ Days + (1 | Subject)", data.rename(columns={}), weights="ww")
    with pytest.raises(DataError, match="one value per row"):
        mixed("Reaction ~ Days + (1 | Subject)", data, weights=np.ones(3))
    zero = data.assign(w=np.where(np.arange(len(data)) < 9, 0.0, data["w"]))
    with pytest.warns(Warning, match="9 of 180 row"):
        res = mixed("Reaction ~ Days + (1 | Subject)", zero, weights="w")
    assert res.nobs == 171


META = {
    "meta_re_reml": {"method": "REML"},
    "meta_fe": {"method": "FE"},
    "meta_re_dl": {"method": "DL"},
    "meta_reg_reml": {"method": "REML", "moderators": "~ ablat"},
}


@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(META))
def test_meta_user_weights_match_metafor(case_id: str) -> None:
    case = cases()[case_id]
    data = pd.read_csv(HERE / "bcg_weights.csv")
    res = meta_analysis("yi", "vi", data=data, weights="uw", **META[case_id])
    np.testing.assert_allclose(np.atleast_1d(res.estimate), values(case["params"]), rtol=1e-10)
    np.testing.assert_allclose(np.atleast_1d(res.se), values(case["std_errors"]), rtol=1e-10)
    np.testing.assert_allclose(res.tau2, case["tau2"], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(res.q, case["QE"], rtol=1e-12)
    np.testing.assert_allclose(res.weights, case["weights_percent"], rtol=1e-12)


def test_meta_weights_bad_input_and_hksj() -> None:
    data = pd.read_csv(HERE / "bcg_weights.csv")
    with pytest.raises(InvalidParameterError, match="hksj"):
        meta_analysis("yi", "vi", data=data, weights="uw", test="hksj")
    with pytest.raises(DataError, match="missing"):
        meta_analysis("yi", "vi", data=data.assign(uw=np.nan), weights="uw")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one_zero = data.assign(uw=np.where(np.arange(len(data)) == 0, 0.0, data["uw"]))
        res = meta_analysis("yi", "vi", data=one_zero, weights="uw")
    assert len(res.weights) == len(data) - 1


@pytest.mark.reference
def test_meta_loglike_fitted_and_resids_match_metafor() -> None:
    """logLik (REML: the restricted one, with metafor's + ½ log|X'X|), fitted and resid
    against tests/reference/meta/metafor_loglike.json (calls beside the numbers)."""
    ref = json.loads((HERE.parent / "meta" / "metafor_loglike.json").read_text())
    data = pd.read_csv(HERE / "bcg_weights.csv")
    fits = [
        {"method": "REML"},
        {"method": "ML"},
        {"method": "DL"},
        {"method": "FE"},
        {"method": "REML", "moderators": "~ ablat"},
        {"method": "REML", "weights": "uw"},
    ]
    assert len(fits) == len(ref["cases"])
    for options, case in zip(fits, ref["cases"], strict=True):
        res = meta_analysis("yi", "vi", data=data, **options)
        np.testing.assert_allclose(res.loglike, case["loglike"], rtol=1e-9, err_msg=case["call"])
        np.testing.assert_allclose(res.fitted_values, case["fitted"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.resids, case["resid"], rtol=1e-9, atol=1e-12)
