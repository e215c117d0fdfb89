"""CR2 (Bell–McCaffrey) cluster covariance with Satterthwaite degrees of freedom against
R clubSandwich (``tests/reference/cr2/cr2_r.json``, made by ``make_cr2_reference.R``;
the R call is stored beside every case)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import panelre as pr
from panelre.exceptions import InvalidParameterError

CASES = json.loads((Path(__file__).parents[1] / "reference" / "cr2" / "cr2_r.json").read_text())[
    "cases"
]
GRUNFELD = pr.datasets.load("grunfeld")
UNBALANCED = GRUNFELD[~((GRUNFELD.year % 7 == 0) & GRUNFELD.firm.isin([2, 5, 9]))]
GROUPED = GRUNFELD.assign(cl=(GRUNFELD.firm - 1) // 3 + 1)
F = "inv ~ value + capital"
WAGEPAN = "lwage ~ exper + expersq + married + union"


def _fit(case_id: str):
    g = {"entity": "firm", "time": "year", "cov": "cr2"}
    w = {"entity": "nr", "time": "year", "cov": "cr2"}
    fits = {
        "grunfeld_pooled_ols_cl_firm": lambda: pr.pooled_ols(F, GRUNFELD, **g),
        "grunfeld_within_cl_firm": lambda: pr.fixed_effects(F, GRUNFELD, **g),
        # two-way FE clustered by entity: the periods as regressors (see the error message)
        "grunfeld_twoways_cl_firm": lambda: pr.fixed_effects(F + " + C(year)", GRUNFELD, **g),
        "grunfeld_unbal_within_cl_firm": lambda: pr.fixed_effects(F, UNBALANCED, **g),
        "grunfeld_unbal_pooled_ols_cl_firm": lambda: pr.pooled_ols(F, UNBALANCED, **g),
        "grunfeld_unbal_twoways_cl_firm": lambda: pr.fixed_effects(
            F + " + C(year)", UNBALANCED, **g
        ),
        "grunfeld_within_cl_firmgroup3": lambda: pr.fixed_effects(F, GROUPED, **g, cluster="cl"),
        "grunfeld_pooled_ols_cl_firmgroup3": lambda: pr.pooled_ols(F, GROUPED, **g, cluster="cl"),
        "wages_within_cl_id": lambda: pr.fixed_effects(
            "lwage ~ exp + wks", pr.datasets.load("wages"), entity="id", time="time", cov="cr2"
        ),
        "wagepan_within_cl_nr": lambda: pr.fixed_effects(WAGEPAN, pr.datasets.load("wagepan"), **w),
        "wagepan_pooled_ols_cl_nr": lambda: pr.pooled_ols(
            "lwage ~ educ + black + hisp + exper + expersq + married + union",
            pr.datasets.load("wagepan"),
            **w,
        ),
    }
    return fits[case_id]()


# measured worst relative differences: 1e-12 (6.6e-9 for the fits with period dummies,
# whose many regressors clubSandwich inverts with its pseudo-inverse cut-off)
@pytest.mark.reference
@pytest.mark.parametrize(
    "case_id",
    [
        "grunfeld_pooled_ols_cl_firm",
        "grunfeld_within_cl_firm",
        "grunfeld_twoways_cl_firm",
        "grunfeld_unbal_within_cl_firm",
        "grunfeld_unbal_pooled_ols_cl_firm",
        "grunfeld_unbal_twoways_cl_firm",
        "grunfeld_within_cl_firmgroup3",
        "grunfeld_pooled_ols_cl_firmgroup3",
        "wages_within_cl_id",
        "wagepan_within_cl_nr",
        "wagepan_pooled_ols_cl_nr",
    ],
)
def test_cr2_and_satterthwaite_match_clubsandwich(case_id: str) -> None:
    case = CASES[case_id]
    res = _fit(case_id)
    names = {n: ("Intercept" if n == "(Intercept)" else n) for n in case["std_errors"]}
    rtol = 3e-8 if "twoways" in case_id else 1e-10
    for r_name, name in names.items():
        assert res.std_errors[name] == pytest.approx(case["std_errors"][r_name], rel=rtol)
        assert res.coefficient_df[name] == pytest.approx(case["df_satterthwaite"][r_name], rel=rtol)
        assert res.pvalues[name] == pytest.approx(case["pvalues"][r_name], rel=10 * rtol)
    assert res.cov_type.startswith("CR2")


# measured: 2.6e-12 (SEs), 4.4e-13 (df)
@pytest.mark.reference
@pytest.mark.parametrize(
    ("case_id", "formula", "data", "entity"),
    [
        ("grunfeld_random_swar_cl_firm", F, "grunfeld", "firm"),
        ("wagepan_random_cl_nr", "lwage ~ educ + black + hisp + exper + expersq + married + union",
         "wagepan", "nr"),
    ],
)  # fmt: skip
def test_random_effects_cr2_matches_clubsandwich(case_id, formula, data, entity):
    """clubSandwich's CR2 for plm random effects: the working covariance I + ρ11' of the
    untransformed rows, with a Cholesky-based adjustment matrix."""
    case = CASES[case_id]
    res = pr.random_effects(formula, pr.datasets.load(data), entity=entity, time="year", cov="cr2")
    for r_name, value in case["std_errors"].items():
        name = "Intercept" if r_name == "(Intercept)" else r_name
        assert res.std_errors[name] == pytest.approx(value, rel=1e-10)
        assert res.coefficient_df[name] == pytest.approx(
            case["df_satterthwaite"][r_name], rel=1e-10
        )


def test_singleton_clusters_give_hc2():
    """With one row per cluster CR2 is HC2 (statsmodels' OLS HC2 as the reference)."""
    g = GRUNFELD.assign(row=np.arange(len(GRUNFELD)))
    res = pr.pooled_ols(F, g, entity="firm", time="year", cov="cr2", cluster="row")
    X = sm.add_constant(g[["value", "capital"]])
    hc2 = sm.OLS(g["inv"], X).fit(cov_type="HC2")
    np.testing.assert_allclose(res.std_errors.to_numpy(), hc2.bse.to_numpy(), rtol=1e-12)


def test_confidence_interval_uses_the_satterthwaite_df():
    res = _fit("grunfeld_within_cl_firm")
    from scipy import stats

    ci = res.conf_int(0.95)
    crit = stats.t.ppf(0.975, res.coefficient_df)
    np.testing.assert_allclose(ci["upper"] - res.params, crit * res.std_errors, rtol=1e-12)
    assert isinstance(res.coefficient_df, pd.Series)
    assert pr.fixed_effects(F, GRUNFELD, entity="firm", time="year").coefficient_df is None


def test_with_cov_and_a_clear_error_for_what_cr2_does_not_cover():
    fe = pr.fixed_effects(F, GRUNFELD, entity="firm", time="year")
    assert fe.with_cov(cov="cr2").std_errors["value"] == pytest.approx(
        CASES["grunfeld_within_cl_firm"]["std_errors"]["value"], rel=1e-10
    )
    with pytest.raises(InvalidParameterError, match="entity effects to nest within"):
        fe.with_cov(cov="cr2", cluster="time")
    twoway = pr.fixed_effects(F, GRUNFELD, entity="firm", time="year", effects="twoway")
    with pytest.raises(InvalidParameterError, match="time effects to nest.*C\\(year\\)"):
        twoway.with_cov(cov="cr2")
    with pytest.raises(InvalidParameterError, match="two-way CR2 is not defined"):
        fe.with_cov(cov="cr2", cluster=["entity", "time"])
    with pytest.raises(InvalidParameterError, match="does not take option.*small_sample"):
        fe.with_cov(cov="cr2", small_sample=True)
    re = pr.random_effects(F, GRUNFELD, entity="firm", time="year")
    with pytest.raises(InvalidParameterError, match="clusters by entity"):
        re.with_cov(cov="cr2", cluster="time")
    twoway = pr.random_effects(F, GRUNFELD, entity="firm", time="year", effects="twoway")
    with pytest.raises(InvalidParameterError, match="one-way entity random effects"):
        twoway.with_cov(cov="cr2")
    weighted = GRUNFELD.assign(w=1.0 + (GRUNFELD.firm % 3))
    with pytest.raises(InvalidParameterError, match="observation weights"):
        pr.pooled_ols(F, weighted, entity="firm", time="year", weights="w", cov="cr2")
