"""Random effects by ML/REML (the mixed-model engine) against lme4 and identities."""

from __future__ import annotations

import numpy as np
import pytest

import panelre as pr
from tests.conftest import dataset, r_names, reference_cases


@pytest.mark.reference
@pytest.mark.parametrize(
    "method,case_id", [("ml", "sleep_intercept_ml"), ("reml", "sleep_intercept_reml")]
)
def test_random_effects_ml_reml_equal_lme4_random_intercept(method, case_id):
    case = reference_cases()[case_id]
    re = pr.random_effects(
        "Reaction ~ Days", dataset("sleepstudy"), entity="Subject", method=method
    )
    for name, value in r_names(case["params"]).items():
        np.testing.assert_allclose(re.params[name], value, rtol=1e-6)
    vc = re.variance_components
    subject = next(v for v in case["variance_components"] if v["grp"] == "Subject")
    np.testing.assert_allclose(vc.sigma2_e, case["sigma2"], rtol=1e-6)
    np.testing.assert_allclose(vc.sigma2_u, subject["vcov"], rtol=1e-5)
    np.testing.assert_allclose(re.loglike, case["loglike"], rtol=1e-7)
    for subject_id, (blup,) in case["blup_first"].items():
        np.testing.assert_allclose(re.effects[int(subject_id)], blup, rtol=1e-4)


@pytest.mark.parametrize("reml", [True, False])
def test_random_intercept_mixed_model_equals_random_effects(reml):
    sleep = pr.datasets.load("sleepstudy")
    re = pr.random_effects(
        "Reaction ~ Days", sleep, entity="Subject", method="reml" if reml else "ml"
    )
    mm = pr.mixed("Reaction ~ Days + (1 | Subject)", sleep, reml=reml)
    np.testing.assert_allclose(re.params.to_numpy(), mm.params.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(re.variance_components.sigma2_e, mm.sigma2, rtol=1e-7)
    np.testing.assert_allclose(
        re.effects.to_numpy(), mm.random_effects.iloc[:, 0].to_numpy(), rtol=1e-6
    )


def test_ml_random_effects_on_unbalanced_panel_matches_statsmodels(grunfeld_unbalanced):
    import statsmodels.formula.api as smf

    re = pr.random_effects("inv ~ value + capital", grunfeld_unbalanced, entity="firm", method="ml")
    sm = smf.mixedlm(
        "inv ~ value + capital", grunfeld_unbalanced, groups=grunfeld_unbalanced["firm"]
    ).fit(reml=False)
    np.testing.assert_allclose(re.loglike, sm.llf, rtol=1e-8)
    np.testing.assert_allclose(re.params.to_numpy(), sm.fe_params.to_numpy(), rtol=1e-4)
