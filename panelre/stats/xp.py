"""The array-API backend: the rows on a device (CuPy, PyTorch), reached through
``array_api_compat``.

The formula is evaluated on the host exactly as by ``NumpyBackend.bind``; then
``z = [y, X]`` (float64) and the entity and period codes are copied to the device once.
The host keeps the ``PanelData`` (labels, counts, cluster columns, the row index and the
incidence). Every pass over the rows runs on the device with the array-API standard only,
in blocks of at most ``block_rows`` rows, so no temporary is larger than
``block_rows x p``; the small results (cross-products, group sums, score sums) come back to
the host as numpy float64.

Group ("segment") sums are not in the standard. ``segment_sum`` uses

* an indicator matrix product for a handful of groups (periods, say) on every library;
* ``cupyx.scatter_add`` on CuPy and ``Tensor.index_add_`` on PyTorch otherwise;
* for any other namespace (``array_api_strict`` in the tests) a generic exact fallback:
  a stable sort by group, a segmented doubling (Hillis–Steele) scan that adds each row to
  the row ``d = 1, 2, 4 …`` places before it when both are in the same group, and a
  ``take`` at the run ends. Every group sum is a tree of additions of its own rows (no
  differences of cumulative sums, so no cancellation), in ``log₂`` (longest group) steps.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from panelre._weights import WeightSpec
from panelre.exceptions import InvalidParameterError
from panelre.formula import Design, build_design, required_variables
from panelre.panel import PanelData
from panelre.stats._base import (
    ClusterSpec,
    Groups,
    PanelSource,
    PanelStats,
    RowMap,
    Weighting,
    require_time,
)
from panelre.stats.numpy import (
    cluster_codes,
    design_source,
    panel_incidence,
    row_index,
    weighted_panel,
)

__all__ = ["ArrayAPIBackend", "ArrayAPIScores", "DeviceRows", "segment_sum"]

#: Group counts up to which a group sum is an indicator matrix product on every library.
ONE_HOT_GROUPS = 16


# ----------------------------------------------------------------------- namespaces
def _namespace(name: str | ModuleType) -> tuple[Any, str]:
    """The array-API namespace for a backend name (or a namespace module) and its label."""
    import array_api_compat

    if isinstance(name, ModuleType):
        return array_api_compat.array_namespace(name.asarray([0.0])), name.__name__
    hints = {
        "cupy": "backend='cupy' needs CuPy and a CUDA GPU: pip install 'panelre[gpu]'.",
        "torch": "backend='torch' needs PyTorch: pip install torch array-api-compat.",
        "array_api_strict": "array_api_strict is not installed: pip install array-api-strict.",
    }
    if name not in hints:
        raise InvalidParameterError(
            "ArrayAPIBackend takes 'cupy', 'torch', 'array_api_strict' or an array "
            f"namespace module. Got {name!r}."
        )
    import importlib

    module = {"cupy": "array_api_compat.cupy", "torch": "array_api_compat.torch"}.get(
        name, "array_api_strict"
    )
    try:
        xp = importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(hints[name]) from exc
    return xp, name


def _default_device(xp: Any) -> Any:
    """CUDA for PyTorch when it is available; the library's default device otherwise."""
    import array_api_compat

    if array_api_compat.is_torch_namespace(xp):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return None


def to_host(x: Any) -> np.ndarray:
    """A device array as an owned numpy float64 (or integer) array."""
    import array_api_compat

    if array_api_compat.is_cupy_array(x):
        return np.array(x.get())
    if array_api_compat.is_torch_array(x):
        return np.array(x.detach().cpu().numpy())
    return np.array(np.from_dlpack(x))


