"""The Dask backend: the statistics seam on a ``dask.dataframe`` frame.

Every pass is one ``map_partitions`` over the lazy design rows and tree reductions
(``sum``, ``groupby(...).sum(split_out=1)``): only O(groups x columns) comes back to
the client. The entity and period tables of a ``RowMap`` reach the rows by broadcast
(one ``dask.delayed`` object per pass; label positions by a lookup array or
``Index.get_indexer``), never by a join. First differences shuffle the rows by entity
with the task-based shuffle, or not at all when the divisions keep entities whole.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from dask.dataframe.utils import make_meta

from panelre._weights import WeightSpec
from panelre.exceptions import InsufficientDataError, InvalidParameterError
from panelre.panel import (
    check_identifier_columns,
    duplicate_pairs_error,
    keyed_sums,
    sorted_run_starts,
)
from panelre.stats._base import (
    ClusterSpec,
    Groups,
    Incidence,
    PanelSource,
    PanelStats,
    RowMap,
    SparseIncidence,
    Weighting,
    require_time,
    require_time_clusters,
)
from panelre.stats._dask_rows import (
    ENTITY,
    TIME,
    WEIGHT,
    RowSpec,
    bind_spec,
    cast,
    complete_rows,
    design_rows,
    missing_counts,
    partition_rows,
    warn_missing,
    zcols,
)

__all__ = ["DaskBackend", "DaskIncidence", "DaskRows", "DaskScores", "Positions", "read_panel"]

_BITS = 62  # periods per pattern word (sums of distinct powers of two stay below 2**62)


def read_panel(
    path: Any, *, entity: Hashable, time: Hashable | None = None, **read_options: Any
) -> Any:
    """Open Parquet files (a file, directory or glob, local or remote) lazily as a Dask
    frame; ``entity``/``time`` are checked against the schema now, ``read_options`` go to
    ``dask.dataframe.read_parquet``."""
    import dask.dataframe as dd

    frame = dd.read_parquet(path, **read_options)
    check_identifier_columns(entity, time, frame.columns, repr(path))
    return frame


@dataclass(frozen=True)
class Positions:
    """Label -> position in the sorted ``labels``: a lookup array for integer labels in
    a compact range, else ``Index.get_indexer``."""

    labels: pd.Index
    low: int = 0
    lookup: np.ndarray | None = None

    @staticmethod
    def of(labels: pd.Index) -> Positions:
        """The positions of ``labels``."""
        if len(labels) and pd.api.types.is_integer_dtype(labels.dtype):
            lo, hi = int(labels.min()), int(labels.max())
            if hi - lo <= 4 * len(labels) + 1000:
                lookup = np.full(hi - lo + 1, -1, dtype=np.int64)
                lookup[labels.to_numpy(dtype=np.int64) - lo] = np.arange(len(labels))
                return Positions(labels, lo, lookup)
        return Positions(labels)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        if self.lookup is None:
            return self.labels.get_indexer(pd.Index(values))
        return self.lookup[np.asarray(values, dtype=np.int64) - self.low]


@dataclass(frozen=True)
class _Maps:
    """Row maps evaluated together on a partition (sent once to the workers)."""

    maps: tuple[RowMap, ...]
    p: int
    entity: Positions | None = None
    time: Positions | None = None
    weight_type: str | None = None

    def weights(self, part: pd.DataFrame) -> np.ndarray | None:
        """The rows' observation weights (None when unweighted)."""
        return None if self.weight_type is None else part[WEIGHT].to_numpy(dtype=float)

    def scores(self, part: pd.DataFrame) -> np.ndarray:
        """``v`` for one map; ``[x e, e]`` for the pair (regressors, residual)."""
        z = part[zcols(self.p)].to_numpy(dtype=float)
        ie = None if self.entity is None else self.entity(part[ENTITY].to_numpy())
        it = None if self.time is None else self.time(part[TIME].to_numpy())
        out = []
        for m in self.maps:  # a loop over the (one or two) maps
            identity = m.L.shape[0] == m.L.shape[1] and np.array_equal(m.L, np.eye(self.p))
            tables = m.time_table is not None or m.entity_table is not None
            v = (z.copy() if tables or len(self.maps) > 1 else z) if identity else z @ m.L
            if m.time_table is not None:
                v -= m.time_table[it]
            if m.entity_table is not None:
                v -= m.entity_table[ie]
            out.append(v)
        return out[0] if len(out) == 1 else np.hstack([out[0] * out[1], out[1]])


