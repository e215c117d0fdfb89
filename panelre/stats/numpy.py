"""The in-memory backend: pandas/polars data, numpy arrays, integer group codes.

Group sums are ``np.add.reduceat`` over sorted runs or one ``np.bincount`` per column
(``panelre.panel``); row maps are evaluated one output column at a time into reused
buffers, so no n x k temporary is made unless a covariance needs the full score matrix.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from panelre._weights import WeightSpec
from panelre.exceptions import InvalidParameterError
from panelre.formula import Design, build_design, required_variables
from panelre.panel import PanelData, as_panel, sorted_run_starts, to_pandas
from panelre.stats._base import (
    ClusterSpec,
    Groups,
    PanelSource,
    PanelStats,
    RowMap,
    SparseIncidence,
    Weighting,
    require_time_clusters,
)

__all__ = [
    "NumpyBackend",
    "NumpyScores",
    "panel_incidence",
    "design_source",
    "host_source",
    "row_index",
    "weighted_panel",
]


def row_index(panel: PanelData) -> pd.Index:
    """Labels for the rows of a panel: (entity, time) MultiIndex, or entity labels."""
    if panel.time_labels is not None and panel.time_codes is not None:
        return pd.MultiIndex.from_arrays(
            [panel.entity_labels[panel.entity_codes], panel.time_labels[panel.time_codes]],
            names=[str(panel.entity), str(panel.time)],
        )
    return pd.Index(panel.entity_labels[panel.entity_codes], name=str(panel.entity))


def panel_incidence(panel: PanelData, weights: np.ndarray | None = None) -> SparseIncidence:
    """The entity x period incidence of ``panel`` as a sparse matrix built on first use
    (with observation ``weights``, each cell holds the weight of its row)."""

    def matrix() -> sparse.csr_matrix:
        data = np.ones(panel.nobs) if weights is None else weights
        shape = (panel.n_entities, panel.n_periods)
        return sparse.csr_matrix((data, (panel.entity_codes, panel.time_codes)), shape=shape)

    return SparseIncidence(matrix)


def _z_column(design: Design, weights: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``z @ weights`` for ``z = [y, X]`` (a view when ``weights`` picks one column)."""
    nz = np.flatnonzero(weights)
    if nz.size == 1 and weights[nz[0]] == 1.0:
        j = int(nz[0])
        return design.y if j == 0 else design.X[:, j - 1]
    if nz.size > 2:  # one BLAS matrix-vector product for the regressors
        np.dot(design.X, weights[1:], out=out)
        if weights[0] != 0.0:
            out += weights[0] * design.y
        return out
    out[:] = 0.0
    for j in map(int, nz):  # a loop over columns
        col = design.y if j == 0 else design.X[:, j - 1]
        out += weights[j] * col
    return out


def evaluate(design: Design, rowmap: RowMap, j: int, out: np.ndarray) -> np.ndarray:
    """Output column ``j`` of ``rowmap`` on the rows of ``design`` (written into ``out``)."""
    p = design.panel
    base = _z_column(design, rowmap.L[:, j], out)
    tables = [
        (rowmap.time_table, p.time_codes),
        (rowmap.entity_table, p.entity_codes),
    ]
    if base is not out and any(t is not None for t, _ in tables):
        np.copyto(out, base)
        base = out
    buffer = None
    for table, codes in tables:
        if table is None or codes is None:
            continue
        if buffer is None:
            buffer = np.empty(out.shape[0])
        np.take(np.ascontiguousarray(table[:, j]), codes, out=buffer, mode="clip")
        np.subtract(base, buffer, out=base)
    return base


def evaluate_all(design: Design, rowmap: RowMap) -> np.ndarray:
    """Every output column of ``rowmap``: an (n, m) array."""
    n = design.y.shape[0]
    out = np.empty((n, rowmap.width), order="F")
    for j in range(rowmap.width):  # a loop over columns
        col = evaluate(design, rowmap, j, out[:, j])
        if col is not out[:, j]:
            out[:, j] = col
    return out