# ----------------------------------------------------------------------- group sums
def segment_sum(values: Any, codes: Any, n_groups: int) -> Any:
    """Sums of the rows of ``values`` per group, on the device.

    Parameters
    ----------
    values : array (n, m)
        Float64 rows.
    codes : array (n,)
        Integer group codes in ``0 … n_groups − 1`` (any order).
    n_groups : int
        Number of groups G.

    Returns
    -------
    array (G, m)
        Row g holds the sum of the rows with code g (zero when there are none).
    """
    import array_api_compat

    xp = array_api_compat.array_namespace(values, codes)
    if n_groups <= ONE_HOT_GROUPS:
        return _one_hot_sum(xp, values, codes, n_groups)
    if array_api_compat.is_cupy_namespace(xp):
        import cupyx

        out = xp.zeros((n_groups, values.shape[1]), dtype=values.dtype, device=values.device)
        cupyx.scatter_add(out, codes, values)
        return out
    if array_api_compat.is_torch_namespace(xp):
        out = xp.zeros((n_groups, values.shape[1]), dtype=values.dtype, device=values.device)
        return out.index_add_(0, codes, values)
    return _scan_sum(xp, values, codes, n_groups)


def _one_hot_sum(xp: Any, values: Any, codes: Any, n_groups: int) -> Any:
    """``1[codes = g] @ values``: one small matrix product for a few groups."""
    groups = xp.arange(n_groups, dtype=codes.dtype, device=codes.device)
    indicator = xp.astype(groups[:, None] == codes[None, :], values.dtype)
    return indicator @ values


def _scan_sum(xp: Any, values: Any, codes: Any, n_groups: int) -> Any:
    """Sort by group, segmented doubling scan, ``take`` at the run ends (standard ops only)."""
    n = codes.shape[0]
    if n == 0:
        return xp.zeros((n_groups, values.shape[1]), dtype=values.dtype, device=values.device)
    if n > 1 and not bool(xp.all(codes[1:] >= codes[:-1])):
        order = xp.argsort(codes, stable=True)
        codes = xp.take(codes, order)
        values = xp.take(values, order, axis=0)
    v, step = values, 1
    while step < n:  # log₂ of the longest group: runs of rows, not groups
        same = codes[step:] == codes[:-step]
        if not bool(xp.any(same)):
            break
        carried = xp.where(same[:, None], v[:-step, :], 0.0)
        v = xp.concat([v[:step, :], v[step:, :] + carried], axis=0)
        step *= 2
    last = xp.concat([codes[1:] != codes[:-1], xp.ones(1, dtype=xp.bool, device=codes.device)])
    ends = xp.nonzero(last)[0]
    sums, present = xp.take(v, ends, axis=0), xp.take(codes, ends)
    if present.shape[0] == n_groups:
        return sums
    # some groups have no rows here: gather each group's run (a scatter with unique keys)
    groups = xp.arange(n_groups, dtype=codes.dtype, device=codes.device)
    pos = xp.clip(xp.searchsorted(present, groups), max=present.shape[0] - 1)
    hit = xp.take(present, pos) == groups
    return xp.where(hit[:, None], xp.take(sums, pos, axis=0), 0.0)


# ----------------------------------------------------------------------- the rows
@dataclass(frozen=True)
class _DeviceMap:
    """A ``RowMap`` with its tables on the device."""

    L: Any
    time_table: Any | None
    entity_table: Any | None


