"""Bad input on the Dask path: clear errors, and any partitioning gives the same fit."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import panelre as pr

pytestmark = pytest.mark.timeout(60)


def _panel(n_entities: int = 60, n_periods: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    e = np.repeat(np.arange(n_entities), n_periods)
    t = np.tile(np.arange(n_periods), n_entities)
    x = rng.normal(size=e.size)
    y = 2 * x + rng.normal(size=n_entities)[e] + rng.normal(size=e.size)
    return pd.DataFrame({"firm": e, "year": t, "x": x, "y": y})


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


def test_missing_identifier_column() -> None:
    ddf = dd.from_pandas(_panel(), npartitions=3)
    with pytest.raises(pr.PanelIndexError, match="entity column 'company' is not in the Dask"):
        pr.fixed_effects("y ~ x", ddf, entity="company", time="year")
    with pytest.raises(pr.PanelIndexError, match="needs entity="):
        pr.pooled_ols("y ~ x", ddf)


def test_mixed_dtype_across_partitions() -> None:
    df = _panel()
    good = df.iloc[:150]
    bad = df.iloc[150:].astype({"x": object})
    bad.loc[bad.index[0], "x"] = "n/a"
    ddf = dd.from_delayed(
        [dask.delayed(good), dask.delayed(bad)], meta=good.iloc[:0], verify_meta=False
    )
    with pytest.raises(pr.DataError, match="Column 'x' has dtype object in one partition"):
        pr.pooled_ols("y ~ x", ddf, entity="firm")


def test_duplicate_pairs_across_partitions() -> None:
    df = _panel()
    dup = pd.concat([df, df.iloc[[3]]], ignore_index=True)
    ddf = dd.from_pandas(dup, npartitions=4)  # the duplicate lands in another partition
    with pytest.raises(pr.PanelIndexError, match=r"Duplicate \(entity, time\) pairs: 1 entity has"):
        pr.fixed_effects("y ~ x", ddf, entity="firm", time="year")


def test_bad_options() -> None:
    ddf = dd.from_pandas(_panel(), npartitions=2)
    with pytest.raises(pr.InvalidParameterError, match="'cov' parameter"):
        pr.pooled_ols("y ~ x", ddf, entity="firm", cov="robus")
    with pytest.raises(pr.InvalidParameterError, match="'backend' parameter"):
        pr.pooled_ols("y ~ x", ddf, entity="firm", backend="spark")
    with pytest.raises(pr.InvalidParameterError, match="in-memory data"):
        pr.pooled_ols("y ~ x", ddf, entity="firm", backend="numpy")
    with pytest.raises(pr.InvalidParameterError, match="needs a Dask frame; got a DataFrame"):
        pr.pooled_ols("y ~ x", _panel(), entity="firm", backend="dask")
    res = pr.pooled_ols("y ~ x", ddf, entity="firm", time="year")
    with pytest.raises(pr.InvalidParameterError, match="name of a column"):
        res.with_cov("cluster", cluster=np.zeros(300))
    with pytest.raises(pr.InvalidParameterError, match="not a column"):
        res.with_cov("cluster", cluster="nope")


def test_panel_data_refuses_dask() -> None:
    with pytest.raises(pr.DataError, match="dask DataFrame"):
        pr.PanelData(dd.from_pandas(_panel(), npartitions=2), entity="firm")


def test_partitioning_does_not_matter(tmp_path) -> None:
    df = _panel()
    df.loc[5, "x"] = np.nan
    mem = pr.fixed_effects("y ~ x", df.dropna(), entity="firm", time="year", cov="cluster")
    shuffled = dd.from_pandas(df.sample(frac=1, random_state=0), npartitions=5, sort=False)
    by_entity = dd.from_pandas(df, npartitions=4).set_index("firm", sorted=True)
    assert by_entity.known_divisions and not shuffled.known_divisions
    df.to_parquet(tmp_path / "part.parquet")
    lazy = pr.read_panel(str(tmp_path / "*.parquet"), entity="firm", time="year")
    for ddf in (shuffled, by_entity, lazy):
        with pytest.warns(pr.MissingValueWarning, match="1 of 300 row"):
            res = pr.fixed_effects("y ~ x", ddf, entity="firm", time="year", cov="cluster")
        assert res.backend == "dask"
        np.testing.assert_allclose(res.std_errors, mem.std_errors, rtol=1e-10)
    with pytest.raises(pr.PanelIndexError, match="time column 'yr'"):
        pr.read_panel(str(tmp_path / "*.parquet"), entity="firm", time="yr")
    assert mem.backend == "numpy"


def test_dropped_rows_are_counted_as_in_memory() -> None:
    """Rows without an identifier, with a missing value or of weight zero are counted over
    all partitions, with the in-memory warnings, and the fit equals the in-memory one."""
    df = _panel().assign(w=1.5)
    df.loc[3, "firm"] = np.nan
    df.loc[[10, 200], "x"] = np.nan
    df.loc[[20, 150, 299], "w"] = 0.0
    ddf = dd.from_pandas(df, npartitions=4)
    kw = {"entity": "firm", "time": "year", "weights": "w"}
    for data in (df, ddf):
        with pytest.warns(pr.MissingValueWarning) as caught:
            res = pr.fixed_effects("y ~ x", data, **kw)
        messages = sorted(str(w.message) for w in caught if "dropped" in str(w.message))
        assert messages[0].startswith("1 row(s) with a missing entity or time identifier")
        assert messages[1].startswith("2 of 299 row(s) with missing values in ['x', 'y']")
        assert messages[2].startswith("3 of 297 row(s) with weight zero were dropped")
        assert res.nobs == 294
    np.testing.assert_allclose(res.params, pr.fixed_effects("y ~ x", df, **kw).params, rtol=1e-12)


def test_non_finite_transforms_name_the_column_as_in_memory() -> None:
    df = _panel()  # x is normal: np.log(x) is NaN where x < 0
    ddf = dd.from_pandas(df, npartitions=3)
    message = r"non-finite values in \['np.log\(x\)'\]"
    with pytest.raises(pr.DataError, match=message):
        pr.pooled_ols("y ~ np.log(x)", df, entity="firm")
    with pytest.raises(pr.DataError, match=message):
        pr.pooled_ols("y ~ np.log(x)", ddf, entity="firm")


def test_categorical_time_out_of_sorted_order_is_an_error() -> None:
    """In memory the periods follow the categories' order; a Dask frame orders them by
    value, so categories in another order are refused rather than fitted differently."""
    df = _panel()
    years = sorted(df["year"].unique(), reverse=True)
    df["year"] = pd.Categorical(df["year"], categories=years)
    ddf = dd.from_pandas(df, npartitions=3)
    with pytest.raises(pr.DataError, match="categories out of sorted order"):
        pr.first_difference("y ~ x", ddf, entity="firm", time="year")
    df["year"] = df["year"].cat.reorder_categories(sorted(years))  # sorted: as in memory
    ddf = dd.from_pandas(df, npartitions=3)
    got = pr.first_difference("y ~ x", ddf, entity="firm", time="year").params
    ref = pr.first_difference("y ~ x", df, entity="firm", time="year").params
    np.testing.assert_allclose(got, ref, rtol=1e-12)