def cluster_codes(panel: PanelData, spec: ClusterSpec) -> tuple[np.ndarray, int]:
    """Integer codes 0..G-1 per row for a clustering, and G."""
    if isinstance(spec, tuple):
        a, ga = cluster_codes(panel, spec[0])
        b, gb = cluster_codes(panel, spec[1])
        uniq, inverse = np.unique(a * gb + b, return_inverse=True)
        return inverse.astype(np.int64), int(uniq.size)
    if isinstance(spec, str) and spec in ("entity", "time"):
        require_time_clusters(spec == "entity" or panel.time_codes is not None)
        return panel.codes(spec), panel.n_groups(spec)
    if isinstance(spec, str):
        if spec not in panel.frame.columns:
            raise InvalidParameterError(
                "The 'cluster' parameter must be 'entity', 'time', a column name or an "
                f"array. Got {spec!r}, which is not a column of the data."
            )
        values = panel.frame[spec]
    else:
        values = pd.Series(np.asarray(spec))
        if len(values) != panel.nobs:
            raise InvalidParameterError(
                "A 'cluster' array needs one value per observation used in estimation "
                f"({panel.nobs}). Got {len(values)} values."
            )
    if values.isna().any():
        raise InvalidParameterError("The cluster variable has missing values.")
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), len(uniques)


def _equal_runs(starts: Any, n: int) -> int | None:
    """The common length of the sorted runs starting at ``starts`` (a balanced panel in
    entity order), or None."""
    if starts is None or len(starts) == 0 or n % len(starts):
        return None
    run = n // len(starts)
    return run if np.array_equal(starts, np.arange(0, n, run)) else None


def _group_sum(values: np.ndarray, codes: np.ndarray, n_groups: int, starts: Any) -> np.ndarray:
    if starts is not None:
        return np.add.reduceat(values, starts)
    return np.bincount(codes, weights=values, minlength=n_groups)


def design_nobs(design: Design) -> int:
    """Observations of a design: rows, or ``Σ w`` with frequency weights."""
    if design.weight_type == "frequency":
        return int(round(float(design.weights.sum())))  # type: ignore[union-attr]
    return int(design.y.shape[0])