@dataclass(frozen=True, eq=False)
class DeviceRows:
    """The backend's handle: ``z = [y, X]`` and the group codes on the device, the panel on
    the host.

    Attributes
    ----------
    xp : namespace
        The array-API namespace of the device arrays.
    device : object
        Their device.
    z : array (n, p)
        Response and regressors, float64.
    entity, time : array (n,)
        Integer entity and period codes (``time`` None without a time identifier).
    panel : PanelData
        The rows' panel on the host (labels, counts, cluster columns, incidence).
    y_name, x_names, formula, n_missing, rhs_spec
        As in ``panelre.formula.Design``.
    block_rows : int
        Rows per block of a pass over the rows.
    weights : ndarray (n,) or None
        Observation weights (host copy; ``device_weights`` on the device).
    weight_type : {"analytic", "frequency"} or None
    """

    xp: Any = field(repr=False)
    device: Any
    z: Any = field(repr=False)
    entity: Any = field(repr=False)
    time: Any = field(repr=False)
    panel: PanelData = field(repr=False)
    y_name: str
    x_names: list[str]
    formula: str
    n_missing: int
    rhs_spec: Any = field(repr=False)
    block_rows: int
    weights: np.ndarray | None = field(default=None, repr=False)
    weight_type: str | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def device_weights(self) -> Any:
        """The weights on the device (None when unweighted)."""
        if self.weights is None:
            return None
        if "weights" not in self._cache:
            self._cache["weights"] = self.put(self.weights)
        return self._cache["weights"]

    @classmethod
    def from_design(cls, design: Design, xp: Any, device: Any, block_rows: int) -> DeviceRows:
        """Copy a host design to the device, block by block."""
        n, k = design.X.shape
        z = xp.empty((n, k + 1), dtype=xp.float64, device=device)
        for lo, hi in _blocks(n, block_rows):
            part = np.column_stack([design.y[lo:hi], design.X[lo:hi]]).astype(float)
            z[lo:hi, :] = xp.asarray(part, device=device)
        return cls._with(design.panel, z, design, xp, device, block_rows, design.weights)

    @classmethod
    def _with(
        cls,
        panel: PanelData,
        z: Any,
        like: Any,
        xp: Any,
        device: Any,
        block_rows: int,
        weights: np.ndarray | None = None,
    ) -> DeviceRows:
        def codes(c: np.ndarray | None) -> Any:
            return None if c is None else xp.asarray(c.astype(np.int64), device=device)

        return cls(
            xp=xp,
            device=device,
            z=z,
            entity=codes(panel.entity_codes),
            time=codes(panel.time_codes),
            panel=panel,
            y_name=like.y_name,
            x_names=list(like.x_names),
            formula=like.formula,
            n_missing=like.n_missing,
            rhs_spec=like.rhs_spec,
            block_rows=block_rows,
            weights=weights,
            weight_type=None if weights is None else like.weight_type,
        )

    @property
    def nobs(self) -> int:
        """Rows n."""
        return int(self.z.shape[0])

    def blocks(self) -> Iterator[tuple[int, int]]:
        """``(lo, hi)`` row ranges of at most ``block_rows`` rows."""
        return _blocks(self.nobs, self.block_rows)

    def put(self, table: np.ndarray | None) -> Any:
        """A host table as a float64 device array (None stays None)."""
        if table is None:
            return None
        return self.xp.asarray(np.ascontiguousarray(table, dtype=float), device=self.device)

    def device_map(self, rowmap: RowMap) -> _DeviceMap:
        """The map's tables on the device."""
        if rowmap.time_table is not None:
            require_time(self.time is not None, "Period tables of a row map")
        return _DeviceMap(
            self.put(rowmap.L), self.put(rowmap.time_table), self.put(rowmap.entity_table)
        )

    def apply(self, dmap: _DeviceMap, lo: int, hi: int) -> Any:
        """``z L − H[t] − O[i]`` on rows ``lo:hi``: a (hi − lo, m) device array."""
        xp = self.xp
        out = self.z[lo:hi, :] @ dmap.L
        if dmap.time_table is not None:
            out = out - xp.take(dmap.time_table, self.time[lo:hi], axis=0)
        if dmap.entity_table is not None:
            out = out - xp.take(dmap.entity_table, self.entity[lo:hi], axis=0)
        return out

    def group_sums(self, dim: str, weighted: bool) -> np.ndarray:
        """Sums of z (``w z`` when ``weighted``) per entity or period (host, (G, p))."""
        codes = self.entity if dim == "entity" else self.time
        n_groups = self.panel.n_groups(dim)
        w = self.device_weights if weighted else None
        total = None
        for lo, hi in self.blocks():
            zb = self.z[lo:hi, :] if w is None else self.z[lo:hi, :] * w[lo:hi, None]
            total = _accumulate(total, segment_sum(zb, codes[lo:hi], n_groups))
        return to_host(total)

    def cluster(self, spec: ClusterSpec) -> tuple[Any, int]:
        """Device codes of a clustering and the number of clusters (errors as numpy's)."""
        if isinstance(spec, str) and spec in ("entity", "time"):
            if spec == "entity" or self.time is not None:
                return (self.entity if spec == "entity" else self.time), self.panel.n_groups(spec)
        key = spec if _hashable(spec) else None
        if key is not None and key in self._cache:
            return self._cache[key]
        codes, n_groups = cluster_codes(self.panel, spec)
        out = (self.xp.asarray(codes, device=self.device), n_groups)
        if key is not None:
            self._cache[key] = out
        return out

    def as_design_stub(self) -> Design:
        """A row-less ``Design`` with the formula's coding (for ``regressors_for``)."""
        k = len(self.x_names)
        return Design(
            y=np.empty(0),
            X=np.empty((0, k)),
            y_name=self.y_name,
            x_names=self.x_names,
            panel=self.panel,
            formula=self.formula,
            n_missing=self.n_missing,
            rhs_spec=self.rhs_spec,
            weights=self.weights,
            weight_type=self.weight_type,
        )


