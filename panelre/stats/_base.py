"""The seam between the estimators and the backends: sufficient statistics and row maps.

Every panel estimator is written once, on three values defined here:

* ``PanelStats`` — what one pass over the rows of ``z = [y, x₁ … x_k]`` yields: the
  number of rows, ``Σ z z'``, ``Σ z``, and per entity and per period the counts and
  sums of z (plus, for two-way models, the entity x period observation pattern as an
  ``Incidence`` operator).
* ``RowMap`` — an affine map of the rows, ``z_r ↦ z_r L − H[t_r] − O[i_r]`` with small
  tables ``H`` (per period) and ``O`` (per entity). Demeaning, quasi-demeaning, the
  two-way transforms, residuals, Mundlak means and instruments are all row maps.
* ``ScoreReducer`` — the row-level reductions a covariance needs (``resid_ss``,
  ``score_outer``, ``score_sums``), computed by the backend where the rows live.

A ``Backend`` evaluates a formula where the data are (``bind``), collects the
statistics (``collect``), reduces scores (``scores``) and does the few row-level
operations some estimators need (``values``, ``first_differences``, ``wide``).
The estimators never see rows; ``panelre.stats.algebra`` turns statistics and row maps
into cross-products, so the same code runs on numpy, Dask and array-API devices.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from scipy import sparse

from panelre._weights import WeightSpec
from panelre.exceptions import InvalidParameterError, PanelIndexError

__all__ = [
    "Groups",
    "Incidence",
    "BalancedIncidence",
    "SparseIncidence",
    "PanelStats",
    "Weighting",
    "RowMap",
    "ClusterSpec",
    "ScoreReducer",
    "Backend",
    "PanelSource",
    "require_time",
    "column_selection",
    "require_time_clusters",
]

#: A clustering: "entity", "time", a data column name, an array with one value per
#: regression row, or a pair of these (their intersection, for two-way clustering).
ClusterSpec = Any


def require_time(has_time: bool, what: str) -> None:
    """Raise the usual error when a time identifier is needed but missing."""
    if not has_time:
        raise PanelIndexError(
            f"{what} need a time identifier: pass time='column' (or a MultiIndex panel)."
        )


def require_time_clusters(has_time: bool) -> None:
    """The error for clustering by ``"time"`` on rows without time identifiers."""
    if not has_time:
        raise InvalidParameterError(
            "Clustering by 'time' needs time identifiers for this estimator's rows; "
            "pass time='column' when you build the panel."
        )


def column_selection(idx: Sequence[int] | np.ndarray) -> list[int] | slice:
    """An index for the columns ``idx``: a slice (a view, no copy) when they are
    consecutive.

    Examples
    --------
    >>> column_selection([2, 3, 4]), column_selection([1, 3])
    (slice(2, 5, None), [1, 3])
    """
    idx = [int(i) for i in idx]
    if idx and idx == list(range(idx[0], idx[-1] + 1)):
        return slice(idx[0], idx[-1] + 1)
    return idx


class Groups:
    """One grouping of the rows (entities or periods).

    Parameters
    ----------
    labels : Index
        Group labels in sorted order.
    counts : ndarray (G,) or callable
        Rows per group (as floats), or a zero-argument callable that counts them on
        first use.
    sums : ndarray (G, p) or callable
        Sums of the columns of z per group, or a zero-argument callable that computes
        them on first use (a backend may skip a pass that a model does not need). With
        observation weights: the weighted sums ``Σ w z``.
    weights : ndarray (G,) or callable, optional
        Sum of the observation weights per group (the counts when unweighted): the
        denominators of the group means; a callable computes them on first use.
    """

    def __init__(
        self,
        labels: pd.Index,
        counts: np.ndarray | Callable[[], np.ndarray],
        sums: np.ndarray | Callable[[], np.ndarray],
        weights: np.ndarray | Callable[[], np.ndarray] | None = None,
    ) -> None:
        self.labels = labels
        self._counts = counts
        self._sums = sums
        self._weights = weights

    @cached_property
    def counts(self) -> np.ndarray:
        """Rows per group (as floats)."""
        c = self._counts
        return np.asarray(c() if callable(c) else c, dtype=float)

    @cached_property
    def weights(self) -> np.ndarray:
        """Sum of the observation weights per group (the counts when unweighted)."""
        w = self._weights
        if w is None:
            return self.counts
        return np.asarray(w() if callable(w) else w, dtype=float)

    @property
    def size(self) -> int:
        """Number of groups."""
        return len(self.labels)

    @cached_property
    def sums(self) -> np.ndarray:
        """Sums of z per group, shape (G, p)."""
        s = self._sums
        return np.asarray(s() if callable(s) else s, dtype=float)

    @cached_property
    def means(self) -> np.ndarray:
        """Group means of z (weighted means with observation weights), shape (G, p)."""
        return self.sums / self.weights[:, None]


@runtime_checkable
class Incidence(Protocol):
    """The N x T observation pattern ``F`` (``F_it = 1`` when entity i is seen in t).

    Only its products are needed, and only by two-way models on unbalanced panels.
    """

    def time_gram(self, weights: np.ndarray) -> np.ndarray:
        """``F' diag(weights) F``, shape (T, T)."""
        ...

    def to_time(self, table: np.ndarray) -> np.ndarray:
        """``F' table`` for an (N, m) entity table: shape (T, m)."""
        ...

    def to_entity(self, table: np.ndarray) -> np.ndarray:
        """``F table`` for a (T, m) period table: shape (N, m)."""
        ...


