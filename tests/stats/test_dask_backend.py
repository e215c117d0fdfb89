"""The Dask backend's primitives give the numpy backend's numbers (rtol 1e-12).

Seeded panels (balanced and ~15 % unbalanced), shuffled into 6 partitions with unknown
divisions so that every entity is split across partitions. Most tests run on the
synchronous scheduler; the ``cluster`` tests repeat the main ones on a two-worker
in-process ``LocalCluster``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import dask
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest

from panelre.exceptions import (
    FormulaError,
    InvalidParameterError,
    MissingValueWarning,
    PanelIndexError,
)
from panelre.stats import PanelSource, RowMap, bind

RTOL = 1e-12
pytestmark = pytest.mark.timeout(60)
FORMULAS = ["y ~ x1 + x2 + C(g)", "y ~ x1 + x2"]


def make_panel(balanced: bool, seed: int = 0, n_entities: int = 60, n_periods: int = 6):
    rng = np.random.default_rng(seed)
    e = np.repeat(np.arange(n_entities), n_periods)
    t = np.tile(np.arange(n_periods), n_entities)
    if not balanced:
        keep = rng.random(e.size) < 0.85
        e, t = e[keep], t[keep]
    n = e.size
    alpha = rng.normal(size=n_entities)[e]
    x1 = rng.normal(size=n) + 0.5 * alpha
    x2 = rng.normal(size=n) + rng.normal(size=n_periods)[t]
    g = rng.choice(["a", "b", "c"], n)
    y = 1 + 0.5 * x1 - 0.3 * x2 + alpha + rng.normal(size=n_periods)[t] + rng.normal(size=n)
    return pd.DataFrame(
        {
            "firm": 100 + 3 * e,
            "year": 2000 + t,
            "y": y,
            "x1": x1,
            "x2": x2,
            "g": g,
            "region": rng.integers(0, 7, n_entities)[e],
        }
    )


def to_dask(frame: pd.DataFrame, npartitions: int = 6, seed: int = 3) -> Any:
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return dd.from_pandas(shuffled, npartitions=npartitions, sort=False).persist()


def pair(formula: str, frame: pd.DataFrame, ddf: Any = None) -> tuple[PanelSource, PanelSource]:
    mem = bind(formula, frame, entity="firm", time="year", backend="numpy")
    lazy = bind(formula, to_dask(frame) if ddf is None else ddf, entity="firm", time="year")
    assert lazy.backend.name == "dask"
    return mem, lazy


def close(a: Any, b: Any, rtol: float = RTOL) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    scale = max(1.0, float(np.abs(a).max(initial=0.0)))
    np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol * scale)


def rows_sorted(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(np.round(a, 8).T[::-1])]


@pytest.fixture
def sync() -> Iterator[None]:
    with dask.config.set(scheduler="sync"):
        yield


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def check_stats(mem: PanelSource, lazy: PanelSource) -> None:
    a, b = mem.stats, lazy.stats
    assert (a.n, a.n_entities, a.n_periods) == (b.n, b.n_entities, b.n_periods)
    close(a.gram, b.gram)
    close(a.total, b.total)
    for dim in ("entity", "time"):
        ga, gb = a.groups(dim), b.groups(dim)
        assert ga.labels.tolist() == gb.labels.tolist()
        assert ga.labels.name == gb.labels.name
        close(ga.counts, gb.counts)
        close(ga.sums, gb.sums)


def check_incidence(mem: PanelSource, lazy: PanelSource) -> None:
    a, b = mem.stats, lazy.stats
    rng = np.random.default_rng(1)
    w = rng.random(a.n_entities)
    ent, per = rng.normal(size=(a.n_entities, 3)), rng.normal(size=(a.n_periods, 2))
    pa, pb = a.pattern(), b.pattern()
    close(pa.time_gram(w), pb.time_gram(w))
    close(pa.to_time(ent), pb.to_time(ent))
    close(pa.to_entity(per), pb.to_entity(per))


def score_maps(stats: Any, p: int) -> list[tuple[RowMap, RowMap]]:
    """(regressors, residual) maps: pooled, entity demeaning, time demeaning, two-way."""
    rng = np.random.default_rng(2)
    coef = np.concatenate([[1.0], rng.normal(size=p - 1)])
    slopes = list(range(2, p))
    ent = RowMap(np.eye(p), entity_table=stats.entity.means)
    per = RowMap(np.eye(p), time_table=stats.time.means)
    two = RowMap(np.eye(p), stats.time.means, stats.entity.means - stats.total / stats.n)
    out = [(RowMap.select(p, range(1, p)), RowMap.identity(p).times(coef))]
    for m in (ent, per, two):
        out.append((m.columns(slopes), m.times(coef)))
    return out


#: Clusterings checked per map (pooled, entity, time, two-way): every path of
#: ``score_sums`` (the shortcut with and without an own table, the generic group-by of
#: the scores, a data column, (entity, time) pairs and a pair with a column).
CLUSTERS = [
    ["entity", "region", ("entity", "time")],
    ["entity", "time", ("entity", "region")],
    ["time", "entity", "region"],
    ["entity", "time", ("entity", "time")],
]


def check_scores(mem: PanelSource, lazy: PanelSource, which: Sequence[int] = range(4)) -> None:
    maps = score_maps(mem.stats, mem.width)
    for i in which:
        x, e = maps[i]
        sa, sb = mem.scores(x, e), lazy.scores(x, e)
        assert sa.nobs == sb.nobs
        for c in CLUSTERS[i]:
            a, b = sa.score_sums(c), sb.score_sums(c)
            if c in ("entity", "time"):  # group order: sorted labels
                close(a, b)
            else:
                close(rows_sorted(a), rows_sorted(b))
            assert sb.score_sums(c) is b  # cached
        close(sa.resid_ss(), sb.resid_ss())  # computed with the first score sums
        close(sa.gradient(), sb.gradient())
        close(sa.score_outer(), sb.score_outer())


# ------------------------------------------------------------------ synchronous scheduler
@pytest.mark.parametrize("balanced", [True, False])
@pytest.mark.parametrize("formula", FORMULAS)
def test_collect_and_scores(sync: None, formula: str, balanced: bool) -> None:
    mem, lazy = pair(formula, make_panel(balanced))
    assert lazy.x_names == mem.x_names and lazy.y_name == mem.y_name
    check_stats(mem, lazy)
    if not balanced:
        check_incidence(mem, lazy)
    # every map and clustering on the unbalanced categorical case, a few elsewhere
    which = {(0, False): range(4), (0, True): [0, 3], (1, False): [1, 2], (1, True): [3]}
    check_scores(mem, lazy, which[FORMULAS.index(formula), balanced])


def test_missing_values_warn_once(sync: None) -> None:
    frame = make_panel(False)
    frame.loc[[3, 40, 41], "x1"] = np.nan
    frame.loc[7, "g"] = None
    with pytest.warns(MissingValueWarning) as mem_warnings:
        mem = bind(FORMULAS[0], frame, entity="firm", time="year", backend="numpy")
    with warnings.catch_warnings(record=True) as lazy_warnings:
        warnings.simplefilter("always")
        lazy = bind(FORMULAS[0], to_dask(frame), entity="firm", time="year")
        check_stats(mem, lazy)
        lazy.scores(*score_maps(lazy.stats, lazy.width)[1]).score_sums("time")
    assert mem.rows.n_missing == 4
    assert [str(w.message) for w in lazy_warnings] == [str(w.message) for w in mem_warnings]


def test_values(sync: None) -> None:
    mem, lazy = pair(FORMULAS[0], make_panel(False))
    for _, e in score_maps(mem.stats, mem.width):
        a = mem.values(e, "resid").sort_index()
        lazy_values = lazy.values(e, "resid")
        assert lazy_values.name == "resid"
        b = lazy_values.compute().sort_index()
        assert a.index.tolist() == b.index.tolist()
        assert list(a.index.names) == list(b.index.names)
        close(a.to_numpy(), b.to_numpy())


def test_first_differences_and_wide(sync: None) -> None:
    frame = make_panel(False)
    frame = frame[(frame["firm"] != 100) | (frame["year"] == 2003)]  # seen once: no difference
    mem, lazy = pair(FORMULAS[0], frame)
    fm, fl = mem.first_differences(), lazy.first_differences()
    check_stats(fm, fl)
    assert 100 not in fl.stats.entity.labels and fl.x_names == fm.x_names
    check_incidence(fm, fl)
    check_scores(fm, fl, [1, 3])
    two_way = score_maps(fm.stats, fm.width)[3][0]
    close(fm.wide(two_way), fl.wide(two_way))
    for src, mine in ((mem, lazy), (fm, fl)):
        e = score_maps(src.stats, src.width)[3][1]
        a = src.values(e, "e").sort_index()
        b = mine.values(e, "e").compute().sort_index()
        assert a.index.tolist() == b.index.tolist()
        close(a.to_numpy(), b.to_numpy())


@pytest.mark.parametrize("balanced", [True, False])
def test_wide(sync: None, balanced: bool) -> None:
    mem, lazy = pair(FORMULAS[1], make_panel(balanced))
    x, e = score_maps(mem.stats, mem.width)[3]  # both tables
    close(mem.wide(x), lazy.wide(x))
    close(mem.wide(e), lazy.wide(e))


def test_entity_partitioned_frame_skips_shuffle(sync: None) -> None:
    frame = make_panel(False)
    ddf = dd.from_pandas(frame.set_index("firm"), npartitions=5, sort=True)
    mem, lazy = pair(FORMULAS[0], frame, ddf)
    assert lazy.rows.by_entity
    fm, fl = mem.first_differences(), lazy.first_differences()
    check_stats(fm, fl)
    graph = dict(fl.rows.frame().__dask_graph__())
    assert not any("shuffle" in str(k) for k in graph)


def test_string_identifiers_and_column_clusters(sync: None) -> None:
    frame = make_panel(False)
    frame["firm"] = "f" + frame["firm"].astype(str)  # labels by Index.get_indexer
    frame["year"] = "y" + frame["year"].astype(str)
    frame["region"] = "r" + frame["region"].astype(str)
    mem, lazy = pair(FORMULAS[0], frame)
    check_stats(mem, lazy)
    check_incidence(mem, lazy)
    check_scores(mem, lazy, [3])
    fm, fl = mem.first_differences(), lazy.first_differences()
    check_stats(fm, fl)
    check_scores(fm, fl, [2])


def test_regressors_for(sync: None) -> None:
    mem, lazy = pair(FORMULAS[0], make_panel(True))
    new = make_panel(False, seed=5).head(10)
    a, b = mem.regressors_for(new), lazy.regressors_for(new)
    assert list(a.columns) == list(b.columns)
    close(a.to_numpy(), b.to_numpy())


def test_bad_clusters(sync: None) -> None:
    mem, lazy = pair(FORMULAS[1], make_panel(False))
    scores = lazy.scores(*score_maps(lazy.stats, lazy.width)[1])
    with pytest.raises(InvalidParameterError, match="name of a column"):
        scores.score_sums(np.arange(lazy.stats.n))
    with pytest.raises(InvalidParameterError, match="name of a column"):
        scores.score_sums(("entity", np.arange(lazy.stats.n)))
    with pytest.raises(InvalidParameterError, match="not a column"):
        scores.score_sums("nope")
    frame = make_panel(False)
    frame.loc[5, "region"] = np.nan
    _, lazy = pair(FORMULAS[1], frame)
    scores = lazy.scores(*score_maps(lazy.stats, lazy.width)[0])
    with pytest.raises(InvalidParameterError, match="missing values"):
        scores.score_sums("region")


def test_bad_inputs(sync: None) -> None:
    frame = make_panel(False)
    ddf = to_dask(frame)
    with pytest.raises(PanelIndexError, match="entity='column'"):
        bind(FORMULAS[0], ddf, entity=None, time="year")
    with pytest.raises(PanelIndexError, match="entity column 'nope'"):
        bind(FORMULAS[0], ddf, entity="nope", time="year")
    with pytest.raises(PanelIndexError, match="time column 'nope'"):
        bind(FORMULAS[0], ddf, entity="firm", time="nope")
    with pytest.raises(FormulaError, match="not in the data"):
        bind("y ~ x1 + missing", ddf, entity="firm", time="year")
    dup = frame.iloc[[10]]  # the copy lands in the last partition, the original in the first
    parts = dd.from_pandas(pd.concat([frame, dup]), npartitions=6, sort=False)
    src = bind(FORMULAS[0], parts, entity="firm", time="year")
    firm = int(dup["firm"].iloc[0])
    with pytest.raises(PanelIndexError, match=rf"Duplicate \(entity, time\) pairs.*firm={firm}"):
        _ = src.stats


def test_partitions_send_sums_per_cluster_not_rows(sync: None) -> None:
    """Each partition returns one row of score sums per cluster it holds: a column
    clustering with 7 levels sends at most 7 rows per partition to the client, and the
    sums of the partitions add up to the in-memory ones."""
    from panelre.stats import dask as dask_backend

    mem, lazy = pair(FORMULAS[1], make_panel(False))
    x, e = score_maps(mem.stats, mem.width)[1]  # entity demeaning: tables cut per partition
    maps = lazy.backend._maps(lazy.rows, (x, e))
    parts = lazy.rows.each(
        dask_backend._partition_scores, maps, ["region"], frozenset(), extra=["region"]
    )
    assert len(parts) == 6
    for _, _, _, (labels, sums) in parts:
        assert len(labels) == sums.shape[0] <= 7 < len(mem.rows.y) / 6
    total = pd.concat([pd.DataFrame(s, index=lab) for *_, (lab, s) in parts]).groupby(level=0)
    close(rows_sorted(mem.scores(x, e).score_sums("region")), rows_sorted(total.sum().to_numpy()))


# ------------------------------------------------------------------ distributed cluster
@pytest.mark.timeout(60)
@pytest.mark.parametrize("formula", FORMULAS)
def test_cluster_collect_and_scores(client: Any, formula: str) -> None:
    frame = make_panel(False)
    mem, lazy = pair(formula, frame, to_dask(frame, npartitions=6))
    check_stats(mem, lazy)
    check_incidence(mem, lazy)
    check_scores(mem, lazy, [1, 2] if formula == FORMULAS[0] else [0, 3])


@pytest.mark.timeout(60)
def test_cluster_first_differences_values_wide(client: Any) -> None:
    frame = make_panel(True, seed=7)
    mem, lazy = pair(FORMULAS[1], frame, to_dask(frame, npartitions=5))
    fm, fl = mem.first_differences(), lazy.first_differences()
    check_stats(fm, fl)
    check_scores(fm, fl, [3])
    x, e = score_maps(mem.stats, mem.width)[3]
    close(mem.wide(x), lazy.wide(x))
    a = mem.values(e, "r").sort_index().to_numpy()
    close(a, lazy.values(e, "r").compute().sort_index().to_numpy())
    keys = [str(k) for k in fl.rows.frame().__dask_graph__()]  # a task shuffle, never p2p
    assert any("taskshuffle" in k for k in keys) and not any("p2p" in k for k in keys)


def test_bind_makes_no_shuffle_under_a_distributed_client(client: Any) -> None:
    """With a distributed client alive, Dask picks its P2P shuffle for any shuffle; the
    periods and levels are tree reductions (``split_out=1``), so binding runs on the
    synchronous scheduler too, where a P2P shuffle fails."""
    with dask.config.set(scheduler="sync"):
        mem, lazy = pair(FORMULAS[0], make_panel(False))
    check_stats(mem, lazy)