def _blocks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):  # blocks of rows, not rows
        yield lo, min(n, lo + size)


def _hashable(spec: Any) -> bool:
    if isinstance(spec, tuple):
        return all(isinstance(s, str) for s in spec)
    return isinstance(spec, str)


def _accumulate(total: Any, part: Any) -> Any:
    return part if total is None else total + part


# ----------------------------------------------------------------------- scores
class ArrayAPIScores:
    """Score reductions of one regression on device rows.

    Parameters
    ----------
    rows : DeviceRows
    regressors, resid : RowMap
        ``x = X(z)`` and the one-column ``e = E(z)``.
    """

    def __init__(self, rows: DeviceRows, regressors: RowMap, resid: RowMap) -> None:
        self._rows = rows
        self._x = rows.device_map(regressors)
        self._e = rows.device_map(resid.columns([0]))

    @property
    def nobs(self) -> int:
        """Observations of the regression (``Σ w`` with frequency weights)."""
        rows = self._rows
        if rows.weight_type == "frequency":
            return int(round(float(rows.weights.sum())))  # type: ignore[union-attr]
        return rows.nobs

    def _resid(self, lo: int, hi: int, factor: str = "none") -> Any:
        """``e`` on rows ``lo:hi``, times ``w`` (``factor="w"``) or the score-outer factor
        (``"outer"``: ``w``, or ``√w`` for frequency weights) when weighted."""
        e = self._rows.apply(self._e, lo, hi)[:, 0]
        w = self._rows.device_weights
        if w is None or factor == "none":
            return e
        if factor == "outer" and self._rows.weight_type == "frequency":
            return e * self._rows.xp.sqrt(w[lo:hi])
        return e * w[lo:hi]

    def _scores(self, factor: str = "w") -> Iterator[tuple[int, int, Any]]:
        """Blocks of the score rows ``w x e``."""
        for lo, hi in self._rows.blocks():
            e = self._resid(lo, hi, factor)
            yield lo, hi, self._rows.apply(self._x, lo, hi) * e[:, None]

    def resid_ss(self) -> float:
        """``Σ w e²``."""
        xp, total = self._rows.xp, None
        for lo, hi in self._rows.blocks():
            total = _accumulate(total, xp.vecdot(self._resid(lo, hi, "w"), self._resid(lo, hi)))
        return float(to_host(total))

    def gradient(self) -> np.ndarray:
        """``Σ w x e``."""
        xp, total = self._rows.xp, None
        for _, _, s in self._scores():
            total = _accumulate(total, xp.sum(s, axis=0))
        return to_host(total)

    def score_outer(self) -> np.ndarray:
        """``Σ w² (x e)(x e)'`` (``Σ w (x e)(x e)'`` for frequency weights)."""
        total = None
        for _, _, s in self._scores("outer"):
            total = _accumulate(total, s.T @ s)
        out = to_host(total)
        return (out + out.T) / 2

    def score_sums(self, cluster: ClusterSpec) -> np.ndarray:
        """Sums of ``w x e`` per cluster (G, m), in cluster-code order."""
        codes, n_groups = self._rows.cluster(cluster)
        total = None
        for lo, hi, s in self._scores():
            total = _accumulate(total, segment_sum(s, codes[lo:hi], n_groups))
        return to_host(total)


