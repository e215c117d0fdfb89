"""``pr.wild_bootstrap`` against a brute-force R implementation that refits the
regression for every enumerated weight vector (``tests/reference/bootstrap/``, script
``make_bootstrap_reference.R``; boottest's conventions are stored in the fixture)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import panelre as pr
from panelre.exceptions import InvalidParameterError, MissingValueWarning
from panelre.results import BootstrapDetails

FIXTURE = json.loads(
    (Path(__file__).parent / "reference" / "bootstrap" / "wild_bootstrap_r.json").read_text()
)
CASES = {c["id"]: c for c in FIXTURE["cases"]}
GRUNFELD = pr.datasets.load("grunfeld")
KW = {"entity": "firm", "time": "year"}


NLSWORK = Path(__file__).parent / "reference" / "bootstrap" / "nlswork_boottest.csv.gz"


def _fit(case: dict, absorbed: bool = False):
    if case["dataset"] == "nlswork":  # industry effects absorbed, clusters = industries
        data = pd.read_csv(NLSWORK)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingValueWarning)  # 490 incomplete rows
            return pr.fixed_effects("ln_wage ~ age + tenure + hours", data, entity="ind_code")
    data = GRUNFELD if case["dataset"] == "grunfeld" else GRUNFELD[GRUNFELD.firm <= 5]
    if "factor(firm)" in case["formula"]:
        if absorbed:
            return pr.fixed_effects("inv ~ value + capital", data, **KW)
        return pr.pooled_ols("inv ~ value + capital + C(firm)", data, **KW)
    return pr.pooled_ols(case["formula"], data, **KW)


# the R reference bisects its interval ends to a bracket of 1e-8; p-values are counts
@pytest.mark.reference
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_matches_the_brute_force_enumeration(case_id: str) -> None:
    case = CASES[case_id]
    test = pr.wild_bootstrap(
        _fit(case),
        case["param"],
        weights=case["weights"],
        impose_null=case["type"] == "WCR",
        null_value=case["r"],
        cluster="entity",
    )
    d = test.details
    assert isinstance(d, BootstrapDetails)
    assert d.enumerated and d.draws == case["n_draws"]
    assert test.stat == pytest.approx(case["t_stat"], rel=1e-10)
    assert test.pvalue == pytest.approx(case["p_symmetric"], abs=1e-12)
    assert d.pvalue_equal_tail == pytest.approx(case["p_equaltail"], abs=1e-12)
    assert d.ci[0] == pytest.approx(case["ci_lower"], abs=1e-8)
    assert d.ci[1] == pytest.approx(case["ci_upper"], abs=1e-8)


@pytest.mark.reference
@pytest.mark.parametrize("kind", ["wcr", "wcu"])
def test_absorbed_entity_effects_equal_the_dummies(kind: str) -> None:
    """Fixed effects nested in the clusters: the within fit bootstraps as the dummy fit
    (the p-value and interval; the t statistic differs by Stata's K for absorbed FE)."""
    case = CASES[f"firmdummies_value_rademacher_{kind}"]
    test = pr.wild_bootstrap(_fit(case, absorbed=True), "value", impose_null=kind == "wcr")
    assert test.pvalue == pytest.approx(case["p_symmetric"], abs=1e-12)
    assert test.details.ci == pytest.approx((case["ci_lower"], case["ci_upper"]), abs=1e-8)


def test_random_draws_approach_the_enumeration():
    """With 2^10 sign vectors available, B random draws estimate the exact p-value."""
    fit = pr.pooled_ols("inv ~ value + capital", GRUNFELD, **KW)
    exact = pr.wild_bootstrap(fit, "capital").pvalue
    drawn = pr.wild_bootstrap(fit.with_cov(cov="cluster"), "capital", B=999, seed=1)
    assert not drawn.details.enumerated and drawn.details.draws == 999
    # binomial standard error of a proportion near 0.02 with 999 draws: 0.0045
    assert abs(drawn.pvalue - exact) < 4 * np.sqrt(exact * (1 - exact) / 999)
    again = pr.wild_bootstrap(fit, "capital", B=999, seed=1)
    assert again.pvalue == drawn.pvalue  # the seed fixes the draws


def test_bad_input_is_refused_with_the_reason():
    fe = pr.fixed_effects("inv ~ value + capital", GRUNFELD, **KW)
    with pytest.raises(InvalidParameterError, match="did you mean 'value'"):
        pr.wild_bootstrap(fe, "valeu")
    with pytest.raises(InvalidParameterError, match="weights must be one of"):
        pr.wild_bootstrap(fe, "value", weights="mammen")
    with pytest.raises(InvalidParameterError, match="B must be"):
        pr.wild_bootstrap(fe, "value", B=0)
    with pytest.raises(InvalidParameterError, match="nest within the clusters"):
        pr.wild_bootstrap(fe, "value", cluster="time")
    re = pr.random_effects("inv ~ value + capital", GRUNFELD, **KW)
    with pytest.raises(InvalidParameterError, match="not the random_effects fit"):
        pr.wild_bootstrap(re, "value")
    text = str(pr.wild_bootstrap(fe, "value"))
    assert "95% bootstrap CI" in text and "1024 all draws, 10 clusters" in text


@pytest.mark.reference
def test_published_boottest_t_statistic():
    """Stata: reghdfe ln_wage age tenure hours, a(ind_code) cluster(ind_code); boottest
    hours printed t(11) = 1.0222 (output pasted in GitHub issue
    s3alfisc/fwildclusterboot#157); its p = 0.3473 and set [-.001658, .00394] come from 999
    random draws, within Monte Carlo error of the exact 4,096-draw values tested above."""
    case = CASES["nlswork_hours_absorb_industry_rademacher_wcr"]
    test = pr.wild_bootstrap(_fit(case), "hours")
    assert f"{test.stat:.4f}" == case["published"]["printed"]["t"] == "1.0222"
    assert abs(test.pvalue - 0.3473) < 2 * 0.0151  # Monte Carlo sd of 999 draws


def test_select_points_to_small_cluster_inference():
    sel = pr.select("inv ~ value + capital", GRUNFELD, **KW)
    assert "cov='cr2'" in sel.report() and "pr.wild_bootstrap" in sel.report()
