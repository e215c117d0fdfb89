"""The Dask backend: every partition is an in-memory panel.

A partition of the design rows becomes a numpy ``Design`` (``partition_design``) and the
numpy backend's own kernels reduce it: ``NumpyBackend.collect`` for the statistics,
``NumpyScores`` for the score reductions, ``values``, ``wide`` and
``first_differences`` for the row operations. This module adds only what spans
partitions: one task per partition (the design rows formed in the task that reads it),
the tables of the row maps cut to each partition's labels (the maps are sent once; no
join), the sums per label over the partitions on the client (O(groups x columns)), and
the check that no (entity, time) pair is split over two partitions (per-entity bit
patterns of the periods). First differences shuffle the rows by entity with the
task-based shuffle, or not at all when the divisions keep entities whole.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from dask.dataframe.utils import make_meta

from panelre._weights import WeightSpec
from panelre.exceptions import InsufficientDataError, InvalidParameterError
from panelre.panel import PanelData, check_identifier_columns, duplicate_pairs_error, keyed_sums
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
    partition_design,
    partition_rows,
    warn_missing,
    zcols,
)
from panelre.stats.numpy import NumpyBackend, NumpyScores

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
    """Row maps sent once to the workers, with the positions of their tables' labels."""

    maps: tuple[RowMap, ...]
    entity: Positions | None = None
    time: Positions | None = None

    def on(self, panel: PanelData) -> list[RowMap]:
        """The maps on the rows of a partition: their tables cut to its labels."""
        out = []
        for m in self.maps:  # a loop over the (one or two) maps
            H, O = m.time_table, m.entity_table  # positions are sent with any table
            if H is not None and self.time is not None:
                H = H[self.time(np.asarray(panel.time_labels))]
            if O is not None and self.entity is not None:
                O = O[self.entity(panel.entity_labels.to_numpy())]
            out.append(RowMap(m.L, H, O))
        return out


def _apply(frame: Any, func: Callable[..., Any], *args: Any) -> Any:
    """``frame.map_partitions(func, *args)``, the maps, positions and spec sent once."""
    import dask

    meta = func(make_meta(frame), *args)
    sent = [dask.delayed(a, pure=True) if isinstance(a, (_Maps, RowSpec)) else a for a in args]
    return frame.map_partitions(func, *sent, meta=meta, enforce_metadata=False)


def _each(frame: Any, func: Callable[..., Any], *args: Any) -> list[Any]:
    """``func(partition, *args)`` for every partition (the arguments sent once), computed."""
    import dask

    task, shared = dask.delayed(func, pure=True), [dask.delayed(a, pure=True) for a in args]
    (parts,) = dask.compute([task(part, *shared) for part in frame.to_delayed()])
    return [part for part in parts if part is not None]


def _on_source(
    part: pd.DataFrame, spec: RowSpec, extra: list[str], func: Callable[..., Any], *args: Any
) -> Any:
    """``func`` on the design rows of a partition of the user's frame (formed in the task)."""
    return func(partition_rows(part, spec, extra), spec, *args)


def _by_label(labels: Sequence[Any], tables: Sequence[np.ndarray]) -> tuple[pd.Index, np.ndarray]:
    """Sums of the rows of the partitions' ``tables`` per label, in sorted label order (no
    work when the partitions hold disjoint, ordered label ranges)."""
    keys = np.concatenate([np.asarray(k) for k in labels])
    if keys.dtype.kind in "iuf" and bool((keys[1:] > keys[:-1]).all()):
        return pd.Index(keys), np.vstack(tables)
    uniques, _, sums = keyed_sums(keys, np.vstack(tables))
    return pd.Index(uniques), sums


def _group_table(st: PanelStats, dim: str) -> np.ndarray:
    """``[rows, Σ w z]`` per group, with ``[Σ w, Σ z]`` after them when weighted."""
    g = st.groups(dim)
    if st.weighting is None:
        return np.column_stack([g.counts, g.sums])
    return np.column_stack([g.counts, g.sums, g.weights, st.unweighted.groups(dim).sums])


@dataclass(frozen=True)
class _PartStats:
    """What ``collect`` reads from one partition, as arrays (nothing that holds the rows
    goes back to the client): rows, ``Σw``, ``Σ w zz'``, ``Σ w z``, the unweighted
    ``(Σ zz', Σ z)`` when weighted, and per grouping the labels and ``_group_table``."""

    n: int = 0
    mass: float = 0.0
    gram: np.ndarray | None = None
    total: np.ndarray | None = None
    plain: tuple[np.ndarray, np.ndarray] | None = None
    labels: list[np.ndarray] = field(default_factory=list)
    tables: list[np.ndarray] = field(default_factory=list)
    words: np.ndarray | None = None
    missing: pd.DataFrame | None = None