def _apply(frame: Any, func: Callable[..., Any], *args: Any) -> Any:
    """``frame.map_partitions(func, *args)``, the maps and positions sent once."""
    import dask

    meta = func(make_meta(frame), *args)
    sent = [dask.delayed(a, pure=True) if isinstance(a, (_Maps, Positions)) else a for a in args]
    return frame.map_partitions(func, *sent, meta=meta, enforce_metadata=False)


def _presum(keys: np.ndarray, values: np.ndarray, name: str) -> pd.DataFrame:
    """Row counts (``__one``) and column sums of ``values`` per key within one partition,
    so the reduction that combines the partitions starts from one row per group."""
    uniques, counts, sums = keyed_sums(keys, values)
    out = pd.DataFrame(sums, columns=[f"v{j}" for j in range(values.shape[1])], copy=False)
    out.insert(0, "__one", counts.astype(float))
    out.insert(0, name, uniques)
    return out


def _group_part(part: pd.DataFrame, key: str, weighted: bool, z: np.ndarray) -> pd.DataFrame:
    """Counts and sums of the partition's z per key; weighted: ``[Σ w z, Σ w, Σ z]``."""
    if weighted:
        w = part[WEIGHT].to_numpy(dtype=float)
        z = np.column_stack([z * w[:, None], w, z])
    return _presum(part[key].to_numpy(), z, key)


def _moments(part: pd.DataFrame, maps: _Maps, z: np.ndarray | None = None) -> pd.DataFrame:
    """``[rows, Σv, Σvv']`` of the map's values (one map: z; a pair: ``[x e, e]``). With
    weights ``w``: ``Σ w v`` and ``Σ w vv'`` for one map, then ``Σw``, ``Σv``, ``Σvv'``
    (the unweighted statistics); for a pair ``Σ w v``, ``Σ a² vv'`` with ``a = w`` (``√w``
    for frequency weights) and ``Σ w e²`` in the last cell. ``z``: the partition's z
    columns when already extracted (one map, the identity)."""
    v = maps.scores(part) if z is None else z
    w = maps.weights(part)
    if w is None:
        gram = np.empty((v.shape[1], v.shape[1]))  # as in memory: X'X, X'y and y'y
        gram[1:, 1:] = v[:, 1:].T @ v[:, 1:]
        gram[0, :] = gram[:, 0] = v.T @ v[:, 0]
        out = np.concatenate([[float(len(v))], v.sum(axis=0), gram.ravel()])
    elif len(maps.maps) == 1:
        wv = v * w[:, None]
        out = np.concatenate(
            [[float(len(v))], wv.sum(axis=0), (wv.T @ v).ravel(), [w.sum()], v.sum(axis=0),
             (v.T @ v).ravel()]
        )  # fmt: skip
    else:
        a = w if maps.weight_type == "analytic" else np.sqrt(w)
        av = v * a[:, None]
        gram = av.T @ av
        gram[-1, -1] = float(w @ (v[:, -1] ** 2))
        out = np.concatenate([[float(len(v))], (v * w[:, None]).sum(axis=0), gram.ravel()])
    return pd.DataFrame([out], columns=[f"m{i}" for i in range(out.size)])


def _keyed(part: pd.DataFrame, maps: _Maps, keys: list[Hashable]) -> pd.DataFrame:
    v = maps.scores(part)
    w = maps.weights(part)
    out = pd.DataFrame(v if w is None else v * w[:, None])
    out.columns = [f"v{j}" for j in range(out.shape[1])]
    for k in keys:
        if part[k].isna().any():
            raise InvalidParameterError("The cluster variable has missing values.")
        out.insert(0, k, part[k].to_numpy())  # type: ignore[arg-type]
    return out


