"""Sufficient statistics of a Dask panel, and the algebra built on them.

Pass 1 (``collect_stats``) is one ``dask.compute`` of group-by aggregations: the
cross-product matrix ``Z'Z`` of ``z = [y, x]``, per-entity counts and sums, per-period
counts and sums, and the check for duplicate (entity, time) pairs. What comes back is
O(entities x k). Two-way models add per-entity bit patterns of the periods observed
(``collect_patterns``, ⌈T/62⌉ integers per entity) from which the entity-time
incidence products are formed in chunks.

Every estimator's transformed regression is ``z* = (z − H[t]) − O[i]`` for a per-period
table ``H`` and a per-entity table ``O`` (pooled: neither; within: ``O = āᵢ``; random
effects: ``O = θᵢ z̄ᵢ``; time effects and two-way: ``H``). ``transformed_gram`` gives
``Z*'Z*`` and the column sums of ``z*`` from the pass-1 statistics alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from panelre.dask.design import ENTITY, TIME, DaskDesign, warn_missing
from panelre.exceptions import InsufficientDataError, PanelIndexError

__all__ = ["PanelStats", "Transform", "collect_stats", "collect_patterns", "transformed_gram"]

_BITS = 62  # periods per pattern word (sums of distinct powers of two stay below 2**62)


@dataclass(frozen=True)
class PanelStats:
    """Pass-1 statistics of ``z = [y, x₁ … x_k]`` (``p = k + 1`` columns).

    Attributes
    ----------
    n : int
        Rows used.
    gram : ndarray (p, p)
        ``Σ z z'``.
    total : ndarray (p,)
        ``Σ z``.
    entity_labels : Index; entity_counts : (N,); entity_sums : (N, p)
    time_labels : Index or None; time_counts : (T,) or None; time_sums : (T, p) or None
    patterns : ndarray (N, W) of int64 or None
        Bit ``t % 62`` of word ``t // 62`` is set when the entity is observed in period t.
    n_source, n_missing_index, n_missing : int
        Rows of the frame, rows dropped for a missing identifier, and for a missing value.
    """

    n: int
    gram: np.ndarray
    total: np.ndarray
    entity_labels: pd.Index
    entity_counts: np.ndarray
    entity_sums: np.ndarray
    time_labels: pd.Index | None
    time_counts: np.ndarray | None
    time_sums: np.ndarray | None
    n_source: int = 0
    n_missing_index: int = 0
    n_missing: int = 0
    patterns: np.ndarray | None = None

    @property
    def n_entities(self) -> int:
        """N."""
        return len(self.entity_labels)

    @property
    def n_periods(self) -> int:
        """T (0 without a time identifier)."""
        return 0 if self.time_labels is None else len(self.time_labels)

    @property
    def is_balanced(self) -> bool:
        """Every entity observed in every period (equal counts without time)."""
        if self.time_labels is None:
            c = self.entity_counts
            return bool((c == c[0]).all())
        return self.n == self.n_entities * self.n_periods

    def counts(self, dim: str) -> np.ndarray:
        """Observations per group of ``dim`` as floats."""
        c = self.entity_counts if dim == "entity" else self.time_counts
        return np.asarray(c, dtype=float)

    def sums(self, dim: str) -> np.ndarray:
        """Group sums of z for ``dim``."""
        return self.entity_sums if dim == "entity" else self.time_sums  # type: ignore[return-value]

    def means(self, dim: str) -> np.ndarray:
        """Group means of z for ``dim``."""
        return self.sums(dim) / self.counts(dim)[:, None]

    def labels(self, dim: str) -> pd.Index:
        """Group labels of ``dim``."""
        return self.entity_labels if dim == "entity" else self.time_labels  # type: ignore[return-value]

    def require_time(self, what: str) -> None:
        """Raise when there is no time identifier."""
        if self.time_labels is None:
            raise PanelIndexError(
                f"{what} need a time identifier: pass time='column' (or a MultiIndex panel)."
            )

    def within_gram(self, dim: str = "entity") -> np.ndarray:
        """``Σ (z − z̄_g)(z − z̄_g)'`` for groups of ``dim``."""
        s, c = self.sums(dim), self.counts(dim)
        return self.gram - (s / c[:, None]).T @ s