class NumpyScores:
    """Score reductions of one regression on in-memory rows (weighted scores ``w x e``
    with observation weights)."""

    def __init__(self, design: Design, regressors: RowMap, resid: RowMap) -> None:
        self._design = design
        self._x = regressors
        self._e = resid

    @property
    def nobs(self) -> int:
        """Observations of the regression."""
        return design_nobs(self._design)

    @property
    def _rows(self) -> int:
        return int(self._design.y.shape[0])

    @cached_property
    def resid(self) -> np.ndarray:
        """The residuals ``e`` per row."""
        out = np.empty(self._rows)
        col = evaluate(self._design, self._e, 0, out)
        return col if col is out else col.copy()

    @cached_property
    def weighted_resid(self) -> np.ndarray:
        """``w e`` (``e`` when unweighted)."""
        w = self._design.weights
        if w is None:
            return self.resid
        if "resid" in self.__dict__:
            return w * self.resid
        out = np.empty(self._rows)
        col = evaluate(self._design, self._e, 0, out)
        return np.multiply(col, w, out=out)

    def resid_ss(self) -> float:
        """``Σ w e²``."""
        return float(self.weighted_resid @ self.resid)

    def _columns(self) -> Any:
        buffer = np.empty(self._rows)
        for j in range(self._x.width):  # a loop over columns
            yield evaluate(self._design, self._x, j, buffer)

    def gradient(self) -> np.ndarray:
        """``Σ w x e``."""
        e = self.weighted_resid
        return np.array([float(col @ e) for col in self._columns()])

    def score_outer(self) -> np.ndarray:
        """``Σ w² (x e)(x e)'`` (``Σ w (x e)(x e)'`` for frequency weights)."""
        d = self._design
        factor = self.weighted_resid
        if d.weight_type == "frequency":
            factor = np.sqrt(d.weights) * self.resid  # type: ignore[arg-type]
        S = np.empty((self._rows, self._x.width), order="F")
        for j, col in enumerate(self._columns()):
            np.multiply(col, factor, out=S[:, j])
        return S.T @ S

    def score_sums(self, cluster: ClusterSpec) -> np.ndarray:
        """Sums of ``w x e`` per cluster (G, m)."""
        panel = self._design.panel
        codes, n_groups = cluster_codes(panel, cluster)
        if isinstance(cluster, str) and cluster in ("entity", "time"):
            starts = panel.run_starts(cluster)  # computed once per panel
        else:
            starts = None
            if codes.size and bool((codes[1:] >= codes[:-1]).all()):
                starts = sorted_run_starts(codes)
        own = {"entity": self._x.entity_table, "time": self._x.time_table}
        other = {"entity": self._x.time_table, "time": self._x.entity_table}
        e = self.weighted_resid
        buffer = np.empty(self._rows)
        # the full entity x period grid in (entity, time) order: e is an N x T table E
        grid = isinstance(cluster, str) and cluster == "entity" and panel.is_grid
        if isinstance(cluster, str) and cluster in own and (other[cluster] is None or grid):
            # Σ_g (z L − O_g) e = (Σ_g z e) L − O_g Σ_g e: only the z columns L uses (on the
            # grid the period table adds − Σ_t H[t] e_gt = − (E H)_g)
            L = self._x.L
            used = np.flatnonzero(np.abs(L).sum(axis=1))
            zsum = np.empty((n_groups, used.size), order="F")  # contiguous columns
            run = _equal_runs(starts, e.shape[0])
            for i, j in enumerate(map(int, used)):  # a loop over columns
                col = self._design.y if j == 0 else self._design.X[:, j - 1]
                if run is not None and col.flags.c_contiguous and e.flags.c_contiguous:
                    # groups of equal size in row order: Σ col·e per group, no product array
                    zsum[:, i] = np.einsum("gt,gt->g", col.reshape(-1, run), e.reshape(-1, run))
                    continue
                np.multiply(col, e, out=buffer)
                zsum[:, i] = _group_sum(buffer, codes, n_groups, starts)
            out = zsum @ L[used]
            table = own[cluster]
            if table is not None:
                out -= table * _group_sum(e, codes, n_groups, starts)[:, None]
            if other[cluster] is not None:
                out -= np.reshape(e, (n_groups, -1)) @ other[cluster]
            return out
        out = np.empty((n_groups, self._x.width))
        for j, col in enumerate(self._columns()):
            np.multiply(col, e, out=buffer)
            out[:, j] = _group_sum(buffer, codes, n_groups, starts)
        return out


