"""The array-API backend gives NumpyBackend's primitives (rtol 1e-12).

``array_api_strict`` runs everywhere (the generic segment-sum fallback: sort, segmented
doubling scan, take at the run ends); PyTorch on the CPU when it is installed (its
``index_add_`` hook); CuPy only with a GPU (``cupyx.scatter_add``).
"""

from __future__ import annotations

import warnings
from typing import Any

import array_api_strict as xps  # noqa: E402  (the test extra installs it: never skipped)
import numpy as np
import pandas as pd
import pytest
from array_api_compat import array_namespace

from panelre.exceptions import InvalidParameterError, PanelIndexError
from panelre.stats._base import PanelSource, PanelStats, RowMap
from panelre.stats.numpy import NumpyBackend
from panelre.stats.xp import ArrayAPIBackend, segment_sum

RTOL = 1e-12
FORMULA = "y ~ x1 + x2 + C(g)"


def make_panel(balanced: bool, seed: int = 0, n_entities: int = 40, n_periods: int = 6):
    """A seeded panel, rows shuffled; 25 % of the rows dropped when unbalanced."""
    rng = np.random.default_rng(seed)
    e = np.repeat(np.arange(n_entities), n_periods)
    t = np.tile(np.arange(n_periods), n_entities)
    if not balanced:
        keep = rng.random(e.size) < 0.75
        e, t = e[keep], t[keep]
    n = e.size
    alpha = rng.normal(size=n_entities)[e]
    x1 = rng.normal(size=n) + 0.5 * alpha
    x2 = rng.normal(size=n) + rng.normal(size=n_periods)[t]
    g = rng.choice(["a", "b", "c"], n)
    y = 3 + 0.5 * x1 - 0.3 * x2 + alpha + rng.normal(size=n) + (g == "b")
    frame = pd.DataFrame(
        {
            "firm": np.array([f"f{i:03d}" for i in range(n_entities)])[e],
            "year": 2000 + t,
            "y": y,
            "x1": x1,
            "x2": x2,
            "g": g,
            "cl": rng.integers(0, 25, n),
        }
    )
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def close(actual: Any, expected: Any) -> None:
    """Elementwise rtol 1e-12 (atol 1e-12 of the largest entry, for cancelled entries)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    scale = float(np.abs(expected).max(initial=1.0))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale)


def sources(backend: Any, data: pd.DataFrame, time: str | None = "year"):
    ref = NumpyBackend().bind(FORMULA, data, "firm", time)
    return ref, backend.bind(FORMULA, data, "firm", time)


def check_stats(ref: PanelStats, got: PanelStats) -> None:
    assert got.n == ref.n
    close(got.gram, ref.gram)
    close(got.total, ref.total)
    for dim in ("entity",) + (("time",) if ref.has_time else ()):
        a, b = ref.groups(dim), got.groups(dim)
        assert a.labels.equals(b.labels)
        close(b.counts, a.counts)
        close(b.sums, a.sums)
    assert got.is_balanced == ref.is_balanced


def maps(stats: PanelStats) -> list[tuple[RowMap, RowMap]]:
    """(regressors, residual) pairs: entity demeaning, period + entity tables, a selection."""
    rng = np.random.default_rng(1)
    p, N = stats.width, stats.n_entities
    coef = np.concatenate([[1.0], -rng.normal(size=p - 1)])  # not the LS fit: e'x ≠ 0
    demean = RowMap(np.eye(p), entity_table=stats.entity.means)
    pairs = [(demean.columns(range(1, p)), demean.times(coef))]
    if stats.has_time:
        T = stats.n_periods
        both = RowMap(rng.normal(size=(p, 3)), rng.normal(size=(T, 3)), rng.normal(size=(N, 3)))
        resid = RowMap(coef[:, None], rng.normal(size=(T, 1)), rng.normal(size=(N, 1)))
        pairs.append((both, resid))
    pairs.append((RowMap.select(p, [1, 2]), RowMap(coef[:, None])))
    return pairs


def check_scores(ref: PanelSource, got: PanelSource, clusters: list[Any]) -> None:
    for x, e in maps(ref.stats):
        a, b = ref.scores(x, e), got.scores(x, e)
        assert b.nobs == a.nobs
        close(b.resid_ss(), a.resid_ss())
        close(b.gradient(), a.gradient())
        close(b.score_outer(), a.score_outer())
        for cluster in clusters:
            close(b.score_sums(cluster), a.score_sums(cluster))


def check_all(backend: Any, data: pd.DataFrame) -> None:
    """Every primitive of ``backend`` against NumpyBackend on ``data``."""
    ref, got = sources(backend, data)
    assert (got.y_name, got.x_names) == (ref.y_name, ref.x_names)
    check_stats(ref.stats, got.stats)
    labels = np.random.default_rng(2).integers(0, 9, ref.stats.n)
    clusters = ["entity", "time", "cl", labels, ("entity", "time"), ("cl", "time")]
    check_scores(ref, got, clusters)
    for x, _ in maps(ref.stats):
        a, b = ref.values(x.columns([0]), "v"), got.values(x.columns([0]), "v")
        assert b.name == "v" and b.index.equals(a.index)
        close(b.to_numpy(), a.to_numpy())
        close(got.wide(x), ref.wide(x))
    fd_ref, fd_got = ref.first_differences(), got.first_differences()
    check_stats(fd_ref.stats, fd_got.stats)
    check_scores(fd_ref, fd_got, ["entity", "time", "cl"])
    close(fd_got.wide(RowMap.identity(fd_ref.width)), fd_ref.wide(RowMap.identity(fd_ref.width)))
    new = data.head(7)
    pd.testing.assert_frame_equal(got.regressors_for(new), ref.regressors_for(new))


STRICT = [
    pytest.param(lambda: ArrayAPIBackend("array_api_strict"), id="strict"),
    pytest.param(lambda: ArrayAPIBackend("array_api_strict", block_rows=37), id="blocks"),
    pytest.param(lambda: ArrayAPIBackend(xps), id="module"),
]


@pytest.mark.parametrize("make", STRICT)
@pytest.mark.parametrize("balanced", [True, False], ids=["balanced", "unbalanced"])
def test_primitives_equal_numpy(make: Any, balanced: bool) -> None:
    check_all(make(), make_panel(balanced))


def test_rows_stay_on_the_device() -> None:
    src = ArrayAPIBackend("array_api_strict").bind(FORMULA, make_panel(False), "firm", "year")
    rows = src.rows
    for arr in (rows.z, rows.entity, rows.time):
        assert array_namespace(arr) is xps
    assert rows.z.dtype == xps.float64 and rows.entity.dtype == xps.int64
    assert src.backend.name == "array_api_strict"


def test_without_time() -> None:
    data = make_panel(False)
    backend = ArrayAPIBackend("array_api_strict", block_rows=50)
    ref, got = sources(backend, data, time=None)
    check_stats(ref.stats, got.stats)
    assert got.stats.time is None and got.stats.incidence is None
    check_scores(ref, got, ["entity", "cl"])
    a, b = (
        ref.values(RowMap.select(ref.width, [0]), "y"),
        got.values(RowMap.select(ref.width, [0]), "y"),
    )
    assert b.index.equals(a.index)
    x, e = maps(ref.stats)[0]
    with pytest.raises(InvalidParameterError, match="needs time identifiers"):
        got.scores(x, e).score_sums("time")
    with pytest.raises(PanelIndexError, match="time identifier"):
        got.wide(x)


def test_cluster_errors_as_numpy() -> None:
    ref, got = sources(ArrayAPIBackend("array_api_strict"), make_panel(True))
    x, e = maps(ref.stats)[0]
    for bad in ["nope", np.arange(3)]:
        with pytest.raises(InvalidParameterError) as want:
            ref.scores(x, e).score_sums(bad)
        with pytest.raises(InvalidParameterError) as have:
            got.scores(x, e).score_sums(bad)
        assert str(have.value) == str(want.value)


@pytest.mark.parametrize("n_groups", [3, 40, 500])
def test_segment_sum_fallback(n_groups: int) -> None:
    """Sorted and unsorted codes, few and many groups, groups without rows."""
    rng = np.random.default_rng(n_groups)
    codes = rng.integers(0, n_groups, 1000)
    codes[codes == 1] = 2  # group 1 has no rows
    values = rng.normal(size=(1000, 3))
    want = np.column_stack(
        [np.bincount(codes, weights=values[:, j], minlength=n_groups) for j in range(3)]
    )
    for c in (codes, np.sort(codes)):
        v = values if c is codes else values[np.argsort(codes, kind="stable")]
        got = segment_sum(xps.asarray(v), xps.asarray(c), n_groups)
        close(np.from_dlpack(got), want)


def test_bad_names() -> None:
    with pytest.raises(InvalidParameterError, match="'cupy', 'torch'"):
        ArrayAPIBackend("jax")
    with pytest.raises(InvalidParameterError, match="block_rows"):
        ArrayAPIBackend("array_api_strict", block_rows=0)


@pytest.mark.parametrize(
    "fit, options",
    [
        ("fixed_effects", {}),
        ("random_effects", {}),
        ("fixed_effects", {"effects": "twoway"}),
        ("first_difference", {}),
    ],
)
def test_public_api_equal_numpy(fit: str, options: dict[str, Any]) -> None:
    """The estimators on the backend: the numpy estimates and clustered SEs."""
    import panelre as pr

    data = make_panel(False, n_entities=120)
    backend = ArrayAPIBackend("array_api_strict", block_rows=101)
    kwargs = {"entity": "firm", "time": "year", "cov": "cluster", **options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singleton entities: both backends warn alike
        ref = getattr(pr, fit)(FORMULA, data, backend="numpy", **kwargs)
        got = getattr(pr, fit)(FORMULA, data, backend=backend, **kwargs)
    np.testing.assert_allclose(got.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(got.std_errors, ref.std_errors, rtol=1e-10)


def test_torch_cpu() -> None:
    pytest.importorskip("torch")
    check_all(ArrayAPIBackend("torch", device="cpu"), make_panel(False))


def test_cupy_gpu() -> None:
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except cupy.cuda.runtime.CUDARuntimeError:
        pytest.skip("no CUDA device")
    for balanced in (True, False):
        check_all(ArrayAPIBackend("cupy"), make_panel(balanced))
