"""The panel index layer: codes, balance, transforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import panelre as pr


def test_dimensions_and_balance(grunfeld):
    p = pr.PanelData(grunfeld, entity="firm", time="year")
    assert (p.n_entities, p.n_periods, p.nobs, p.is_balanced) == (10, 20, 200, True)
    assert p.counts.sum() == 200
    d = p.describe()
    assert d["T_min"] == d["T_max"] == 20 and d["singletons"] == 0


def test_multiindex_and_polars_inputs_agree(grunfeld):
    a = pr.PanelData(grunfeld, entity="firm", time="year")
    b = pr.PanelData(grunfeld.set_index(["firm", "year"]))
    import polars as pl

    c = pr.PanelData(pl.from_pandas(grunfeld), entity="firm", time="year")
    for other in (b, c):
        assert np.array_equal(a.entity_codes, other.entity_codes)
        assert np.array_equal(a.time_codes, other.time_codes)


def test_entity_demeaning_matches_pandas(grunfeld_unbalanced):
    p = pr.PanelData(grunfeld_unbalanced, entity="firm", time="year")
    x = grunfeld_unbalanced[["inv", "value"]].to_numpy()
    expected = (
        x - grunfeld_unbalanced.groupby("firm")[["inv", "value"]].transform("mean").to_numpy()
    )
    np.testing.assert_allclose(p.demean(x), expected, atol=1e-9)


@pytest.mark.parametrize("frame", ["grunfeld", "grunfeld_unbalanced"])
def test_twoway_demeaning_equals_dummy_regression_residuals(frame, request):
    df = request.getfixturevalue(frame)
    p = pr.PanelData(df, entity="firm", time="year")
    x = df[["inv", "value", "capital"]].to_numpy()
    D = np.column_stack(
        [pd.get_dummies(df["firm"]).to_numpy(float), pd.get_dummies(df["year"]).to_numpy(float)]
    )
    resid = x - D @ np.linalg.lstsq(D, x, rcond=None)[0]
    np.testing.assert_allclose(p.demean(x, "twoway"), resid, atol=1e-8)


def test_twoway_effects_reconstruct_total(grunfeld_unbalanced):
    p = pr.PanelData(grunfeld_unbalanced, entity="firm", time="year")
    rng = np.random.default_rng(0)
    alpha, gamma = rng.normal(size=p.n_entities), rng.normal(size=p.n_periods)
    total = alpha[p.entity_codes] + gamma[p.time_codes]
    a, g = p.twoway_effects(total)
    np.testing.assert_allclose(a[p.entity_codes] + g[p.time_codes], total, atol=1e-10)
    assert abs(np.average(g, weights=p.time_counts)) < 1e-12


def test_quasi_demean_with_theta_zero_and_one(grunfeld):
    p = pr.PanelData(grunfeld, entity="firm")
    x = grunfeld[["inv"]].to_numpy()
    np.testing.assert_allclose(p.quasi_demean(x, 0.0), x)
    np.testing.assert_allclose(p.quasi_demean(x, 1.0), p.demean(x))
    np.testing.assert_allclose(p.quasi_demean(x, np.ones(10)), p.demean(x))


def test_first_difference_and_lag_ignore_row_order(grunfeld):
    shuffled = grunfeld.sample(frac=1.0, random_state=1)
    p = pr.PanelData(shuffled, entity="firm", time="year")
    inv = shuffled["inv"].to_numpy()
    diffs, later = p.first_difference(inv)
    assert len(diffs) == 190
    expected = shuffled["inv"].to_numpy()[later] - p.lag(inv)[later]
    np.testing.assert_allclose(diffs, expected)
    lag = p.lag(inv)
    assert np.isnan(lag[shuffled["year"].to_numpy() == 1935]).all()


def test_lag_is_missing_across_a_gap():
    df = pd.DataFrame({"i": [1, 1, 1], "t": [1, 2, 4], "x": [1.0, 2.0, 4.0]})
    p = pr.PanelData(df, entity="i", time="t")
    lag = p.lag(df["x"].to_numpy())
    assert np.isnan(lag[0]) and lag[1] == 1.0 and np.isnan(lag[2])
    # plm's first differences use consecutive rows, even across the gap
    assert p.first_difference(df["x"].to_numpy())[0].tolist() == [1.0, 2.0]


def test_input_frame_is_not_modified(grunfeld):
    before = pd.util.hash_pandas_object(grunfeld).sum()
    p = pr.PanelData(grunfeld, entity="firm", time="year")
    p.demean(p.frame[["inv"]].to_numpy(), "twoway")
    pr.fixed_effects("inv ~ value + capital", grunfeld, entity="firm", time="year")
    assert pd.util.hash_pandas_object(grunfeld).sum() == before
