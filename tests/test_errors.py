"""Every bad-input path has a defined, tested behaviour (DESIGN.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import panelre as pr

F = "inv ~ value + capital"


def test_all_errors_derive_from_panelre_error_and_builtins():
    assert issubclass(pr.PanelIndexError, pr.PanelreError)
    assert issubclass(pr.PanelIndexError, ValueError)
    assert issubclass(pr.ConvergenceError, RuntimeError)
    assert issubclass(pr.BoundaryWarning, pr.PanelreWarning)
    assert issubclass(pr.PanelreWarning, UserWarning)


def test_duplicate_entity_time_pairs(grunfeld):
    df = pd.concat([grunfeld, grunfeld.iloc[[3]]])
    with pytest.raises(
        pr.PanelIndexError, match=r"Duplicate \(entity, time\) pairs: 1 pair.*firm=1.*year=1938"
    ):
        pr.fixed_effects(F, df, entity="firm", time="year")


def test_missing_entity_or_time_column(grunfeld):
    with pytest.raises(pr.PanelIndexError, match="entity column 'company' is not in the data"):
        pr.pooled_ols(F, grunfeld, entity="company")
    with pytest.raises(pr.PanelIndexError, match="time column 'yr'"):
        pr.pooled_ols(F, grunfeld, entity="firm", time="yr")
    with pytest.raises(pr.PanelIndexError, match="No entity identifier"):
        pr.pooled_ols(F, grunfeld)


def test_missing_formula_column(grunfeld):
    with pytest.raises(pr.FormulaError, match=r"uses column\(s\) \['labour'\]"):
        pr.pooled_ols("inv ~ value + labour", grunfeld, entity="firm")


def test_nan_rows_are_dropped_with_a_counting_warning(grunfeld):
    df = grunfeld.copy()
    df.loc[[0, 5, 7], "value"] = np.nan
    with pytest.warns(pr.MissingValueWarning, match="3 of 200 row"):
        res = pr.fixed_effects(F, df, entity="firm", time="year")
    assert res.nobs == 197
    expected = pr.fixed_effects(F, grunfeld.drop(index=[0, 5, 7]), entity="firm", time="year")
    np.testing.assert_allclose(res.params, expected.params)


def test_inf_is_an_error(grunfeld):
    df = grunfeld.copy()
    df.loc[4, "capital"] = np.inf
    with pytest.raises(pr.DataError, match="'capital' contains 1 infinite value"):
        pr.pooled_ols(F, df, entity="firm")


def test_transform_producing_nan_is_an_error(grunfeld):
    df = grunfeld.copy()
    df.loc[0, "value"] = -1.0
    with pytest.raises(pr.DataError, match="non-finite values"):
        pr.pooled_ols("inv ~ np.log(value)", df, entity="firm")


def test_string_regressor_outside_C(grunfeld):
    df = grunfeld.assign(size=np.where(grunfeld["value"] > 1000, "big", "small"))
    with pytest.raises(pr.FormulaError, match=r"Wrap it as C\(size\)"):
        pr.pooled_ols("inv ~ value + size", df, entity="firm")
    res = pr.pooled_ols("inv ~ value + C(size)", df, entity="firm")
    assert "C(size)[T.small]" in res.params.index


def test_constant_regressor_is_dropped_with_a_warning(grunfeld):
    df = grunfeld.assign(one=1.0)
    with pytest.warns(pr.DroppedVariableWarning, match="collinear.*one"):
        res = pr.pooled_ols("inv ~ value + one", df, entity="firm")
    assert res.dropped == ["one"]


def test_absorbed_regressor_is_dropped_and_named(grunfeld):
    df = grunfeld.assign(founded=grunfeld["firm"] * 3.0 + 1900)
    with pytest.warns(pr.DroppedVariableWarning, match="absorbed by the entity effects.*founded"):
        res = pr.fixed_effects("inv ~ value + founded", df, entity="firm", time="year")
    assert res.dropped == ["founded"] and list(res.params.index) == ["value"]


def test_every_regressor_absorbed(grunfeld):
    df = grunfeld.assign(founded=grunfeld["firm"] * 3.0)
    with pytest.raises(pr.AbsorbedVariableError, match="founded.*absorbed by the entity"):
        pr.fixed_effects("inv ~ founded", df, entity="firm", time="year")


def test_perfectly_collinear_design(grunfeld):
    df = grunfeld.assign(value2=2 * grunfeld["value"])
    with pytest.warns(pr.DroppedVariableWarning, match="value2"):
        res = pr.pooled_ols("inv ~ value + value2 + capital", df, entity="firm")
    assert "value2" not in res.params.index
    with pytest.raises(pr.RankDeficiencyError):
        pr.pooled_ols("inv ~ 0 + zero", grunfeld.assign(zero=0.0), entity="firm")


def test_single_period_for_within_and_first_difference(grunfeld):
    one = grunfeld[grunfeld["year"] == 1940]
    with pytest.raises(pr.InsufficientDataError, match="single observation.*T = 1"):
        pr.fixed_effects(F, one, entity="firm", time="year")
    with pytest.raises(pr.InsufficientDataError, match="no first differences"):
        pr.first_difference(F, one, entity="firm", time="year")


def test_one_entity(grunfeld):
    one = grunfeld[grunfeld["firm"] == 1]
    fe = pr.fixed_effects(F, one, entity="firm", time="year")  # demeaned OLS: defined
    assert fe.n_entities == 1
    with pytest.raises(pr.InsufficientDataError, match="more entity groups"):
        pr.random_effects(F, one, entity="firm", time="year")
    with pytest.raises(pr.InsufficientDataError, match="more entities"):
        pr.between(F, one, entity="firm")


def test_empty_data(grunfeld):
    with pytest.raises(pr.InsufficientDataError, match="empty"):
        pr.pooled_ols(F, grunfeld.iloc[:0], entity="firm")


def test_negative_variance_component_is_clipped_with_warning():
    rng = np.random.default_rng(11)
    n, t = 40, 5
    df = pd.DataFrame({"i": np.repeat(np.arange(n), t), "t": np.tile(np.arange(t), n)})
    df["x"] = rng.normal(size=len(df))
    # negatively correlated within-entity errors: no positive entity variance
    e = rng.normal(size=len(df))
    e = e - 1.5 * pd.Series(e).groupby(df["i"]).transform("mean").to_numpy()
    df["y"] = 1 + df["x"] + e
    with pytest.warns(pr.BoundaryWarning, match="negative and is set to 0"):
        re = pr.random_effects("y ~ x", df, entity="i", time="t")
    assert re.variance_components.sigma2_u == 0 and re.variance_components.theta == 0
    pooled = pr.pooled_ols("y ~ x", df, entity="i")
    np.testing.assert_allclose(re.params, pooled.params, rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"cov": "robus"}, r"The 'cov' parameter must be one of \{'unadjusted', 'robust'"),
        ({"effects": "firm"}, r"The 'effects' parameter must be one of"),
        ({"cov": "cluster", "bandwidth": 3}, r"does not take option\(s\) \['bandwidth'\]"),
        ({"cov": "cluster", "cluster": "region"}, "not a column of the data"),
        ({"cov": "driscoll-kraay", "bandwidth": -1}, "non-negative integer"),
        ({"colour": "red"}, r"unexpected option\(s\) \['colour'\]"),
    ],
)
def test_invalid_options(grunfeld, kwargs, match):
    with pytest.raises(pr.InvalidParameterError, match=match):
        pr.fixed_effects(F, grunfeld, entity="firm", time="year", **kwargs)


def test_bad_random_effects_options(grunfeld):
    with pytest.raises(pr.InvalidParameterError, match="'method' parameter"):
        pr.random_effects(F, grunfeld, entity="firm", method="gls")
    with pytest.raises(pr.InvalidParameterError, match="'convention' parameter"):
        pr.random_effects(F, grunfeld, entity="firm", convention="sas")
    with pytest.raises(pr.PanelIndexError, match="need a time identifier"):
        pr.random_effects(F, grunfeld, entity="firm", effects="twoway")


def test_non_dataframe_input():
    with pytest.raises(pr.DataError, match="must be a pandas or polars DataFrame"):
        pr.pooled_ols(F, [[1, 2, 3]], entity="firm")


def test_bad_formula(grunfeld):
    with pytest.raises(pr.FormulaError, match="of the form 'y ~ x1 \\+ x2'"):
        pr.pooled_ols("inv value", grunfeld, entity="firm")


def test_missing_entity_identifier_rows_dropped(grunfeld):
    df = grunfeld.astype({"firm": float})
    df.loc[[1, 2], "firm"] = np.nan
    with pytest.warns(pr.MissingValueWarning, match="2 row"):
        res = pr.pooled_ols(F, df, entity="firm")
    assert res.nobs == 198


def test_singletons_warn_but_are_kept(grunfeld):
    df = pd.concat(
        [
            grunfeld,
            pd.DataFrame(
                {"firm": [99], "year": [1950], "inv": [1.0], "value": [2.0], "capital": [3.0]}
            ),
        ]
    )
    with pytest.warns(pr.SingletonWarning, match="1 entity group"):
        fe = pr.fixed_effects(F, df, entity="firm", time="year")
    base = pr.fixed_effects(F, grunfeld, entity="firm", time="year")
    np.testing.assert_allclose(fe.params, base.params, rtol=1e-12)
    assert fe.df_resid == base.df_resid  # one more row, one more effect


def test_unknown_columns_show_the_close_match_first_and_every_column():
    """A misspelled column in a 44-column frame: the suggestion comes first, then all 44."""
    wagepan = pr.datasets.load("wagepan")
    with pytest.raises(pr.FormulaError) as info:
        pr.fixed_effects("lwage ~ unoin + exper", wagepan, entity="nr", time="year")
    text = str(info.value)
    assert text.index("did you mean 'union'?") < text.index("Available columns (44)")
    assert "'expersq'" in text  # the last column is listed too
    with pytest.raises(pr.PanelIndexError, match=r"'nrr' is not in the data \(did you mean 'nr'"):
        pr.fixed_effects("lwage ~ union", wagepan, entity="nrr", time="year")
    with pytest.raises(pr.InvalidParameterError, match=r"Got 'clustr' \(did you mean 'cluster'"):
        pr.fixed_effects("lwage ~ union", wagepan, entity="nr", time="year", cov="clustr")


def test_amemiya_on_an_unbalanced_panel_refuses_a_time_invariant_regressor(grunfeld):
    """R plm's amemiya_check: the trace of Amemiya's unbalanced moment system has no term
    for a regressor the within transform removes."""
    size = grunfeld.groupby("firm").capital.transform("mean")
    unbalanced = grunfeld.assign(size=size).iloc[3:]
    with pytest.raises(pr.AbsorbedVariableError, match="within variation.*size does not vary"):
        pr.random_effects(
            "inv ~ value + size", unbalanced, entity="firm", time="year", method="amemiya"
        )
    balanced = pr.random_effects(
        "inv ~ value + size", grunfeld.assign(size=size), entity="firm", time="year",
        method="amemiya",
    )  # fmt: skip
    assert np.isfinite(balanced.params["size"])
