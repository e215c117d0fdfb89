"""Covariance inputs computed lazily with Dask: the three reductions of
``panelre.covariance.CovarianceInputs`` (``resid_ss``, ``score_outer``,
``score_sums``) without holding the rows.

Scores of the transformed regression are ``sᵣ = z*ᵣ[K] eᵣ`` with
``z* = (z − H[t]) − O[i]`` and ``e = z*·c`` for the coefficient vector
``c = (1, −β)`` over ``z = [y, x]``.

* ``score_sums("entity")`` needs no join: one group-by of ``aᵣ[K] αᵣ`` per entity
  (``a = z − H[t]``, ``α = a·c``; ``H`` is a small per-period table sent to every task),
  finished on the client with the per-entity sums of pass 1.
* every other reduction (robust, by period, Driscoll–Kraay, by a column, two-way) works
  on the row scores, which need ``O[i]`` on every row: a distributed hash join of the
  per-entity table (skipped when there is no entity table, e.g. pooled OLS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from panelre.covariance import CovarianceInputs
from panelre.dask.design import ENTITY, TIME
from panelre.dask.stats import PanelStats, Transform, entity_sums_of_a
from panelre.exceptions import InvalidParameterError

__all__ = ["Scorer", "DaskCovarianceInputs", "GramOnly"]

_OFFSET = "__o"


def _offsets(part: pd.DataFrame, cols: list[str], tr_time: Any, time_labels: Any) -> np.ndarray:
    z = part[cols].to_numpy(dtype=float)
    if tr_time is not None:
        z = z - tr_time[time_labels.get_indexer(part[TIME])]
    return z


def _entity_products(
    part: pd.DataFrame, cols: list[str], H: Any, tl: Any, coef: np.ndarray, kept: list[int]
) -> pd.DataFrame:
    a = _offsets(part, cols, H, tl)
    alpha = a @ coef
    prod = a[:, kept] * alpha[:, None]
    out = pd.DataFrame(prod, columns=[f"s{j}" for j in range(len(kept))])
    out.insert(0, ENTITY, part[ENTITY].to_numpy())
    return out


def _row_scores(
    part: pd.DataFrame,
    cols: list[str],
    H: Any,
    tl: Any,
    coef: np.ndarray,
    kept: list[int],
    keys: list[str],
) -> pd.DataFrame:
    zs = _offsets(part, cols, H, tl)
    ocols = [c for c in part.columns if c.startswith(_OFFSET)]
    if ocols:
        zs = zs - part[ocols].to_numpy(dtype=float)
    e = zs @ coef
    out = pd.DataFrame(zs[:, kept] * e[:, None], columns=[f"s{j}" for j in range(len(kept))])
    out["e2"] = e * e
    for key in keys:
        out[key] = part[key].to_numpy()
    return out


def _outer_row(part: pd.DataFrame, k: int) -> pd.DataFrame:
    s = part[[f"s{j}" for j in range(k)]].to_numpy(dtype=float)
    return pd.DataFrame([(s.T @ s).ravel()], columns=[f"o{i}" for i in range(k * k)])


@dataclass
class Scorer:
    """Lazy score reductions of one transformed regression (results are cached).

    Attributes
    ----------
    rows : callable
        ``rows(extra)`` returns the lazy regression rows (entity, time, z columns and the
        ``extra`` data columns).
    cols : list of str
        The z columns of those rows.
    stats : PanelStats
        Pass-1 statistics of the regression rows (for the entity-sum shortcut).
    transform : Transform
    coef : ndarray (p,)
        ``(1, −β)`` spread over z (0 for dropped columns).
    kept : list of int
        Positions in z of the estimated regressors.
    compute : callable
    names : (entity column, time column, data columns)
        The user's names, to resolve a cluster given as a column name.
    """

    rows: Callable[..., Any]
    cols: list[str]
    stats: PanelStats
    transform: Transform
    coef: np.ndarray
    kept: list[int]
    compute: Callable[..., Any]
    names: tuple[Any, Any, tuple[str, ...]] = (None, None, ())
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        """Number of estimated coefficients."""
        return len(self.kept)

    def _time_args(self) -> tuple[Any, Any]:
        H = self.transform.time_table
        return H, (self.stats.time_labels if H is not None else None)

    def entity_sums(self) -> np.ndarray:
        """Per-entity score sums (N, k), entities in sorted label order."""
        if "entity" in self.cache:
            return self.cache["entity"]
        rows = self.rows(())
        H, tl = self._time_args()
        meta = {ENTITY: rows._meta[ENTITY].dtype, **{f"s{j}": float for j in range(self.k)}}
        prods = rows.map_partitions(
            _entity_products, self.cols, H, tl, self.coef, self.kept, meta=meta
        )
        (res,) = self.compute(prods.groupby(ENTITY, observed=True).sum())
        st = self.stats
        sums = _align(res, st.entity_labels)
        O = self.transform.entity_table
        if O is not None:
            A = entity_sums_of_a(st, self.transform)
            c = st.counts("entity")
            delta = O @ self.coef
            alpha_sum = A @ self.coef
            K = self.kept
            sums = sums - delta[:, None] * A[:, K] - O[:, K] * alpha_sum[:, None]
            sums = sums + (c * delta)[:, None] * O[:, K]
        self.cache["entity"] = sums
        return sums

    def row_scores(self, keys: tuple[str, ...]) -> Any:
        """Lazy frame of the row scores ``s0..`` and ``e2`` plus the ``keys`` columns."""
        extra = tuple(k for k in keys if k not in (ENTITY, TIME))
        rows = self.rows(extra)
        O = self.transform.entity_table
        if O is not None:
            import dask.dataframe as dd

            table = pd.DataFrame(
                O,
                index=self.stats.entity_labels,
                columns=[f"{_OFFSET}{j}" for j in range(O.shape[1])],
            )
            table.index.name = ENTITY
            right = dd.from_pandas(table, npartitions=max(1, rows.npartitions))
            rows = rows.merge(right, left_on=ENTITY, right_index=True, how="left")
        H, tl = self._time_args()
        meta = {f"s{j}": float for j in range(self.k)}
        meta["e2"] = float
        for key in keys:
            meta[key] = rows._meta[key].dtype
        return rows.map_partitions(
            _row_scores, self.cols, H, tl, self.coef, self.kept, list(keys), meta=meta
        )

    def outer(self) -> np.ndarray:
        """``Σ sᵣ sᵣ'``."""
        if "outer" not in self.cache:
            k = self.k
            scores = self.row_scores(())
            meta = {f"o{i}": float for i in range(k * k)}
            (tot,) = self.compute(scores.map_partitions(_outer_row, k, meta=meta).sum())
            self.cache["outer"] = tot.to_numpy().reshape(k, k)
        return self.cache["outer"]

    def group_sums(self, key: str | tuple[str, str]) -> np.ndarray:
        """Score sums per group of a row column (or a pair of columns)."""
        if key == "entity":
            return self.entity_sums()
        if key in self.cache:
            return self.cache[key]
        keys = key if isinstance(key, tuple) else (key,)
        scores = self.row_scores(keys)
        cols = [f"s{j}" for j in range(self.k)]
        (res,) = self.compute(scores.groupby(list(keys), observed=True)[cols].sum())
        labels = {ENTITY: self.stats.entity_labels, TIME: self.stats.time_labels}
        if len(keys) == 1 and keys[0] in labels:
            out = _align(res, labels[keys[0]])
        else:
            out = res.sort_index().to_numpy(dtype=float)
        self.cache[key] = out
        return out


