"""``predict(data, effects=, interval=)`` against R ``predict.lm`` and Stata's ``xb``,
``xbu`` and ``stdp`` after ``xtreg, fe`` (``tests/reference/margins/margins_r.json``,
script ``make_margins_reference.R``; the R call and the Stata command are stored)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.exceptions import DataError, InvalidParameterError, PanelreWarning

CASES = json.loads(
    (Path(__file__).parent / "reference" / "margins" / "margins_r.json").read_text()
)["cases"]
GRUNFELD = pr.datasets.load("grunfeld")
KW = {"entity": "firm", "time": "year"}
F = "inv ~ value + capital"
NEW = pd.DataFrame(CASES["predict_lm_confidence"]["newdata"])


# measured agreement: 2e-14 relative (predictions, standard errors and bounds)
@pytest.mark.reference
def test_pooled_intervals_match_predict_lm():
    fit = pr.pooled_ols(F, GRUNFELD, **KW)
    conf = fit.predict(NEW, interval="confidence")
    case = CASES["predict_lm_confidence"]
    np.testing.assert_allclose(conf["predicted"], case["fit"], rtol=1e-12)
    np.testing.assert_allclose(conf["se"], case["se_fit"], rtol=1e-12)
    np.testing.assert_allclose(conf[["lower", "upper"]].T, [case["lwr"], case["upr"]], rtol=1e-12)
    pred = fit.predict(NEW, interval="prediction")
    case = CASES["predict_lm_prediction"]
    np.testing.assert_allclose(pred["se"], case["se_pred"], rtol=1e-12)
    np.testing.assert_allclose(pred[["lower", "upper"]].T, [case["lwr"], case["upr"]], rtol=1e-12)


@pytest.mark.reference
def test_fixed_effects_xb_xbu_and_stdp_as_stata():
    case = CASES["within_fixef_predict"]
    fe = pr.fixed_effects(F, GRUNFELD, **KW)
    np.testing.assert_allclose(fe.predict(NEW), case["xbu"], rtol=1e-12)  # plm pdata.frame
    np.testing.assert_allclose(fe.predict(NEW, effects="exclude"), case["xb"], rtol=1e-12)
    with_cons = pr.fixed_effects(F, GRUNFELD, **KW, constant=True)
    xb = with_cons.predict(NEW, effects="exclude", interval="confidence")
    np.testing.assert_allclose(xb["predicted"], case["xb"], rtol=1e-12)
    np.testing.assert_allclose(xb["se"], case["stdp"], rtol=1e-12)
    np.testing.assert_allclose(with_cons.predict(NEW), case["xbu"], rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="constant=True"):
        fe.predict(NEW, interval="confidence")


@pytest.mark.parametrize("effects", ["entity", "time", "twoway"])
def test_same_meaning_in_sample_and_on_new_data(effects):
    fe = pr.fixed_effects(F, GRUNFELD, **KW, effects=effects)
    inside = fe.predict()
    np.testing.assert_allclose(inside, fe.fitted_values, rtol=1e-12)
    again = fe.predict(GRUNFELD)
    np.testing.assert_allclose(again.to_numpy(), inside.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        fe.predict(GRUNFELD, effects="exclude").to_numpy(),
        fe.predict(effects="exclude").to_numpy(),
        rtol=1e-12,
    )


def test_random_effects_add_the_blups_and_their_variance():
    re = pr.random_effects(F, GRUNFELD, **KW)
    xb = re.predict(effects="exclude")
    np.testing.assert_allclose(xb, re.fitted_values, rtol=1e-12)  # plm's RE fitted: x'b
    blup = re.effects.reindex(GRUNFELD["firm"]).to_numpy()
    np.testing.assert_allclose(re.predict(GRUNFELD).to_numpy(), xb.to_numpy() + blup, rtol=1e-12)
    vc = re.variance_components
    wide = re.predict(GRUNFELD, effects="exclude", interval="prediction")
    narrow = re.predict(GRUNFELD, interval="prediction")
    conf = re.predict(GRUNFELD, interval="confidence")
    np.testing.assert_allclose(wide["se"] ** 2 - conf["se"] ** 2, vc.sigma2_u + vc.sigma2_e)
    np.testing.assert_allclose(narrow["se"] ** 2 - conf["se"] ** 2, vc.sigma2_e)


def test_unseen_groups_and_bad_options():
    fe = pr.fixed_effects(F, GRUNFELD, **KW)
    new = NEW.assign(firm=[1, 2, 99, 99, 3])
    with pytest.warns(PanelreWarning, match="2 row"):
        out = fe.predict(new)
    assert out.isna().tolist() == [False, False, True, True, False]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fe.predict(new, effects="exclude").notna().all()
    with pytest.raises(DataError, match="entity column 'firm'"):
        fe.predict(NEW.drop(columns="firm"))
    with pytest.raises(InvalidParameterError, match="effects"):
        fe.predict(NEW, effects="within")
    with pytest.raises(InvalidParameterError, match="interval"):
        fe.predict(NEW, interval="credible")