# ----------------------------------------------------------------------- the backend
class ArrayAPIBackend:
    """Rows on an array-API device: CuPy, PyTorch, or any namespace (``array_api_strict``
    for tests on the CPU).

    Parameters
    ----------
    name : {"cupy", "torch", "array_api_strict"} or module
        The array library, or an array namespace module.
    device : object, optional
        The device for the rows (default: the current CUDA device for CuPy, CUDA when
        available for PyTorch, the namespace's default otherwise).
    block_rows : int, default 2**21
        Rows per block of a pass over the rows (bounds the device temporaries).

    Examples
    --------
    >>> import panelre as pr
    >>> from panelre.stats import bind
    >>> src = bind("inv ~ value", pr.datasets.load("grunfeld"), entity="firm",
    ...            backend=ArrayAPIBackend("array_api_strict"))
    >>> src.backend.name, src.stats.n, round(float(src.stats.total[0]), 1)
    ('array_api_strict', 200, 29191.6)
    """

    def __init__(self, name: str | ModuleType, device: Any = None, block_rows: int = 2**21) -> None:
        self.xp, self.name = _namespace(name)
        self.device = _default_device(self.xp) if device is None else device
        if block_rows < 1:
            raise InvalidParameterError(f"block_rows must be positive. Got {block_rows}.")
        self.block_rows = int(block_rows)

    def __repr__(self) -> str:
        return f"ArrayAPIBackend({self.name!r}, device={self.device!r})"

    def bind(
        self,
        formula: str,
        data: Any,
        entity: Hashable | None,
        time: Hashable | None,
        weights: WeightSpec | None = None,
    ) -> PanelSource:
        """Build the design on the host, then copy z, the codes and weights to the device."""
        design = build_design(formula, *weighted_panel(data, entity, time, weights))
        rows = DeviceRows.from_design(design, self.xp, self.device, self.block_rows)
        return design_source(self, rows, design)

    def collect(self, rows: DeviceRows) -> PanelStats:
        """``Σ zz'`` and ``Σ z`` by blocks on the device (weighted with weights); group sums
        on first use."""
        if rows.weights is None:
            return self._collect(rows, None)
        kind = rows.weight_type
        assert kind is not None
        unweighted = cache(lambda: self._collect(rows, None))  # one pass, on first use
        weighting = Weighting(kind, float(rows.weights.sum()), unweighted)
        return self._collect(rows, weighting)

    def _collect(self, rows: DeviceRows, weighting: Weighting | None) -> PanelStats:
        w = None if weighting is None else rows.device_weights
        gram = total = None
        for lo, hi in rows.blocks():
            zb = rows.z[lo:hi, :]
            wz = zb if w is None else zb * w[lo:hi, None]
            gram = _accumulate(gram, wz.T @ zb)
            total = _accumulate(total, rows.xp.sum(wz, axis=0))
        g = to_host(gram)
        p = rows.panel
        host_w = None if weighting is None else rows.weights

        def groups(labels: pd.Index, dim: str) -> Groups:
            mass = None if host_w is None else p.group_sums(host_w, dim)
            return Groups(
                labels, p.group_counts(dim), lambda: rows.group_sums(dim, w is not None), mass
            )

        time = incidence = None
        if rows.time is not None:
            time = groups(p.time_labels, "time")  # type: ignore[arg-type]
            incidence = panel_incidence(p, host_w)
        n = p.nobs if weighting is None or weighting.kind == "analytic" else round(weighting.total)
        return PanelStats(
            n, (g + g.T) / 2, to_host(total), groups(p.entity_labels, "entity"), time,
            incidence, weighting,
        )  # fmt: skip

    def scores(self, rows: DeviceRows, regressors: RowMap, resid: RowMap) -> ArrayAPIScores:
        """Reductions on the device rows."""
        return ArrayAPIScores(rows, regressors, resid)

    def values(self, rows: DeviceRows, rowmap: RowMap, name: str) -> pd.Series:
        """A host Series indexed by (entity, time) (output 0 of the map)."""
        dmap = rows.device_map(rowmap.columns([0]))
        out = np.empty(rows.nobs)
        for lo, hi in rows.blocks():
            out[lo:hi] = to_host(rows.apply(dmap, lo, hi)[:, 0])
        return pd.Series(out, index=row_index(rows.panel), name=name)

    def row_weights(self, rows: DeviceRows, name: str) -> pd.Series | None:
        """The weights (held on the host too), indexed by (entity, time)."""
        if rows.weights is None:
            return None
        return pd.Series(rows.weights, index=row_index(rows.panel), name=name)

    def first_differences(self, rows: DeviceRows, intercept: int | None) -> DeviceRows:
        """Differences of consecutive rows within entity (on the device), on the later
        row's index; the pairs are found from the host codes."""
        xp, p = rows.xp, rows.panel
        order = p.order
        same = p.entity_codes[order][1:] == p.entity_codes[order][:-1]
        later, earlier = order[1:][same], order[:-1][same]
        li = xp.asarray(later.astype(np.int64), device=rows.device)
        ei = xp.asarray(earlier.astype(np.int64), device=rows.device)
        z = xp.empty((later.size, rows.z.shape[1]), dtype=xp.float64, device=rows.device)
        for lo, hi in _blocks(later.size, rows.block_rows):
            z[lo:hi, :] = xp.take(rows.z, li[lo:hi], axis=0) - xp.take(rows.z, ei[lo:hi], axis=0)
        if intercept is not None:
            z[:, intercept] = 1.0
        panel = PanelData(p.frame.iloc[later], p.entity, p.time)
        weights = None
        if rows.weights is not None:  # the precision of eₜ − eₜ₋₁
            weights = 1.0 / (1.0 / rows.weights[later] + 1.0 / rows.weights[earlier])
        return DeviceRows._with(panel, z, rows, xp, rows.device, rows.block_rows, weights)

    def wide(self, rows: DeviceRows, rowmap: RowMap) -> np.ndarray:
        """(N, T, m) values per entity and period, 0 where unobserved."""
        require_time(rows.time is not None, "Entity x period tables")
        p = rows.panel
        N, T = p.n_entities, p.n_periods
        dmap = rows.device_map(rowmap)
        total = None
        for lo, hi in rows.blocks():
            cell = rows.entity[lo:hi] * T + rows.time[lo:hi]  # unique: a scatter, not a sum
            total = _accumulate(total, segment_sum(rows.apply(dmap, lo, hi), cell, N * T))
        return to_host(total).reshape(N, T, rowmap.width)

    def regressors_for(self, rows: DeviceRows, data: pd.DataFrame) -> pd.DataFrame:
        """The right-hand side on new data (as numpy)."""
        return rows.as_design_stub().regressors_for(data)

    def estimation_data(self, rows: DeviceRows) -> pd.DataFrame | None:
        """The rows live on the device: not available as a frame."""
        return None

    def required_variables(self, rows: DeviceRows) -> list[str]:
        """The columns the right-hand side uses."""
        stub = rows.as_design_stub()
        return required_variables(stub.rhs_spec, stub.x_names)
