"""``pr.margins`` against analytic average marginal effects computed in R (with the
delta method on ``vcov``), which also agree with a marginaleffects-style numerical
derivative there (``tests/reference/margins/margins_r.json``, ``make_margins_reference.R``;
the Stata command beside every case)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import panelre as pr
from panelre.exceptions import InvalidParameterError

CASES = json.loads(
    (Path(__file__).parent / "reference" / "margins" / "margins_r.json").read_text()
)["cases"]
GRUNFELD = pr.datasets.load("grunfeld")
KW = {"entity": "firm", "time": "year"}
F = "inv ~ value + capital + I(value**2) + value:capital"


def _check(case_id: str, result, **options) -> None:
    table = pr.margins(result, **options).set_index("term")
    for term, ref in CASES[case_id]["ame"].items():
        row = table.loc[term]
        # measured: 4e-12 relative (central differences of a quadratic are exact)
        assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-9)
        assert row["std_error"] == pytest.approx(ref["std_error"], rel=1e-9)
        assert row["pvalue"] == pytest.approx(ref["p_value_t"], rel=1e-8)
        assert row["lower"] == pytest.approx(ref["conf_low_t"], rel=1e-9)
        assert row["upper"] == pytest.approx(ref["conf_high_t"], rel=1e-9)


@pytest.mark.reference
def test_polynomial_and_interaction():
    _check("ame_ols", pr.pooled_ols(F, GRUNFELD, **KW))


@pytest.mark.reference
def test_clustered_covariance_and_g_minus_1_df():
    _check("ame_ols_cluster", pr.pooled_ols(F, GRUNFELD, **KW, cov="cluster", small_sample=True))


@pytest.mark.reference
def test_fixed_effects_at_the_raw_covariates():
    _check("ame_within", pr.fixed_effects(F, GRUNFELD, **KW))


@pytest.mark.reference
def test_factor_interaction_gives_the_discrete_change():
    wagepan = pr.datasets.load("wagepan")
    fit = pr.pooled_ols(
        "lwage ~ educ * C(union) + exper + I(exper**2)", wagepan, entity="nr", time="year"
    )
    _check("ame_wagepan_interaction", fit)


@pytest.mark.reference
def test_at_sets_the_column_for_every_row():
    fit = pr.pooled_ols(F, GRUNFELD, **KW)
    table = pr.margins(fit, "value", at={"capital": [100, 500]})
    assert table["capital"].tolist() == [100, 500]
    for value, row in zip((100, 500), table.itertuples()):
        ref = CASES[f"ame_ols_at_capital_{value}"]["ame"]["value"]
        assert row.estimate == pytest.approx(ref["estimate"], rel=1e-9)
        assert row.std_error == pytest.approx(ref["std_error"], rel=1e-9)


def test_linear_model_margins_are_the_coefficients():
    fit = pr.fixed_effects("inv ~ value + capital", GRUNFELD, **KW)
    table = pr.margins(fit).set_index("term")
    np.testing.assert_allclose(
        table.loc[["capital", "value"], "estimate"], fit.params[["capital", "value"]], rtol=1e-9
    )
    np.testing.assert_allclose(
        table.loc[["capital", "value"], "std_error"],
        fit.std_errors[["capital", "value"]],
        rtol=1e-9,
    )


def test_bad_variables_are_named():
    fit = pr.pooled_ols(F, GRUNFELD, **KW)
    with pytest.raises(InvalidParameterError, match="did you mean 'value'"):
        pr.margins(fit, "valeu")
    with pytest.raises(InvalidParameterError, match="'year' is not a variable"):
        pr.margins(fit, "value", at={"year": 1950})


@pytest.mark.reference
def test_stata_published_margins_output():
    """Stata: ``reg mpg cyl c.hp##c.wt`` on R's mtcars, then ``margins, dydx(*)``, as
    printed in the vignette "Comparison with Stata's margins command" of the R package
    margins (T. Leeper); mtcars.csv written by ``write.csv(mtcars[, ...])`` in R. Stata
    differentiates numerically, so its printed SEs are off in the 7th digit."""
    import pandas as pd

    cars = pd.read_csv(Path(__file__).parent / "reference" / "margins" / "mtcars.csv")
    fit = pr.pooled_ols("mpg ~ cyl + hp * wt", cars, entity="car")
    table = pr.margins(fit).set_index("term")
    printed = CASES["stata_published_mtcars"]["stata_printed"]
    for term, row in printed.items():
        for column, key in (
            ("estimate", "dydx"),
            ("std_error", "se"),
            ("lower", "lo"),
            ("upper", "hi"),
        ):
            digits = len(row[key].split(".")[1])
            assert abs(table.loc[term, column] - float(row[key])) <= max(
                0.5 * 10.0**-digits, 5e-7 * abs(float(row[key]))
            ), (term, column)
        assert f"{table.loc[term, 'pvalue']:.3f}" == row["p"]