@dataclass(frozen=True)
class BalancedIncidence:
    """The incidence of a balanced panel: every entity in every period."""

    n_entities: int
    n_periods: int

    def time_gram(self, weights: np.ndarray) -> np.ndarray:
        """``F' diag(w) F`` = ``Σw`` in every cell."""
        return np.full((self.n_periods, self.n_periods), float(np.sum(weights)))

    def to_time(self, table: np.ndarray) -> np.ndarray:
        """Every period gets the column sums of the entity table."""
        return np.broadcast_to(table.sum(axis=0), (self.n_periods, table.shape[1])).copy()

    def to_entity(self, table: np.ndarray) -> np.ndarray:
        """Every entity gets the column sums of the period table."""
        return np.broadcast_to(table.sum(axis=0), (self.n_entities, table.shape[1])).copy()


class SparseIncidence:
    """An incidence held as a sparse N x T matrix, built on first use by ``matrix``."""

    def __init__(self, matrix: Callable[[], sparse.csr_matrix]) -> None:
        self._build = matrix

    @cached_property
    def matrix(self) -> sparse.csr_matrix:
        """``F`` (N x T)."""
        return sparse.csr_matrix(self._build())

    def time_gram(self, weights: np.ndarray) -> np.ndarray:
        """``F' diag(w) F``, from dense blocks of entities (a sparse-sparse product is
        several times slower for the usual T of panels)."""
        F = self.matrix
        T = F.shape[1]
        w = np.asarray(weights, dtype=float)
        out = np.zeros((T, T))
        step = max(1, 2**22 // max(T, 1))
        for start in range(0, F.shape[0], step):  # a loop over blocks of entities
            block = F[start : start + step].toarray()
            out += (block * w[start : start + step, None]).T @ block
        return out

    def to_time(self, table: np.ndarray) -> np.ndarray:
        """``F' table``."""
        return np.asarray(self.matrix.T @ table)

    def to_entity(self, table: np.ndarray) -> np.ndarray:
        """``F table``."""
        return np.asarray(self.matrix @ table)


@dataclass(frozen=True)
class Weighting:
    """Observation weights behind a ``PanelStats``.

    Attributes
    ----------
    kind : {"analytic", "frequency"}
    total : float
        ``Σ w``.
    unweighted : callable
        Returns the statistics of the same rows without weights (Stata's between and
        overall R² of weighted fits are unweighted); computed on first use.
    """

    kind: str
    total: float
    unweighted: Callable[[], PanelStats]


@dataclass(frozen=True)
class PanelStats:
    """Sufficient statistics of the rows of ``z = [y, x₁ … x_k]``.

    With observation weights ``w`` every sum is weighted (``Σ w z z'``, ``Σ w z``, group
    sums ``Σ w z`` and group weights ``Σ w``; the incidence holds ``Σ w`` per entity and
    period), so every map and cross-product below is its weighted version.

    Attributes
    ----------
    n : int
        Observations: rows, or ``Σ w`` with frequency weights.
    gram : ndarray (p, p)
        ``Σ z z'``.
    total : ndarray (p,)
        ``Σ z``.
    entity : Groups
    time : Groups or None
        None without a time identifier.
    incidence : Incidence or None
        The entity x period pattern (None without a time identifier); backends compute
        it lazily, on first use.
    weighting : Weighting or None
        The observation weights (None: unweighted).
    """

    n: int
    gram: np.ndarray
    total: np.ndarray
    entity: Groups
    time: Groups | None
    incidence: Incidence | None = None
    weighting: Weighting | None = None

    @property
    def mass(self) -> float:
        """``Σ w`` (the number of rows when unweighted): the denominator of means."""
        return float(self.n) if self.weighting is None else self.weighting.total

    @property
    def unweighted(self) -> PanelStats:
        """The statistics without weights (these statistics when unweighted)."""
        return self if self.weighting is None else self.weighting.unweighted()

    @property
    def width(self) -> int:
        """Number of columns p of z."""
        return int(self.total.shape[0])

    @property
    def n_entities(self) -> int:
        """N."""
        return self.entity.size

    @property
    def n_periods(self) -> int:
        """T (0 without a time identifier)."""
        return 0 if self.time is None else self.time.size

    @property
    def has_time(self) -> bool:
        """True when a time identifier was given."""
        return self.time is not None

    @property
    def is_balanced(self) -> bool:
        """Every entity observed in every period (equal counts without time)."""
        if self.time is None:
            c = self.entity.counts
            return bool((c == c[0]).all())
        return self.n == self.n_entities * self.n_periods

    def groups(self, dim: str) -> Groups:
        """The ``"entity"`` or ``"time"`` grouping."""
        if dim == "entity":
            return self.entity
        require_time(self.time is not None, f"{dim} effects")
        return self.time  # type: ignore[return-value]

    def pattern(self) -> Incidence:
        """The incidence operator (balanced unweighted panels need no pass over the rows)."""
        require_time(self.time is not None, "Two-way effects")
        if self.is_balanced and self.weighting is None:
            return BalancedIncidence(self.n_entities, self.n_periods)
        assert self.incidence is not None
        return self.incidence

    def fingerprint(self) -> tuple[float, ...]:
        """Numbers that identify the data behind the statistics (rows, entities, the
        response's sum and sum of squares), to check that two fits used the same data."""
        counts = self.entity.counts
        return (
            float(self.n),
            float(self.n_entities),
            float(counts @ np.arange(1, counts.size + 1)),
            float(self.total[0]),
            float(self.gram[0, 0]),
        )


@dataclass(frozen=True)
class RowMap:
    """Per-row values ``z_r L − H[t_r] − O[i_r]`` of the design's columns.

    Attributes
    ----------
    L : ndarray (p, m)
        Linear combination of the columns of z.
    time_table : ndarray (T, m) or None
        ``H``, subtracted by period.
    entity_table : ndarray (N, m) or None
        ``O``, subtracted by entity.

    Examples
    --------
    >>> m = RowMap.select(3, [1, 2])
    >>> m.width, m.L.tolist()
    (2, [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    """

    L: np.ndarray
    time_table: np.ndarray | None = None
    entity_table: np.ndarray | None = None

    @property
    def width(self) -> int:
        """Number of output columns m."""
        return int(self.L.shape[1])

    @staticmethod
    def select(p: int, columns: Sequence[int] | np.ndarray) -> RowMap:
        """The map that picks ``columns`` of z."""
        L = np.zeros((p, len(columns)))
        L[list(columns), np.arange(len(columns))] = 1.0
        return RowMap(L)

    @staticmethod
    def identity(p: int) -> RowMap:
        """z itself."""
        return RowMap(np.eye(p))

    def times(self, M: np.ndarray | Sequence[float]) -> RowMap:
        """Linear combinations ``(z L − H − O) M`` of the outputs."""
        arr = np.asarray(M, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        return RowMap(
            self.L @ arr,
            None if self.time_table is None else self.time_table @ arr,
            None if self.entity_table is None else self.entity_table @ arr,
        )

    def columns(self, idx: Sequence[int] | np.ndarray) -> RowMap:
        """The outputs ``idx`` (consecutive outputs: views of the tables, which no map
        writes to)."""
        sel = column_selection(idx)
        return RowMap(
            self.L[:, sel],
            None if self.time_table is None else self.time_table[:, sel],
            None if self.entity_table is None else self.entity_table[:, sel],
        )

    def then(self, outer: RowMap) -> RowMap:
        """``outer`` applied to the outputs of this map (a map of the original z)."""
        inner = self.times(outer.L)
        return RowMap(
            inner.L,
            _add(inner.time_table, outer.time_table),
            _add(inner.entity_table, outer.entity_table),
        )

    def minus(self, time_table: np.ndarray | None, entity_table: np.ndarray | None) -> RowMap:
        """This map with further period and entity tables subtracted."""
        return RowMap(
            self.L, _add(self.time_table, time_table), _add(self.entity_table, entity_table)
        )

    @staticmethod
    def hstack(maps: Sequence[RowMap]) -> RowMap:
        """Outputs of several maps side by side."""

        def stack(tables: list[np.ndarray | None]) -> np.ndarray | None:
            present = [t for t in tables if t is not None]
            if not present:
                return None
            rows = present[0].shape[0]
            return np.hstack(
                [np.zeros((rows, m.width)) if t is None else t for t, m in zip(tables, maps)]
            )

        return RowMap(
            np.hstack([m.L for m in maps]),
            stack([m.time_table for m in maps]),
            stack([m.entity_table for m in maps]),
        )


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


class ScoreReducer(Protocol):
    """Row-level reductions of one regression with regressors ``x = X(z)`` and residuals
    ``e = E(z)`` (both row maps), computed where the rows are.

    With observation weights ``w`` the scores are ``w x e``: ``resid_ss`` is ``Σ w e²``,
    ``gradient`` and ``score_sums`` sum ``w x e``, and ``score_outer`` is
    ``Σ w² (x e)(x e)'`` for analytic weights but ``Σ w (x e)(x e)'`` for frequency
    weights (a row that stands for w identical rows).
    """

    @property
    def nobs(self) -> int:
        """Observations of the regression (rows; ``Σ w`` with frequency weights)."""
        ...

    def resid_ss(self) -> float:
        """``Σ w e²``."""
        ...

    def gradient(self) -> np.ndarray:
        """``Σ w x e`` (zero at the least-squares solution; used to refine it)."""
        ...

    def score_outer(self) -> np.ndarray:
        """``Σ w² (x e)(x e)'`` (``Σ w (x e)(x e)'`` for frequency weights)."""
        ...

    def score_sums(self, cluster: ClusterSpec) -> np.ndarray:
        """Sums of ``w x e`` per cluster, shape (G, m), one row per cluster that has rows;
        periods in time order for ``"time"``."""
        ...


class Backend(Protocol):
    """Where the rows live and how the statistics are computed there."""

    name: str

    def bind(
        self,
        formula: str,
        data: Any,
        entity: Hashable | None,
        time: Hashable | None,
        weights: WeightSpec | None = None,
    ) -> PanelSource:
        """Evaluate ``formula`` (and the observation ``weights``) on ``data`` where the
        data are."""
        ...

    def collect(self, rows: Any) -> PanelStats:
        """One pass over the rows: the statistics of z."""
        ...

    def scores(self, rows: Any, regressors: RowMap, resid: RowMap) -> ScoreReducer:
        """The covariance reductions of a regression on the rows."""
        ...

    def values(self, rows: Any, rowmap: RowMap, name: str) -> Any:
        """The per-row values of a one-column map: a pandas Series indexed by (entity,
        time), or a lazy series on backends that do not collect rows."""
        ...

    def row_weights(self, rows: Any, name: str) -> Any:
        """The observation weights of the rows (indexed as ``values``), or None when
        unweighted."""
        ...

    def first_differences(self, rows: Any, intercept: int | None) -> Any:
        """Rows of differences of consecutive observations within entity (``intercept``:
        position in z of a column set to 1, the constant of the differenced equation).
        With analytic weights a difference weighs ``1/(1/wₜ + 1/wₜ₋₁)``, the precision of
        ``eₜ − eₜ₋₁``."""
        ...

    def wide(self, rows: Any, rowmap: RowMap) -> np.ndarray:
        """The (N, T, m) table of the map's values per entity and period (0 where the
        entity is not observed)."""
        ...

    def regressors_for(self, rows: Any, data: pd.DataFrame) -> pd.DataFrame:
        """The formula's right-hand side evaluated on new in-memory data."""
        ...

    def estimation_data(self, rows: Any) -> pd.DataFrame | None:
        """The data rows of the fit (after dropping missing values) as an in-memory
        frame, or None when the backend keeps them elsewhere (Dask, device arrays)."""
        ...

    def required_variables(self, rows: Any) -> list[str]:
        """The data columns the formula's right-hand side uses."""
        ...


@dataclass(frozen=True, eq=False)
class PanelSource:
    """A formula bound to data on a backend: what every estimator works with.

    Attributes
    ----------
    backend : Backend
    rows : object
        The backend's handle on the rows (opaque to the estimators).
    y_name : str
    x_names : list of str
        Regressor names (``Intercept`` first when present).
    formula : str
    entity_name, time_name : hashable
        The user's identifier columns (``time_name`` None without time).
    columns_map : RowMap or None
        For a derived source (e.g. a design augmented with entity means): the map from
        the rows' own ``z`` to this source's columns. Statistics, scores and values of the
        derived columns are computed through it; no row is rewritten.
    weight_type : {"analytic", "frequency"} or None
        The kind of observation weights (None: unweighted).
    """

    backend: Backend
    rows: Any
    y_name: str
    x_names: list[str]
    formula: str
    entity_name: Hashable
    time_name: Hashable | None
    columns_map: RowMap | None = None
    weight_type: str | None = None
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def row_stats(self) -> PanelStats:
        """The statistics of the rows' own ``z`` (collected once, shared with derived
        sources)."""
        if "stats" not in self._shared:
            self._shared["stats"] = self.backend.collect(self.rows)
        return self._shared["stats"]

    @property
    def stats(self) -> PanelStats:
        """The statistics of this source's columns ``z = [y, x]``."""
        if self.columns_map is None:
            return self.row_stats
        if "stats" not in self._cache:
            from panelre.stats.algebra import derive

            self._cache["stats"] = derive(self.row_stats, self.columns_map)
        return self._cache["stats"]

    @property
    def width(self) -> int:
        """Columns of z."""
        return 1 + len(self.x_names)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per source (transforms and cross-products that several
        estimators or tests on the same data share)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @property
    def has_intercept(self) -> bool:
        """True when the formula has an ``Intercept`` column."""
        return "Intercept" in self.x_names

    def slope_positions(self) -> list[int]:
        """Positions in z of the regressors other than the intercept."""
        return [1 + j for j, n in enumerate(self.x_names) if n != "Intercept"]

    def _on_rows(self, rowmap: RowMap) -> RowMap:
        return rowmap if self.columns_map is None else self.columns_map.then(rowmap)

    def derived(
        self, columns: RowMap, x_names: Sequence[str], y_name: str | None = None
    ) -> PanelSource:
        """A source whose ``z`` is ``columns`` applied to this source's ``z`` (the first
        output is the response, the others are named ``x_names``)."""
        return PanelSource(
            self.backend,
            self.rows,
            self.y_name if y_name is None else y_name,
            list(x_names),
            self.formula,
            self.entity_name,
            self.time_name,
            columns_map=self._on_rows(columns),
            weight_type=self.weight_type,
            _shared=self._shared,
        )

    def scores(self, regressors: RowMap, resid: RowMap) -> ScoreReducer:
        """Row reductions of a regression (see ``ScoreReducer``)."""
        return self.backend.scores(self.rows, self._on_rows(regressors), self._on_rows(resid))

    def values(self, rowmap: RowMap, name: str) -> Any:
        """Per-row values of a one-column map."""
        return self.backend.values(self.rows, self._on_rows(rowmap), name)

    def wide(self, rowmap: RowMap) -> np.ndarray:
        """Entity x period table of a map's values."""
        return self.backend.wide(self.rows, self._on_rows(rowmap))

    def row_weights(self, name: str) -> Any:
        """The rows' observation weights as a (lazy) Series, or None when unweighted."""
        return self.backend.row_weights(self.rows, name)

    def first_differences(self) -> PanelSource:
        """The source of first differences (an intercept stays as the constant)."""
        if self.columns_map is not None:
            raise NotImplementedError("First differences of a derived source.")
        if "fd" not in self._shared:
            pos = 1 + self.x_names.index("Intercept") if self.has_intercept else None
            self._shared["fd"] = PanelSource(
                self.backend,
                self.backend.first_differences(self.rows, pos),
                self.y_name,
                self.x_names,
                self.formula,
                self.entity_name,
                self.time_name,
                weight_type=self.weight_type,
            )
        return self._shared["fd"]

    def regressors_for(self, data: pd.DataFrame) -> pd.DataFrame:
        """The formula's right-hand side on new data (same coding)."""
        return self.backend.regressors_for(self.rows, data)

    def estimation_data(self) -> pd.DataFrame | None:
        """The fit's data rows in memory, or None when the backend does not hold them."""
        return self.backend.estimation_data(self.rows)

    def required_variables(self) -> list[str]:
        """The data columns the formula's right-hand side uses."""
        return self.backend.required_variables(self.rows)