def _words(panel: PanelData, periods: Positions) -> np.ndarray:
    """Per entity of a partition, the sum of ``2^(t % 62)`` over its periods in each of the
    ⌈T/62⌉ words (exact integer sums: a period seen in two partitions carries into
    another bit, which the duplicate check then finds)."""
    assert panel.time_labels is not None and panel.time_codes is not None
    t = periods(panel.time_labels.to_numpy())[panel.time_codes]
    starts = panel.run_starts("entity")
    out = np.zeros((panel.n_entities, -(-len(periods.labels) // _BITS)), dtype=np.int64)
    for w in range(out.shape[1]):  # a loop over the words
        bits = np.where(t // _BITS == w, np.left_shift(np.int64(1), t % _BITS), 0)
        if starts is None:
            np.add.at(out[:, w], panel.entity_codes, bits)
        else:
            out[:, w] = np.add.reduceat(bits, starts)
    return out


def _partition_stats(part: pd.DataFrame, spec: RowSpec, periods: Positions | None) -> Any:
    """The numpy backend's statistics of one partition, its sums per group and the
    period patterns of its entities."""
    if not len(part):
        return _PartStats()
    design = partition_design(part, spec)
    st = NumpyBackend().collect(design)
    dims = ("entity", "time")[: 1 if spec.time is None else 2]
    plain = None if st.weighting is None else (st.unweighted.gram, st.unweighted.total)
    return _PartStats(
        len(part), st.mass, st.gram, st.total, plain,
        [np.asarray(st.groups(d).labels) for d in dims], [_group_table(st, d) for d in dims],
        None if periods is None else _words(design.panel, periods),
    )  # fmt: skip


def _source_stats(part: pd.DataFrame, spec: RowSpec, periods: Positions | None) -> Any:
    """``_partition_stats`` of the design rows of a partition of the user's frame, and
    its missing-row counts, from one read of the partition."""
    kept = complete_rows(part, spec)
    stats = _partition_stats(partition_rows(part, spec, (), kept), spec, periods)
    return replace(stats, missing=missing_counts(part, spec, kept))


def _cluster_sums(scores: NumpyScores, panel: PanelData, keys: list[Hashable]) -> Any:
    """Score sums per cluster of a partition and the clusters' labels."""
    if keys == [ENTITY]:
        return panel.entity_labels.to_numpy(), scores.score_sums("entity")
    if keys == [TIME]:
        return np.asarray(panel.time_labels), scores.score_sums("time")
    names: dict[Hashable, Hashable] = {ENTITY: panel.entity, TIME: panel.time}
    values = [panel.frame[names.get(k, k)] for k in keys]
    if any(v.isna().any() for v in values):
        raise InvalidParameterError("The cluster variable has missing values.")
    key = values[0] if len(keys) == 1 else pd.MultiIndex.from_arrays(values)
    codes, labels = pd.factorize(key)  # codes in order of first appearance, as numpy's
    return np.asarray(labels), scores.score_sums(codes)


class _PartScores(NamedTuple):
    """What a score pass reads from one partition (None: not asked for)."""

    ss: float
    gradient: np.ndarray | None
    outer: np.ndarray | None
    sums: tuple[np.ndarray, np.ndarray] | None  # cluster labels, score sums per cluster


def _partition_scores(
    part: pd.DataFrame, spec: RowSpec, maps: _Maps, keys: list[Hashable], wants: frozenset[str]
) -> _PartScores | None:
    """``Σ w e²`` of a partition by ``NumpyScores``, its ``Σ w x e`` and ``Σ w² (x e)(x e)'``
    when ``wants`` names them, and its score sums per cluster of ``keys`` (with labels)."""
    if not len(part):
        return None
    design = partition_design(part, spec, [k for k in keys if k not in (ENTITY, TIME)])
    scores = NumpyScores(design, *maps.on(design.panel))
    sums = _cluster_sums(scores, design.panel, keys) if keys else None
    if sums is not None and "resid_sums" in wants:  # Σ w e per entity (DaskScores._pass)
        resid_sums = design.panel.group_sums(scores.weighted_resid, "entity")
        sums = (sums[0], np.column_stack([sums[1], resid_sums]))
    return _PartScores(
        scores.resid_ss(),
        scores.gradient() if "gradient" in wants else None,
        scores.score_outer() if "outer" in wants else None,
        sums,
    )


def _partition_values(part: pd.DataFrame, spec: RowSpec, maps: _Maps | None, name: str) -> Any:
    """The map's first output (the weights when ``maps`` is None) as an (entity, time)
    Series."""
    if not len(part):
        names = [str(n) for n in (spec.entity, spec.time) if n is not None]
        ids = [part[c].to_numpy() for c in (ENTITY, TIME)[: len(names)]]
        index = pd.MultiIndex.from_arrays(ids) if len(ids) > 1 else pd.Index(ids[0])
        return pd.Series(np.zeros(0), index.set_names(names), name=name)
    design, numpy = partition_design(part, spec), NumpyBackend()
    if maps is None:
        return numpy.row_weights(design, name)
    return numpy.values(design, maps.on(design.panel)[0], name)


def _partition_wide(
    part: pd.DataFrame, spec: RowSpec, maps: _Maps | None, periods: Positions
) -> Any:
    """Entity labels and (N_part, T·m) per-period values (0 where unobserved); the
    weights (m = 1) when ``maps`` is None."""
    if not len(part):
        return None
    design = partition_design(part, spec)
    panel = design.panel
    assert panel.time_labels is not None and panel.time_codes is not None
    t = periods(panel.time_labels.to_numpy())
    if maps is None:
        local = np.zeros((panel.n_entities, panel.n_periods, 1))
        local[panel.entity_codes, panel.time_codes, 0] = design.weights
    else:
        local = NumpyBackend().wide(design, maps.on(panel)[0])
    out = np.zeros((panel.n_entities, len(periods.labels), local.shape[2]))
    out[:, t, :] = local
    return panel.entity_labels.to_numpy(), out.reshape(panel.n_entities, -1)


def _differences(
    part: pd.DataFrame, spec: RowSpec, intercept: int | None, extra: list[str]
) -> pd.DataFrame:
    """The numpy backend's first differences of a partition (entities whole), as rows."""
    weight = [WEIGHT] if spec.weights is not None else []
    columns = [ENTITY, TIME, *zcols(spec.width), *weight, *extra]
    design = partition_design(part, spec, extra) if len(part) else None
    if design is None or design.panel.n_entities == design.panel.nobs:  # nothing to difference
        return part[columns].iloc[:0]
    diff = NumpyBackend().first_differences(design, intercept)
    frame = diff.panel.frame
    values = [frame[spec.entity], frame[spec.time], diff.y, *diff.X.T]
    values += [diff.weights] * len(weight) + [frame[c] for c in extra]
    return pd.DataFrame({c: np.asarray(v) for c, v in zip(columns, values)})


@dataclass(frozen=True, eq=False)
class DaskRows:
    """The Dask backend's handle on the rows of a ``PanelSource``: the user's frame, the
    formula spec, the frame's columns (clusters may name them), whether each entity lies
    in one partition, the periods seen at bind time (the bits of the period patterns)
    and, for first differences, the rows differenced and the position of the constant."""

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
        return _apply(rows, _differences, self.spec, self.intercept, extra)

    def each(self, func: Callable[..., Any], *args: Any, extra: Sequence[Hashable] = ()) -> Any:
        """``func(design rows of a partition, spec, *args)`` for every partition, computed;
        from the user's frame, in the task that reads the partition."""
        extra = [c for c in dict.fromkeys(extra) if c not in (ENTITY, TIME)]
        if self.base is None:
            return _each(self.source, _on_source, self.spec, extra, func, *args)
        return _each(self.frame(extra), func, self.spec, *args)


@dataclass(frozen=True)
class DaskIncidence:
    """The entity x period incidence from per-entity bit patterns of the periods, decoded
    in chunks of entities.

    Attributes
    ----------
    patterns : ndarray (N, ⌈T₀/62⌉) of int64
        Bit ``t % 62`` of word ``t // 62`` is set when the entity is seen in period t of
        the periods at bind time (T₀ of them).
    bits : ndarray (T,)
        The bit of each period of the rows.
    """

    patterns: np.ndarray
    bits: np.ndarray

    def _chunks(self) -> Any:
        (N, _), T, bits = self.patterns.shape, len(self.bits), self.bits
        step = max(1, 4_000_000 // max(T, 1))
        for start in range(0, N, step):  # a loop over chunks of entities
            sl = slice(start, min(N, start + step))
            yield sl, ((self.patterns[sl][:, bits // _BITS] >> (bits % _BITS)) & 1).astype(float)

    def time_gram(self, weights: np.ndarray) -> np.ndarray:
        """``F' diag(weights) F``."""
        w, T = np.asarray(weights, dtype=float), len(self.bits)
        return sum(((F * w[sl, None]).T @ F for sl, F in self._chunks()), np.zeros((T, T)))

    def to_time(self, table: np.ndarray) -> np.ndarray:
        """``F' table``."""
        start = np.zeros((len(self.bits), table.shape[1]))
        return sum((F.T @ table[sl] for sl, F in self._chunks()), start)

    def to_entity(self, table: np.ndarray) -> np.ndarray:
        """``F table``."""
        return np.vstack([F @ table for _, F in self._chunks()])


class DaskScores:
    """Score reductions of one regression on a Dask frame: ``NumpyScores`` on every
    partition, summed per cluster label on the client (cached; ``Σe²`` rides along with
    every pass)."""

    def __init__(self, backend: DaskBackend, rows: DaskRows, x: RowMap, e: RowMap) -> None:
        self._backend, self._rows, self._x, self._e = backend, rows, x, e
        self._cache: dict[Any, Any] = {}

    @property
    def nobs(self) -> int:
        """Observations of the regression."""
        return self._backend.collect(self._rows).n

    def _pass(self, keys: list[Hashable], *wants: str) -> np.ndarray | None:
        """One pass: ``Σe²``, the totals in ``wants`` and the score sums per cluster of
        ``keys`` (if any). Sums per entity leave x's entity table ``O`` on the client:
        ``Σ_g x e = Σ_g (x + O_g) e − O_g Σ_g e``."""
        rows, x, e = self._rows, self._x, self._e
        table = x.entity_table if keys == [ENTITY] and not wants else None
        if table is not None:
            x, wants = RowMap(x.L, x.time_table), ("resid_sums",)
        maps = self._backend._maps(rows, (x, e))
        extra = [k for k in keys if k not in (ENTITY, TIME)]
        parts = rows.each(_partition_scores, maps, keys, frozenset(wants), extra=extra)
        for name in ("ss", *wants):
            if name in _PartScores._fields:
                self._cache.setdefault(name, sum(getattr(t, name) for t in parts))
        if not keys:
            return None
        sums = _by_label([t.sums[0] for t in parts], [t.sums[1] for t in parts])[1]
        return sums if table is None else sums[:, :-1] - table * sums[:, -1:]

    def _total(self, name: str) -> Any:
        if name not in self._cache:
            self._pass([], *([] if name == "ss" else [name]))
        return self._cache[name]

    def resid_ss(self) -> float:
        """``Σ e²``."""
        return float(self._total("ss"))

    def gradient(self) -> np.ndarray:
        """``Σ x e``."""
        return np.asarray(self._total("gradient"))

    def score_outer(self) -> np.ndarray:
        """``Σ (x e)(x e)'``."""
        return np.asarray(self._total("outer"))

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
        """Sums of ``x e`` per cluster (G, m), in label order (periods in time order)."""
        specs = cluster if isinstance(cluster, tuple) else (cluster,)
        keys = list(dict.fromkeys(self._key(c) for c in specs))
        key = ("sums", *keys)
        if key not in self._cache:
            self._cache[key] = self._pass(keys)
        return self._cache[key]


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
        return _Maps(tuple(maps), pos["entity"], pos["time"])

    def collect(self, rows: DaskRows) -> PanelStats:
        """One ``compute``: the numpy backend's statistics of every partition, summed (per
        entity and period label), and the duplicate (entity, time) check across partitions
        (per-entity bit patterns of the periods)."""
        if "stats" in rows.cache:
            return rows.cache["stats"]
        spec, p = rows.spec, rows.p
        periods = None if rows.periods is None else Positions.of(rows.periods)
        if rows.base is None:  # one task per partition of the user's frame: one read
            parts = _each(rows.source, _source_stats, spec, periods)
            warn_missing(pd.concat([part.missing for part in parts]).sum(), spec)
        else:
            parts = rows.each(_partition_stats, periods)
        parts = [part for part in parts if part.n]
        if not parts:
            what = "no entity is observed twice" if rows.base else "missing values removed"
            raise InsufficientDataError(f"No rows are left ({what}).")
        weighted = spec.weight_type is not None
        groups, plain = [], []
        for i, name in enumerate((spec.entity, spec.time)[: len(parts[0].tables)]):
            labels, table = _by_label([t.labels[i] for t in parts], [t.tables[i] for t in parts])
            labels = labels.rename(name)
            mass = table[:, 1 + p] if weighted else None
            groups.append(Groups(labels, table[:, 0], table[:, 1 : 1 + p], mass))
            plain.append(Groups(labels, table[:, 0], table[:, 2 + p :]))
        time = groups[1] if spec.time is not None else None
        incidence: Incidence | None = None
        if time is not None and periods is not None:  # the bit of each period with rows
            words = _check_patterns(rows, groups[0], parts)
            incidence = DaskIncidence(words, periods(time.labels.to_numpy()))
        n = sum(t.n for t in parts)
        weighting = None
        if weighted:
            unweighted = PanelStats(
                n, sum(t.plain[0] for t in parts), sum(t.plain[1] for t in parts),  # type: ignore[index]
                plain[0], plain[1] if time is not None else None, incidence,
            )  # fmt: skip
            kind = spec.weight_type
            weighting = Weighting(kind, float(sum(t.mass for t in parts)), lambda: unweighted)  # type: ignore[arg-type]
            if time is not None:
                incidence = SparseIncidence(lambda: self.wide(rows, None)[:, :, 0])
            if kind == "frequency":
                n = round(weighting.total)
        stats = PanelStats(
            n, sum(t.gram for t in parts), sum(t.total for t in parts), groups[0], time,
            incidence, weighting,
        )  # fmt: skip
        rows.cache["stats"] = stats
        return stats

    def scores(self, rows: DaskRows, regressors: RowMap, resid: RowMap) -> DaskScores:
        """Lazy reductions of a regression on the rows."""
        return DaskScores(self, rows, regressors, resid)

    def values(self, rows: DaskRows, rowmap: RowMap, name: str) -> Any:
        """A lazy Series of the map's values, indexed by (entity, time)."""
        maps = self._maps(rows, (rowmap,))
        return _apply(rows.frame(), _partition_values, rows.spec, maps, name)

    def row_weights(self, rows: DaskRows, name: str) -> Any:
        """A lazy Series of the weights, indexed by (entity, time); None when unweighted."""
        if rows.weight_type is None:
            return None
        return _apply(rows.frame(), _partition_values, rows.spec, None, name)

    def first_differences(self, rows: DaskRows, intercept: int | None) -> DaskRows:
        """Rows of differences of consecutive rows within entity (ordered by time)."""
        require_time(rows.spec.time is not None, "First differences")
        return DaskRows(rows.source, rows.spec, rows.columns, True, rows.periods, rows, intercept)

    def wide(self, rows: DaskRows, rowmap: RowMap | None) -> np.ndarray:
        """(N, T, m): the partitions' per-period values summed per entity (0 where
        unobserved); the observation weights (m = 1) when ``rowmap`` is None."""
        st = self.collect(rows)
        require_time(st.time is not None, "Entity x period tables")
        maps = None if rowmap is None else self._maps(rows, (rowmap,))
        periods = Positions.of(st.groups("time").labels)
        parts = rows.each(_partition_wide, maps, periods)
        labels, table = _by_label([t[0] for t in parts], [t[1] for t in parts])
        out = pd.DataFrame(table, index=labels).reindex(st.entity.labels, fill_value=0.0)
        return out.to_numpy(dtype=float).reshape(st.n_entities, st.n_periods, -1)

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


def _check_patterns(rows: DaskRows, entity: Groups, parts: list[_PartStats]) -> np.ndarray:
    """The partitions' period patterns summed exactly per entity; raises when an entity
    has fewer bits than rows (a period seen in two partitions)."""
    words = np.vstack([t.words for t in parts])  # type: ignore[misc]
    at = Positions.of(entity.labels)(np.concatenate([t.labels[0] for t in parts]))
    out = np.zeros((entity.size, words.shape[1]), dtype=np.int64)
    np.add.at(out, at, words)
    seen = np.unpackbits(out.view(np.uint8), axis=1).sum(axis=1)
    if (seen != entity.counts).any():
        _raise_duplicates(rows, entity.labels[seen != entity.counts])
    return out


def _raise_duplicates(rows: DaskRows, entities: pd.Index) -> None:
    import dask

    frame = rows.frame()
    (times,) = dask.compute(frame[frame[ENTITY] == entities[0]][TIME])
    how_many = f"{len(entities)} {'entity has' if len(entities) == 1 else 'entities have'} a "
    raise duplicate_pairs_error(
        how_many + "period observed more than once",
        (rows.spec.entity, entities[0]), (rows.spec.time, times.value_counts().idxmax()),
    )  # fmt: skip