def _align(res: pd.DataFrame, labels: pd.Index) -> np.ndarray:
    """Sums in label order; absent groups before the last present one count as zero rows
    (as the in-memory ``bincount`` on codes does, e.g. first differences)."""
    present = labels.isin(res.index)
    last = int(np.flatnonzero(present).max()) + 1 if present.any() else 0
    return res.reindex(labels[:last]).fillna(0.0).to_numpy(dtype=float)


class GramOnly:
    """Stands for the (n, k) score sums of a clustering with one row per cluster: only its
    shape and its Gram product ``sums.T @ sums`` (the robust outer product) are available."""

    def __init__(self, n: int, gram: np.ndarray) -> None:
        self.shape = (n, gram.shape[0])
        self._gram = gram

    @property
    def T(self) -> GramOnly:  # noqa: N802 - mirrors ndarray.T
        return self

    def __matmul__(self, other: Any) -> np.ndarray:
        return self._gram


@dataclass(frozen=True)
class DaskCovarianceInputs(CovarianceInputs):
    """``CovarianceInputs`` whose reductions run on a Dask frame.

    ``X`` and ``resid`` are empty placeholders; clustering by an array is not available
    (pass the name of a column of the Dask frame instead).
    """

    scorer: Any = None
    n_rows: int = 0
    ssr: float = 0.0

    @property
    def nobs(self) -> int:
        """Rows of the transformed regression."""
        return self.n_rows

    @property
    def scores(self) -> np.ndarray:
        raise InvalidParameterError("Row-level scores are not held for Dask data.")

    def resid_ss(self) -> float:
        """``e'e`` from the transformed cross-products."""
        return self.ssr

    def score_outer(self) -> np.ndarray:
        """``Σ (xe)(xe)'`` by a lazy pass (with a join when entity offsets are needed)."""
        return self.scorer.outer()

    def score_sums(self, spec: Any) -> np.ndarray:
        """Per-cluster score sums for "entity", "time", a column name or a pair."""
        if isinstance(spec, tuple):
            keys = tuple(self._key(s) for s in spec)
            if set(keys) == {ENTITY, TIME}:  # unique pairs: one row per cluster
                return GramOnly(self.n_rows, self.scorer.outer())  # type: ignore[return-value]
            return self.scorer.group_sums(keys)
        key = self._key(spec)
        return self.scorer.group_sums("entity" if key == ENTITY else key)

    def _key(self, spec: Any) -> str:
        if isinstance(spec, str) and spec in ("entity", "time"):
            if spec == "time" and self.time_codes is None:
                raise InvalidParameterError(
                    "Clustering by 'time' needs time identifiers for this estimator's rows; "
                    "pass time='column' when you build the panel."
                )
            return ENTITY if spec == "entity" else TIME
        if isinstance(spec, str):
            entity, time, available = self.scorer.names
            if spec == entity:
                return ENTITY
            if spec == time and time is not None:
                return TIME
            if spec not in available:
                raise InvalidParameterError(
                    f"The 'cluster' parameter must be 'entity', 'time', a column name or an "
                    f"array. Got {spec!r}, which is not a column of the data."
                )
            return spec
        raise InvalidParameterError(
            "With Dask data, 'cluster' must be 'entity', 'time' or the name of a column of the "
            "Dask frame (an in-memory array cannot be aligned with the partitions)."
        )

    def cluster_codes(self, spec: Any) -> np.ndarray:
        raise InvalidParameterError("Cluster codes per row are not held for Dask data.")