def _keyed_alpha(part: pd.DataFrame, maps: _Maps) -> pd.DataFrame:
    """Per entity ``[Σ z_used α, Σ α, Σ α²]`` (weighted ``Σ w ·``) for the maps
    ``(select(used), α = z·c)``: one float copy of z, each product written into a column
    of one Fortran-ordered array (contiguous for the sums)."""
    select, alpha_map = maps.maps
    z = part[zcols(maps.p)].to_numpy(dtype=float)
    alpha = z @ alpha_map.L[:, 0]
    used = np.argmax(select.L, axis=0)
    out = np.empty((len(z), len(used) + 2), order="F")
    for i, j in enumerate(used):  # a loop over columns
        np.multiply(z[:, j], alpha, out=out[:, i])
    out[:, -2] = alpha
    np.multiply(alpha, alpha, out=out[:, -1])
    w = maps.weights(part)
    if w is not None:
        out *= w[:, None]
    return _presum(part[ENTITY].to_numpy(), out, ENTITY)


def _pattern_words(part: pd.DataFrame, periods: Positions) -> pd.DataFrame:
    """Per entity of the partition, the sum of ``2^(t % 62)`` over its rows in each word
    (exact integer sums: a period seen twice carries into another bit, which the
    duplicate check then finds)."""
    keys = part[ENTITY].to_numpy()
    codes = periods(part[TIME].to_numpy())
    if not (keys.dtype.kind in "iu" and bool((keys[1:] >= keys[:-1]).all())):
        order = np.argsort(pd.factorize(keys)[0], kind="stable")
        keys, codes = keys[order], codes[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, int)
    out = pd.DataFrame({ENTITY: keys[starts]})
    bits = np.left_shift(np.int64(1), codes % _BITS)
    for w in range(-(-len(periods.labels) // _BITS)):  # a loop over ⌈T/62⌉ words
        word = np.where(codes // _BITS == w, bits, 0).astype(np.int64)
        out[f"__w{w}"] = np.add.reduceat(word, starts) if keys.size else word[:0]
    return out


def _partition_stats(
    part: pd.DataFrame, identity: _Maps, periods: Positions | None, keys: tuple[str, ...]
) -> tuple[np.ndarray, list[pd.DataFrame], pd.DataFrame | None]:
    """Everything ``collect`` reads from one partition, from one float copy of z: the
    moments, the sums per entity (and period), and the period patterns per entity."""
    z = part[zcols(identity.p)].to_numpy(dtype=float)
    moments = _moments(part, identity, z).to_numpy(dtype=float)[0]
    weighted = identity.weight_type is not None
    groups = [_group_part(part, key, weighted, z) for key in keys]
    words = None if periods is None else _pattern_words(part, periods)
    return moments, groups, words


def _source_stats(
    part: pd.DataFrame,
    spec: RowSpec,
    identity: _Maps,
    periods: Positions | None,
    keys: tuple[str, ...],
) -> tuple[np.ndarray, list[pd.DataFrame], pd.DataFrame | None, pd.DataFrame]:
    """``_partition_stats`` of the design rows of a partition of the user's frame, and
    its missing-row counts, from one read of the partition."""
    kept = complete_rows(part, spec)
    stats = _partition_stats(partition_rows(part, spec, (), kept), identity, periods, keys)
    return (*stats, missing_counts(part, spec, kept))  # fmt: skip


def _differences(
    part: pd.DataFrame, p: int, intercept: int | None, extra: list[str]
) -> pd.DataFrame:
    part = part.sort_values([ENTITY, TIME], kind="stable")
    ent = part[ENTITY].to_numpy()
    same = np.flatnonzero(ent[1:] == ent[:-1])
    z = part[zcols(p)].to_numpy(dtype=float)
    dz = z[1:][same] - z[:-1][same]
    if intercept is not None:
        dz[:, intercept] = 1.0  # the constant of the differenced equation
    later = part.iloc[1:].iloc[same]
    out = pd.DataFrame({ENTITY: later[ENTITY].to_numpy(), TIME: later[TIME].to_numpy()})
    out[zcols(p)] = dz
    if WEIGHT in part.columns:  # the precision of eₜ − eₜ₋₁: 1/(1/wₜ + 1/wₜ₋₁)
        inverse = 1.0 / part[WEIGHT].to_numpy(dtype=float)
        out[WEIGHT] = 1.0 / (inverse[1:][same] + inverse[:-1][same])
    for c in extra:
        out[c] = later[c].to_numpy()
    return out


def _group_sums(frame: Any, keys: list[Hashable]) -> Any:
    """The partitions' (pre-aggregated) frames, combined on the client by ``_combined``:
    a group-by tree over millions of entities would gather them on one worker instead."""
    return frame.to_delayed()


def _combined(parts: list[pd.DataFrame], keys: list[Hashable]) -> pd.DataFrame:
    """Sums per key (sorted) over the computed partitions of ``_group_sums``; one key by
    sorted runs (no work when the partitions hold disjoint, ordered key ranges)."""
    frame = pd.concat(parts, ignore_index=True)
    if len(keys) > 1:
        return frame.groupby(keys, observed=True, sort=True).sum()
    values = frame.drop(columns=keys)
    k = frame[keys[0]].to_numpy()
    if not (k.size < 2 or bool((k[1:] > k[:-1]).all())):  # exact sums in the columns' dtype
        order = np.argsort(k, kind="stable")
        k = k[order]
        starts = sorted_run_starts(k)
        summed = np.add.reduceat(values.to_numpy()[order], starts, axis=0)
        values, k = pd.DataFrame(summed, columns=values.columns), k[starts]
    return values.set_axis(pd.Index(k, name=keys[0]))


@dataclass(frozen=True, eq=False)
class DaskRows:
    """The Dask backend's handle on the rows of a ``PanelSource``: the user's frame, the
    formula spec, the frame's columns (clusters may name them), whether each entity lies
    in one partition, the periods seen at bind time (for the duplicate check) and, for
    first differences, the rows differenced and the position of the constant."""

    source: Any
    spec: RowSpec
    columns: tuple[Hashable, ...]
    by_entity: bool
    periods: pd.Index | None = None
    base: DaskRows | None = None
    intercept: int | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def p(self) -> int:
        """Columns of z."""
        return self.spec.width

    @property
    def weight_type(self) -> str | None:
        """The kind of observation weights (None: unweighted)."""
        return self.spec.weight_type

    def frame(self, extra: Sequence[Hashable] = ()) -> Any:
        """The lazy rows: entity, time, the z columns and the ``extra`` data columns."""
        extra = [c for c in dict.fromkeys(extra) if c not in (ENTITY, TIME)]
        if self.base is None:
            return design_rows(self.source, self.spec, extra)  # type: ignore[arg-type]
        rows = self.base.frame(extra)
        if not self.base.by_entity:
            rows = rows.shuffle(on=ENTITY, shuffle_method="tasks")
        return _apply(rows, _differences, self.p, self.intercept, extra)


class DaskIncidence:
    """The entity x period incidence from per-entity bit patterns of the periods
    (⌈T/62⌉ integers per entity, collected on first use), decoded in chunks."""

    def __init__(
        self,
        rows: DaskRows,
        entities: pd.Index,
        periods: pd.Index,
        words: Any = None,
        bits: np.ndarray | None = None,
    ) -> None:
        self._rows, self._entities, self._periods, self._words = rows, entities, periods, words
        self._bits = np.arange(len(periods)) if bits is None else bits

    @cached_property
    def patterns(self) -> np.ndarray:
        """Bit ``t % 62`` of word ``t // 62`` is set when the entity is seen in period t."""
        if self._words is None:
            import dask

            words = _apply(self._rows.frame(), _pattern_words, Positions.of(self._periods))
            (parts,) = dask.compute(_group_sums(words, [ENTITY]))
            self._words = _combined(parts, [ENTITY])
        return self._words.reindex(self._entities).to_numpy(dtype=np.int64)

    def _chunks(self) -> Any:
        N, T = len(self._entities), len(self._periods)
        bits = self._bits
        step = max(1, 4_000_000 // max(T, 1))
        for start in range(0, N, step):  # a loop over chunks of entities
            sl = slice(start, min(N, start + step))
            yield sl, ((self.patterns[sl][:, bits // _BITS] >> (bits % _BITS)) & 1).astype(float)

    def time_gram(self, weights: np.ndarray) -> np.ndarray:
        """``F' diag(weights) F``."""
        w = np.asarray(weights, dtype=float)
        T = len(self._periods)
        return sum(((F * w[sl, None]).T @ F for sl, F in self._chunks()), np.zeros((T, T)))

    def to_time(self, table: np.ndarray) -> np.ndarray:
        """``F' table``."""
        start = np.zeros((len(self._periods), table.shape[1]))
        return sum((F.T @ table[sl] for sl, F in self._chunks()), start)

    def to_entity(self, table: np.ndarray) -> np.ndarray:
        """``F table``."""
        return np.vstack([F @ table for _, F in self._chunks()])


class DaskScores:
    """Score reductions of one regression on a Dask frame (cached; the totals
    ``Σe²``, ``Σxe`` and ``Σ(xe)(xe)'`` ride along with the first pass)."""

    def __init__(self, backend: DaskBackend, rows: DaskRows, x: RowMap, e: RowMap) -> None:
        self._backend, self._rows, self._x, self._e = backend, rows, x, e
        self._cache: dict[Any, Any] = {}

    @property
    def nobs(self) -> int:
        """Rows of the regression."""
        return self._backend.collect(self._rows).n

    def _compute(self, frame: Any, *todo: Any, ride: bool = True) -> list[Any]:
        import dask

        first = ride and "totals" not in self._cache
        if first:
            maps = self._backend._maps(self._rows, (self._x, self._e))
            todo = (*todo, _apply(frame, _moments, maps).sum().to_delayed())
        out = list(dask.compute(*todo))  # every item a (list of) delayed object(s)
        if first:
            self._cache["totals"] = out.pop()[0].to_numpy(dtype=float)
        return out

    def _totals(self) -> tuple[np.ndarray, np.ndarray]:
        if "totals" not in self._cache:
            self._compute(self._rows.frame())
        m = self._x.width
        t = self._cache["totals"]
        return t[1 : 1 + m], t[2 + m :].reshape(m + 1, m + 1)

    def resid_ss(self) -> float:
        """``Σ e²``."""
        if "entity_ss" not in self._cache and self._no_period_tables():
            self.score_sums("entity")  # one group-by, no table sent to the rows
        if "entity_ss" in self._cache:
            return float(self._cache["entity_ss"])
        return float(self._totals()[1][-1, -1])

    def _no_period_tables(self) -> bool:
        return self._x.time_table is None and self._e.time_table is None

    def gradient(self) -> np.ndarray:
        """``Σ x e``."""
        if ("sums", ENTITY) in self._cache and "totals" not in self._cache:
            return self._cache[("sums", ENTITY)].sum(axis=0)
        return self._totals()[0]

    def score_outer(self) -> np.ndarray:
        """``Σ (x e)(x e)'``."""
        return self._totals()[1][:-1, :-1]

    def _key(self, spec: Any) -> Hashable:
        names = self._rows.spec
        if not isinstance(spec, str) and (hasattr(spec, "__len__") or hasattr(spec, "dask")):
            raise InvalidParameterError(
                "With Dask data, 'cluster' must be 'entity', 'time' or the name of a column of "
                "the Dask frame (an in-memory array cannot be aligned with the partitions)."
            )
        require_time_clusters(spec != "time" or names.time is not None)
        known = {names.time: TIME, names.entity: ENTITY, "entity": ENTITY, "time": TIME}
        if spec not in known and spec not in self._rows.columns:
            raise InvalidParameterError(
                "The 'cluster' parameter must be 'entity', 'time' or the name of a column of "
                f"the Dask frame. Got {spec!r}, which is not a column of the data."
            )
        return known.get(spec, spec)

    def score_sums(self, cluster: ClusterSpec) -> np.ndarray:
        """Sums of ``x e`` per cluster (G, m); periods in time order for ``"time"``."""
        specs = cluster if isinstance(cluster, tuple) else (cluster,)
        keys = list(dict.fromkeys(self._key(c) for c in specs))
        key = ("sums", *keys)
        if key in self._cache:
            return self._cache[key]
        rows, x, e = self._rows, self._x, self._e
        frame, m = rows.frame(keys), x.width
        own = {ENTITY: (x.entity_table, x.time_table), TIME: (x.time_table, x.entity_table)}
        if keys == [ENTITY] and self._no_period_tables():
            out = self._entity_sums(frame)
        elif set(keys) == {ENTITY, TIME}:  # unique (entity, time) pairs: a cluster per row
            maps = self._backend._maps(rows, (x, e))
            (parts,) = self._compute(frame, _apply(frame, _keyed, maps, []).to_delayed())
            out = pd.concat(parts).to_numpy(dtype=float)[:, :m]
        elif len(keys) == 1 and keys[0] in own and own[keys[0]][1] is None:
            # Σ_g (z L − O_g) e = (Σ_g z e) L − O_g Σ_g e: group sums of z·e, no x table
            used = np.flatnonzero(np.abs(x.L).sum(axis=1))
            maps = self._backend._maps(rows, (RowMap.select(rows.p, used), e))
            res = self._sorted(frame, _apply(frame, _keyed, maps, keys), keys)
            out = res[:, :-1] @ x.L[used]
            if own[keys[0]][0] is not None:
                out -= own[keys[0]][0] * res[:, -1:]
        else:
            maps = self._backend._maps(rows, (x, e))
            out = self._sorted(frame, _apply(frame, _keyed, maps, keys), keys)[:, :m]
        self._cache[key] = out
        return out

    def _entity_sums(self, frame: Any) -> np.ndarray:
        """Score sums per entity with no table sent to the rows: with ``α = z·c`` and
        ``e = α − δᵢ``, ``Σₜ z e = Σₜ z α − δᵢ Sᵢ`` and ``Σₜ e = Σₜ α − nᵢ δᵢ`` (``S``, ``n``:
        the entity sums and counts of ``collect``); one group-by of ``[z α, α, α²]``."""
        x, e = self._x, self._e
        used = np.flatnonzero(np.abs(x.L).sum(axis=1))
        alpha = RowMap(e.L)
        maps = _Maps(
            (RowMap.select(self._rows.p, used), alpha), self._rows.p,
            weight_type=self._rows.weight_type,
        )  # fmt: skip
        keyed = _apply(frame, _keyed_alpha, maps)
        res = self._sorted(frame, keyed, [ENTITY], ride=False)[:, 1:]  # without the counts
        u = used.size
        st = self._backend.collect(self._rows).entity
        delta = np.zeros(st.size) if e.entity_table is None else e.entity_table[:, 0]
        ze = res[:, :u] - delta[:, None] * st.sums[:, used]
        e_sum = res[:, u] - st.weights * delta
        self._cache["entity_ss"] = float(
            (res[:, u + 1] - 2 * delta * res[:, u] + st.weights * delta**2).sum()
        )
        out = ze @ x.L[used]
        if x.entity_table is not None:
            out -= x.entity_table * e_sum[:, None]
        return out

    def _sorted(
        self, frame: Any, keyed: Any, keys: list[Hashable], ride: bool = True
    ) -> np.ndarray:
        (parts,) = self._compute(frame, _group_sums(keyed, keys), ride=ride)
        res = _combined(parts, keys)
        ordered = keys in ([ENTITY], [TIME])  # as the labels (tables, Driscoll–Kraay)
        return (res.sort_index() if ordered else res).to_numpy(dtype=float)


def _row_values(part: pd.DataFrame, maps: _Maps | None) -> np.ndarray:
    """The map's values (n, m); the observation weights (n, 1) when ``maps`` is None."""
    return part[[WEIGHT]].to_numpy(dtype=float) if maps is None else maps.scores(part)


def _values(part: pd.DataFrame, maps: _Maps | None, name: str, index: list[str]) -> pd.Series:
    ids = [part[c].to_numpy() for c in (ENTITY, TIME)[: len(index)]]
    idx = pd.MultiIndex.from_arrays(ids, names=index) if len(ids) > 1 else pd.Index(ids[0])
    return pd.Series(_row_values(part, maps)[:, 0], index=idx.set_names(index), name=name)


def _wide(part: pd.DataFrame, maps: _Maps | None, periods: Positions) -> pd.DataFrame:
    v = _row_values(part, maps)
    T, m = len(periods.labels), v.shape[1]
    at = periods(part[TIME].to_numpy())[:, None] * m + np.arange(m)
    out = np.zeros((len(part), T * m))
    out[np.arange(len(part))[:, None], at] = v
    frame = pd.DataFrame(out, columns=[f"c{i}" for i in range(T * m)])
    frame.insert(0, ENTITY, part[ENTITY].to_numpy())
    return frame


class DaskBackend:
    """Data in a ``dask.dataframe`` frame, reduced where the partitions live."""

    name = "dask"

    def bind(
        self,
        formula: str,
        data: Any,
        entity: Hashable | None,
        time: Hashable | None,
        weights: WeightSpec | None = None,
    ) -> PanelSource:
        """Read the periods and categorical levels and a sample; build the formula's spec."""
        index = make_meta(data).index.name
        by_entity = index is not None and index == entity and bool(data.known_divisions)
        if index is not None and index in (entity, time):
            data = data.reset_index()  # e.g. set_index(entity): known divisions are fine
        spec, names, periods = bind_spec(formula, data, entity, time, weights)
        rows = DaskRows(data, spec, tuple(data.columns), by_entity, periods)
        return PanelSource(
            self, rows, names[0], names[1:], formula, entity, time,
            weight_type=spec.weight_type,
        )  # fmt: skip

    def _maps(self, rows: DaskRows, maps: tuple[RowMap, ...]) -> _Maps:
        st = self.collect(rows)
        pos: dict[str, Positions | None] = {}
        for dim, need in (
            ("entity", any(m.entity_table is not None for m in maps)),
            ("time", any(m.time_table is not None for m in maps)),
        ):
            if need and dim not in rows.cache:
                rows.cache[dim] = Positions.of(st.groups(dim).labels)
            pos[dim] = rows.cache[dim] if need else None
        return _Maps(tuple(maps), rows.p, pos["entity"], pos["time"], rows.weight_type)

    def collect(self, rows: DaskRows) -> PanelStats:
        """One ``compute``: ``Σzz'``, ``Σz``, entity and period sums and counts, and the
        duplicate (entity, time) check (per-entity bit patterns of the periods); with
        weights the weighted sums, the weights per group and the unweighted sums too."""
        if "stats" in rows.cache:
            return rows.cache["stats"]
        import dask

        p, spec, frame = rows.p, rows.spec, rows.frame()
        kind = rows.weight_type
        weighted = kind is not None
        identity = _Maps((RowMap.identity(p),), p, weight_type=kind)
        keys = (ENTITY, TIME)[: 1 if spec.time is None else 2]
        periods = None if rows.periods is None else Positions.of(rows.periods)
        shared = [dask.delayed(a, pure=True) for a in (identity, periods, spec)]
        if rows.base is None:  # one task per partition of the user's frame: one read
            stats_of = dask.delayed(_source_stats, pure=True)
            todo = [
                stats_of(part, shared[2], *shared[:2], keys) for part in rows.source.to_delayed()
            ]
        else:
            stats_of = dask.delayed(_partition_stats, pure=True)
            todo = [stats_of(part, *shared[:2], keys) for part in frame.to_delayed()]
        (parts,) = dask.compute(todo)
        if rows.base is None:
            warn_missing(pd.concat([c for *_, c in parts]).sum(), spec)
        out: list[Any] = [[np.sum([part[0] for part in parts], axis=0)]]
        for i in range(len(keys)):
            out.append([part[1][i] for part in parts])
        if rows.periods is not None:
            out.append([part[2] for part in parts])
        g = np.asarray(out[0][0], dtype=float)
        n = int(round(g[0]))
        if n == 0:
            what = "no entity is observed twice" if rows.base else "missing values removed"
            raise InsufficientDataError(f"No rows are left ({what}).")
        groups, plain = [], []
        keys = (ENTITY, TIME)
        for parts, key, name in zip(out[1:3], keys, (spec.entity, spec.time)):
            res = _combined(parts, [key])
            labels = pd.Index(res.index, name=name)
            v = res[[c for c in res.columns if c.startswith("v")]].to_numpy(float)
            counts = res["__one"].to_numpy()
            groups.append(Groups(labels, counts, v[:, :p], v[:, p] if weighted else None))
            if weighted:
                plain.append(Groups(labels, counts, v[:, p + 1 :]))
        incidence: Incidence | None = None
        words = _combined(out[3], [ENTITY]) if rows.periods is not None else None
        if words is not None:
            bits = np.ascontiguousarray(words.reindex(groups[0].labels), dtype=np.int64)
            seen = np.unpackbits(bits.view(np.uint8), axis=1).sum(axis=1)
            if (seen != groups[0].counts).any():
                _raise_duplicates(rows, groups[0].labels[seen != groups[0].counts])
        plain_incidence: Incidence | None = None
        if spec.time is not None:
            period_bits = None
            if rows.periods is not None:  # the bit of each period with rows
                period_bits = Positions.of(rows.periods)(groups[1].labels.to_numpy())
            incidence = DaskIncidence(rows, groups[0].labels, groups[1].labels, words, period_bits)
            if weighted:
                plain_incidence = incidence
                incidence = SparseIncidence(lambda: self.wide(rows, None)[:, :, 0])
        time = groups[1] if spec.time is not None else None
        moments = (g[1 : 1 + p], g[1 + p : 1 + p + p * p].reshape(p, p))
        weighting = None
        if weighted:
            assert kind is not None
            rest = g[1 + p + p * p :]
            unweighted = PanelStats(
                n, rest[1 + p :].reshape(p, p), rest[1 : 1 + p], plain[0],
                plain[1] if spec.time is not None else None, plain_incidence,
            )  # fmt: skip
            weighting = Weighting(kind, float(rest[0]), lambda: unweighted)
            if kind == "frequency":
                n = int(round(float(rest[0])))
        stats = PanelStats(n, moments[1], moments[0], groups[0], time, incidence, weighting)
        rows.cache["stats"] = stats
        return stats

    def scores(self, rows: DaskRows, regressors: RowMap, resid: RowMap) -> DaskScores:
        """Lazy reductions of a regression on the rows."""
        return DaskScores(self, rows, regressors, resid)

    def values(self, rows: DaskRows, rowmap: RowMap, name: str) -> Any:
        """A lazy Series of the map's values, indexed by (entity, time)."""
        index = [str(n) for n in (rows.spec.entity, rows.spec.time) if n is not None]
        return _apply(rows.frame(), _values, self._maps(rows, (rowmap,)), name, index)

    def row_weights(self, rows: DaskRows, name: str) -> Any:
        """A lazy Series of the weights, indexed by (entity, time); None when unweighted."""
        if rows.weight_type is None:
            return None
        index = [str(n) for n in (rows.spec.entity, rows.spec.time) if n is not None]
        return _apply(rows.frame(), _values, None, name, index)

    def first_differences(self, rows: DaskRows, intercept: int | None) -> DaskRows:
        """Rows of differences of consecutive rows within entity (ordered by time)."""
        require_time(rows.spec.time is not None, "First differences")
        return DaskRows(rows.source, rows.spec, rows.columns, True, None, rows, intercept)

    def wide(self, rows: DaskRows, rowmap: RowMap | None) -> np.ndarray:
        """(N, T, m): a group-by entity of per-period columns (0 where unobserved); the
        observation weights (m = 1) when ``rowmap`` is None."""
        import dask

        st = self.collect(rows)
        require_time(st.time is not None, "Entity x period tables")
        maps = None if rowmap is None else self._maps(rows, (rowmap,))
        periods = Positions.of(st.groups("time").labels)
        wide = _apply(rows.frame(), _wide, maps, periods)
        (parts,) = dask.compute(_group_sums(wide, [ENTITY]))
        res = _combined(parts, [ENTITY])
        res = res.reindex(st.entity.labels, fill_value=0.0).to_numpy(dtype=float)
        return res.reshape(st.n_entities, st.n_periods, -1)

    def regressors_for(self, rows: DaskRows, data: pd.DataFrame) -> pd.DataFrame:
        """The formula's right-hand side on new in-memory data."""
        return rows.spec.rhs_spec.get_model_matrix(cast(data, rows.spec.categories))

    def estimation_data(self, rows: DaskRows) -> pd.DataFrame | None:
        """The rows are partitions of a Dask frame: not available in memory."""
        return None

    def required_variables(self, rows: DaskRows) -> list[str]:
        """The columns the right-hand side uses."""
        spec = rows.spec
        return (
            list(spec.plain)
            if spec.rhs_spec is None and spec.plain
            else sorted(str(v) for v in spec.rhs_spec.required_variables)
        )


def _raise_duplicates(rows: DaskRows, entities: pd.Index) -> None:
    import dask

    frame = rows.frame()
    (times,) = dask.compute(frame[frame[ENTITY] == entities[0]][TIME])
    how_many = f"{len(entities)} {'entity has' if len(entities) == 1 else 'entities have'} a "
    raise duplicate_pairs_error(
        how_many + "period observed more than once",
        (rows.spec.entity, entities[0]), (rows.spec.time, times.value_counts().idxmax()),
    )  # fmt: skip