class NumpyBackend:
    """Data in memory: pandas or polars frames, a ``PanelData``."""

    name = "numpy"

    def bind(
        self,
        formula: str,
        data: Any,
        entity: Hashable | None,
        time: Hashable | None,
        weights: WeightSpec | None = None,
    ) -> PanelSource:
        """Build the design matrices (and weights) in memory."""
        design = build_design(formula, *weighted_panel(data, entity, time, weights))
        return design_source(self, design, design)

    def collect(self, rows: Design) -> PanelStats:
        """Cross-products by BLAS, group sums by sorted runs or ``bincount``."""
        if rows.weights is None:
            return _collect(rows, None)
        w = rows.weights
        kind = rows.weight_type
        assert kind is not None
        unweighted = cache(lambda: _collect(rows, None))  # one pass, on first use
        weighting = Weighting(kind, float(w.sum()), unweighted)
        return _collect(rows, weighting)

    def scores(self, rows: Design, regressors: RowMap, resid: RowMap) -> NumpyScores:
        """Reductions on the in-memory rows."""
        return NumpyScores(rows, regressors, resid)

    def values(self, rows: Design, rowmap: RowMap, name: str) -> pd.Series:
        """A Series indexed by (entity, time)."""
        out = np.empty(rows.y.shape[0])
        col = evaluate(rows, rowmap, 0, out)
        return pd.Series(col if col is out else col.copy(), index=row_index(rows.panel), name=name)

    def row_weights(self, rows: Design, name: str) -> pd.Series | None:
        """The weights, indexed by (entity, time)."""
        if rows.weights is None:
            return None
        return pd.Series(rows.weights, index=row_index(rows.panel), name=name)

    def first_differences(self, rows: Design, intercept: int | None) -> Design:
        """Differences of consecutive rows within entity, on the later row's index."""
        p = rows.panel
        both = np.column_stack([rows.y, rows.X])
        diffs, later = p.first_difference(both)
        if intercept is not None:
            diffs[:, intercept] = 1.0
        panel = PanelData(p.frame.iloc[later], p.entity, p.time)
        weights = None
        if rows.weights is not None:
            if rows.weight_type != "analytic":
                raise InvalidParameterError(
                    "First differences take analytic weights only: frequency weights repeat "
                    "rows, and repeated (entity, time) rows have no first differences."
                )
            inverse = 1.0 / rows.weights
            step = p.first_difference(inverse[:, None])[0][:, 0]  # 1/wₜ − 1/wₜ₋₁
            weights = 1.0 / (2.0 * inverse[later] - step)
        return Design(
            y=np.ascontiguousarray(diffs[:, 0]),
            X=np.asfortranarray(diffs[:, 1:]),
            y_name=rows.y_name,
            x_names=rows.x_names,
            panel=panel,
            formula=rows.formula,
            n_missing=rows.n_missing,
            rhs_spec=rows.rhs_spec,
            weights=weights,
            weight_type=rows.weight_type,
        )

    def wide(self, rows: Design, rowmap: RowMap) -> np.ndarray:
        """(N, T, m) values per entity and period."""
        p = rows.panel
        out = np.zeros((p.n_entities, p.n_periods, rowmap.width))
        out[p.entity_codes, p.time_codes] = evaluate_all(rows, rowmap)
        return out

    def regressors_for(self, rows: Design, data: pd.DataFrame) -> pd.DataFrame:
        """The right-hand side on new data."""
        return rows.regressors_for(data)

    def estimation_data(self, rows: Design) -> pd.DataFrame | None:
        """The fit's rows of the user's data."""
        return rows.panel.frame

    def required_variables(self, rows: Design) -> list[str]:
        """The columns the right-hand side uses."""
        return required_variables(rows.rhs_spec, rows.x_names)


def weighted_panel(
    data: Any, entity: Hashable | None, time: Hashable | None, weights: WeightSpec | None
) -> tuple[PanelData, Hashable | None, str]:
    """The panel, the weights' column and their kind (an array of weights is put in a
    column of a new frame before any row is dropped, so every row keeps its weight)."""
    if weights is None or weights.column is not None:
        kind = "analytic" if weights is None else weights.kind
        return as_panel(data, entity, time), None if weights is None else weights.column, kind
    if isinstance(data, PanelData):
        frame, column = weights.attach(data.frame)
        return PanelData(frame, data.entity, data.time), column, weights.kind
    frame, column = weights.attach(to_pandas(data))
    return PanelData(frame, entity, time), column, weights.kind