# ------------------------------------------------------------------------ pass 1
def _gram_row(part: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    z = part[cols].to_numpy(dtype=float)
    values = np.concatenate([[float(len(z))], z.sum(axis=0), (z.T @ z).ravel()])
    return pd.DataFrame([values], columns=[f"g{i}" for i in range(len(values))])


def _missing_row(part: pd.DataFrame, entity: Any, time: Any, used: list[str]) -> pd.DataFrame:
    ok = part[entity].notna()
    if time is not None:
        ok &= part[time].notna()
    na = part[used].isna().any(axis=1) & ok if used else ok & False
    return pd.DataFrame({"n": [len(part)], "index": [int((~ok).sum())], "na": [int(na.sum())]})


def _grouped(rows: Any, key: str, cols: list[str]) -> Any:
    frame = rows[[key, *cols]].assign(__one=1.0)
    return frame.groupby(key, observed=True, dropna=True).sum()


def _unpack_groups(frame: pd.DataFrame, cols: list[str]) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    frame = frame.sort_index()
    counts = np.rint(frame["__one"].to_numpy()).astype(np.int64)
    return frame.index, counts, frame[cols].to_numpy(dtype=float)


def collect_stats(design: DaskDesign, compute: Callable[..., Any]) -> PanelStats:
    """Pass 1: one ``compute`` of the cross-products and the group sums.

    Raises
    ------
    PanelIndexError
        Duplicate (entity, time) pairs (anywhere in the frame).
    InsufficientDataError
        No rows left.
    """
    rows = design.rows()
    cols = design.columns
    p = len(cols)
    meta_g = pd.DataFrame({f"g{i}": pd.Series([], dtype=float) for i in range(1 + p + p * p)})
    gram = rows.map_partitions(_gram_row, cols, meta=meta_g).sum()
    missing = design.source.map_partitions(
        _missing_row,
        design.entity,
        design.time,
        design.used,
        meta={"n": "int64", "index": "int64", "na": "int64"},
    ).sum()
    todo = [gram, missing, _grouped(rows, ENTITY, cols)]
    if design.time is not None:
        todo.append(_grouped(rows, TIME, cols))
        pairs = rows.groupby([ENTITY, TIME], observed=True).size(split_out=rows.npartitions)
        todo.append(pairs.max())
    out = compute(*todo)
    g, miss = out[0].to_numpy(), out[1]
    n = int(round(g[0]))
    if n == 0:
        raise InsufficientDataError("No rows are left after removing missing values.")
    warn_missing(int(miss["index"]), int(miss["na"]), int(miss["n"]), design.used)
    e_lab, e_cnt, e_sum = _unpack_groups(out[2], cols)
    t_lab = t_cnt = t_sum = None
    if design.time is not None:
        t_lab, t_cnt, t_sum = _unpack_groups(out[3], cols)
        if int(out[4]) > 1:
            _raise_duplicates(rows, design, compute)
    return PanelStats(
        n=n,
        gram=g[1 + p :].reshape(p, p),
        total=g[1 : 1 + p],
        entity_labels=pd.Index(e_lab, name=design.entity),
        entity_counts=e_cnt,
        entity_sums=e_sum,
        time_labels=None if t_lab is None else pd.Index(t_lab, name=design.time),
        time_counts=t_cnt,
        time_sums=t_sum,
        n_source=int(miss["n"]),
        n_missing_index=int(miss["index"]),
        n_missing=int(miss["na"]),
    )


def _raise_duplicates(rows: Any, design: DaskDesign, compute: Callable[..., Any]) -> None:
    sizes = rows.groupby([ENTITY, TIME], observed=True).size(split_out=rows.npartitions)
    dup = sizes[sizes > 1]
    n_dup, first = compute(dup.count(), dup.head(1, npartitions=-1, compute=False))
    e, t = first.index[0]
    raise PanelIndexError(
        f"Duplicate (entity, time) pairs: {int(n_dup)} pair(s) occur more than once, "
        f"e.g. ({design.entity}={_plain(e)!r}, {design.time}={_plain(t)!r}). Each entity may be "
        "observed at most once per period; aggregate or fix the time column."
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# ------------------------------------------------------------------------ patterns
def _pattern_rows(part: pd.DataFrame, time_labels: pd.Index, words: int) -> pd.DataFrame:
    codes = time_labels.get_indexer(part[TIME])
    out = {ENTITY: part[ENTITY].to_numpy()}
    for w in range(words):
        inside = (codes // _BITS) == w
        out[f"w{w}"] = np.where(inside, np.left_shift(1, codes % _BITS), 0).astype(np.int64)
    return pd.DataFrame(out)


def collect_patterns(design: DaskDesign, stats: PanelStats, compute: Any) -> PanelStats:
    """Per-entity bit patterns of the observed periods (for two-way models)."""
    stats.require_time("Two-way effects")
    if stats.patterns is not None:
        return stats
    words = -(-stats.n_periods // _BITS)
    rows = design.rows()
    meta = {ENTITY: rows._meta[ENTITY].dtype, **{f"w{w}": "int64" for w in range(words)}}
    frame = rows.map_partitions(_pattern_rows, stats.time_labels, words, meta=meta)
    (res,) = compute(frame.groupby(ENTITY, observed=True).sum())
    res = res.reindex(stats.entity_labels)
    return replace(stats, patterns=res.to_numpy(dtype=np.int64))


def _decode(patterns: np.ndarray, T: int) -> np.ndarray:
    bits = np.arange(T)
    return ((patterns[:, bits // _BITS] >> (bits % _BITS)) & 1).astype(float)


def incidence(
    stats: PanelStats,
    weights: np.ndarray | None = None,
    right: np.ndarray | None = None,
    table: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Products with the N x T incidence F (Fᵢₜ = 1 when i is observed in t).

    Returns ``F' diag(weights) F`` (T x T), ``F' right`` (T x m) and ``F table`` (N x m),
    each None when its argument is None; entities are decoded in chunks.
    """
    if stats.patterns is None:
        raise PanelIndexError("Two-way statistics need the period patterns (internal error).")
    N, T = stats.n_entities, stats.n_periods
    ftwf = np.zeros((T, T)) if weights is not None else None
    ftr = np.zeros((T, right.shape[1])) if right is not None else None
    ft = np.zeros((N, table.shape[1])) if table is not None else None
    step = max(1, 4_000_000 // max(T, 1))
    for start in range(0, N, step):  # a loop over chunks of entities
        sl = slice(start, min(N, start + step))
        F = _decode(stats.patterns[sl], T)
        if ftwf is not None:
            ftwf += (F * weights[sl, None]).T @ F  # type: ignore[index]
        if ftr is not None:
            ftr += F.T @ right[sl]  # type: ignore[index]
        if ft is not None:
            ft[sl] = F @ table
    return ftwf, ftr, ft


# ------------------------------------------------------------------------ transforms
@dataclass(frozen=True)
class Transform:
    """``z* = (z − time_table[t]) − entity_table[i]``; either table may be None."""

    time_table: np.ndarray | None = None
    entity_table: np.ndarray | None = None


def entity_sums_of_a(stats: PanelStats, tr: Transform) -> np.ndarray:
    """Per-entity sums of ``a = z − H[t]``."""
    if tr.time_table is None:
        return stats.entity_sums
    if stats.time_labels is not None and stats.is_balanced and stats.patterns is None:
        return stats.entity_sums - tr.time_table.sum(axis=0)
    return stats.entity_sums - incidence(stats, table=tr.time_table)[2]  # type: ignore[operator]


def transformed_gram(stats: PanelStats, tr: Transform) -> tuple[np.ndarray, np.ndarray]:
    """``Z*'Z*`` and the column sums of ``z*`` (no pass over the rows).

    Notes
    -----
    With ``a = z − H[t]``: ``A'A = Z'Z − Σₜ (Sₜ Hₜ' + Hₜ Sₜ') + Σₜ cₜ Hₜ Hₜ'`` and
    ``Z*'Z* = A'A − Σᵢ (Aᵢ Oᵢ' + Oᵢ Aᵢ') + Σᵢ cᵢ Oᵢ Oᵢ'`` with ``Aᵢ`` the entity sums of a.
    """
    gram, total = stats.gram, stats.total
    H, O = tr.time_table, tr.entity_table
    if H is not None:
        S, c = stats.time_sums, stats.counts("time")
        cross = S.T @ H  # type: ignore[union-attr]
        gram = gram - cross - cross.T + (H * c[:, None]).T @ H
        total = total - c @ H
    if O is not None:
        A = entity_sums_of_a(stats, tr)
        c = stats.counts("entity")
        cross = A.T @ O
        gram = gram - cross - cross.T + (O * c[:, None]).T @ O
        total = total - c @ O
    return (gram + gram.T) / 2, total


def gram_of_rows(rows: Any, cols: list[str], compute: Callable[..., Any]) -> tuple[int, Any, Any]:
    """``n``, ``Σz`` and ``Σzz'`` of a lazy frame's ``cols`` (one pass)."""
    p = len(cols)
    meta = pd.DataFrame({f"g{i}": pd.Series([], dtype=float) for i in range(1 + p + p * p)})
    (g,) = compute(rows.map_partitions(_gram_row, cols, meta=meta).sum())
    g = g.to_numpy()
    return int(round(g[0])), g[1 : 1 + p], g[1 + p :].reshape(p, p)