def _collect(rows: Design, weighting: Weighting | None) -> PanelStats:
    """The statistics of a design, weighted by its weights when ``weighting`` is given
    (one column ``w z_j`` at a time in a reused buffer: no n x p temporary)."""
    p = rows.panel
    y, X = rows.y, rows.X
    w = None if weighting is None else rows.weights
    k = X.shape[1]
    gram = np.empty((k + 1, k + 1))
    # the constant of the plain-column path: its sums are the row counts
    ones = rows.x_names.index("Intercept") if _built_intercept(rows) else None
    if w is None:
        gram[0, 0] = float(y @ y)
        xy = X.T @ y
        gram[0, 1:] = xy
        gram[1:, 0] = xy
        gram[1:, 1:] = X.T @ X
        if ones is not None and gram[ones + 1, ones + 1] != y.shape[0]:
            ones = None  # not a column of ones after all (Σ 1·1 is exactly n)
        if ones is None:
            total = np.concatenate([[y.sum()], X.sum(axis=0)])
        else:  # Σ 1·z: the constant's row of the cross-products
            total = gram[ones + 1].copy()
    else:  # one column w z_j at a time; the entity sums ride along (every estimator
        # needs them); the upper triangle of the gram from the columns X is F-ordered in
        total = np.empty(k + 1)
        entity_sums = np.empty((p.n_entities, k + 1))
        for j, wz in enumerate(_weighted_columns(rows)):  # a loop over columns
            total[j] = wz.sum()
            if j == 0:
                gram[0, 0] = float(wz @ y)
            gram[j, max(j, 1) :] = X[:, max(j, 1) - 1 :].T @ wz
            entity_sums[:, j] = p.group_sums(wz, "entity")
        gram = np.triu(gram) + np.triu(gram, 1).T

    def unweighted_sums(dim: str) -> np.ndarray:
        out = np.empty((p.n_groups(dim), k + 1), order="F")  # contiguous columns
        out[:, 0] = p.group_sums(y, dim)
        for j in range(k):  # a loop over columns
            out[:, j + 1] = p.group_counts(dim) if j == ones else p.group_sums(X[:, j], dim)
        return out

    def sums(dim: str) -> Any:
        if w is None:
            return lambda: unweighted_sums(dim)
        if dim == "entity":
            return entity_sums
        return lambda: np.column_stack(
            [p.group_sums(wz, dim) for wz in _weighted_columns(rows)]  # a loop over columns
        )

    def groups(labels: pd.Index, dim: str) -> Groups:
        counts = (lambda: p.group_counts(dim)) if dim == "time" else p.group_counts(dim)
        mass = None if w is None else (lambda: p.group_sums(w, dim))
        return Groups(labels, counts, sums(dim), mass)

    time = None
    incidence = None
    if p.time_codes is not None:
        time = groups(p.time_labels, "time")  # type: ignore[arg-type]
        incidence = panel_incidence(p, w)
    n = p.nobs if weighting is None or weighting.kind == "analytic" else round(weighting.total)
    return PanelStats(n, gram, total, groups(p.entity_labels, "entity"), time, incidence, weighting)


def _built_intercept(rows: Design) -> bool:
    """The design's "Intercept" column is the constant ``build_design`` wrote (plain
    columns: a data column of that name is never taken as a plain term)."""
    return rows.rhs_spec is None and "Intercept" in rows.x_names


def _weighted_columns(rows: Design) -> Any:
    """``w y``, then ``w x_j`` for each regressor, in one reused buffer (consume each
    before asking for the next)."""
    w = rows.weights
    assert w is not None
    buffer = np.empty(rows.y.shape[0])
    yield np.multiply(rows.y, w, out=buffer)
    for j in range(rows.X.shape[1]):  # a loop over columns
        yield np.multiply(rows.X[:, j], w, out=buffer)


def design_source(backend: Any, rows: Any, design: Design) -> PanelSource:
    """The ``PanelSource`` of an in-memory ``design`` whose rows ``backend`` holds as
    ``rows`` (the design itself, or a copy on a device)."""
    return PanelSource(
        backend=backend,
        rows=rows,
        y_name=design.y_name,
        x_names=list(design.x_names),
        formula=design.formula,
        entity_name=design.panel.entity,
        time_name=design.panel.time,
        weight_type=design.weight_type,
    )


def host_source(
    y: np.ndarray,
    X: np.ndarray,
    *,
    y_name: str,
    x_names: list[str],
    entity_labels: pd.Index,
    entity_name: Hashable,
    formula: str,
    weights: np.ndarray | None = None,
    weight_type: str | None = None,
) -> PanelSource:
    """A small in-memory source with one row per entity (e.g. the between regression's
    entity means, which every backend holds on the host), with optional weights."""
    frame = pd.DataFrame({entity_name: np.asarray(entity_labels)})
    panel = PanelData(frame, entity=entity_name)
    design = Design(
        y=np.asarray(y, dtype=float),
        X=np.asfortranarray(X, dtype=float),
        y_name=y_name,
        x_names=list(x_names),
        panel=panel,
        formula=formula,
        weights=weights,
        weight_type=None if weights is None else (weight_type or "analytic"),
    )
    return design_source(NumpyBackend(), design, design)
