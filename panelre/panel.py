"""The panel index layer: integer entity/time codes and vectorised group transforms.

Everything here works on integer codes made once by ``pandas.factorize``;
group sums are ``np.bincount`` per column (a loop over *columns*, never over
groups), so every transform costs O(rows x columns).
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from panelre._typing import Effects
from panelre._validation import available_columns, check_option
from panelre._warnings import warn
from panelre.exceptions import (
    DataError,
    InsufficientDataError,
    MissingValueWarning,
    PanelIndexError,
)

__all__ = ["PanelData", "as_panel", "to_pandas"]


def to_pandas(data: Any) -> pd.DataFrame:
    """``data`` as a pandas DataFrame (polars converted; the caller's frame is not copied)."""
    if isinstance(data, pd.DataFrame):
        return data
    module = type(data).__module__
    if module.startswith("polars"):
        return data.to_pandas()
    if module.startswith("dask"):
        raise DataError(
            "A dask DataFrame was passed where an in-memory panel is needed. "
            "Pass it to an estimator (pr.fixed_effects, ...) directly, or call .compute() first."
        )
    raise DataError(
        "The 'data' argument must be a pandas or polars DataFrame or a pr.PanelData. "
        f"Got {type(data).__name__}."
    )


class PanelData:
    """A panel: a DataFrame with integer entity (and optionally time) codes.

    Parameters
    ----------
    data : pandas.DataFrame, polars.DataFrame or PanelData
        The data. A pandas frame with a two-level (entity, time) MultiIndex needs no
        ``entity``/``time`` arguments.
    entity, time : str, optional
        Column names of the entity and time identifiers. ``time`` may be omitted for
        estimators that need no time order.

    Notes
    -----
    Rows whose entity or time identifier is missing are dropped with a
    ``MissingValueWarning``. Duplicate (entity, time) pairs raise
    ``PanelIndexError``. The caller's DataFrame is never modified.

    Examples
    --------
    >>> import panelre as pr
    >>> panel = pr.PanelData(pr.datasets.load("grunfeld"), entity="firm", time="year")
    >>> panel.n_entities, panel.n_periods, panel.nobs, panel.is_balanced
    (10, 20, 200, True)
    >>> abs(float(panel.demean(panel.frame[["inv"]].to_numpy()).mean())) < 1e-10
    True
    """

    def __init__(
        self,
        data: Any,
        entity: Hashable | None = None,
        time: Hashable | None = None,
    ) -> None:
        if isinstance(data, PanelData):
            if entity is not None and entity != data.entity:
                raise PanelIndexError(
                    f"PanelData already has entity {data.entity!r}; got entity={entity!r}."
                )
            self.__dict__.update({k: v for k, v in data.__dict__.items() if not k.startswith("_c")})
            return
        frame = to_pandas(data)
        if entity is None and isinstance(frame.index, pd.MultiIndex):
            if frame.index.nlevels != 2:
                raise PanelIndexError(
                    "A MultiIndex panel needs exactly two levels (entity, time). "
                    f"Got {frame.index.nlevels} levels."
                )
            names = [
                n if n is not None else d for n, d in zip(frame.index.names, ("entity", "time"))
            ]
            frame = frame.reset_index(names=names)
            entity, time = names
        if entity is None:
            raise PanelIndexError(
                "No entity identifier: pass entity='column' (and time='column') or a DataFrame "
                "with a two-level (entity, time) MultiIndex."
            )
        check_identifier_columns(entity, time, frame.columns, "the data")
        keep = np.array(frame[entity].notna())
        if time is not None:
            keep &= frame[time].notna().to_numpy()
        warn_missing_identifiers(int((~keep).sum()), len(frame))
        if not keep.all():
            frame = frame.loc[keep]
        self.frame: pd.DataFrame = frame
        self.entity: Hashable = entity
        self.time: Hashable | None = time
        self._pairs_sorted = False  # rows in strictly increasing (entity, time) order
        codes, labels = factorize_sorted(frame[entity])
        self.entity_codes: np.ndarray = codes
        self.entity_labels: pd.Index = pd.Index(labels, name=entity)
        if time is not None:
            tcodes, tlabels = factorize_sorted(frame[time])
            self.time_codes: np.ndarray | None = tcodes
            self.time_labels: pd.Index | None = pd.Index(tlabels, name=time)
            self._check_unique_pairs()
        else:
            self.time_codes = None
            self.time_labels = None

    # ------------------------------------------------------------------ basic facts
    def _check_unique_pairs(self) -> None:
        assert self.time_codes is not None
        key = self.entity_codes * self.n_periods
        key += self.time_codes
        if key.size < 2 or bool((key[1:] > key[:-1]).all()):
            self._pairs_sorted = True
            return  # sorted by (entity, time) with no repeat: the usual layout, O(n)
        counts = np.bincount(key, minlength=self.n_entities * self.n_periods)
        if counts.max(initial=0) > 1:
            dup = np.flatnonzero(counts > 1)
            first = dup[0]
            e = self.entity_labels[first // self.n_periods]
            t = self.time_labels[first % self.n_periods]  # type: ignore[index]
            raise duplicate_pairs_error(
                f"{len(dup)} pair(s) occur more than once", (self.entity, e), (self.time, t)
            )

    @property
    def nobs(self) -> int:
        """Number of observations (rows)."""
        return int(self.entity_codes.shape[0])

    @property
    def n_entities(self) -> int:
        """Number of entities."""
        return len(self.entity_labels)

    @property
    def n_periods(self) -> int:
        """Number of distinct periods (0 when no time column was given)."""
        return 0 if self.time_labels is None else len(self.time_labels)

    @cached_property
    def counts(self) -> pd.Series:
        """Observations per entity, indexed by entity label (from the run starts when the
        rows are sorted by entity)."""
        starts = self.run_starts("entity")
        if starts is not None and len(starts) == self.n_entities:
            per_entity = np.diff(np.append(starts, self.nobs))
        else:
            per_entity = np.bincount(self.entity_codes, minlength=self.n_entities)
        return pd.Series(
            per_entity,
            index=self.entity_labels,
            name="nobs",
        )

    @cached_property
    def time_counts(self) -> np.ndarray:
        """Observations per period."""
        self._require_time("time_counts")
        return np.bincount(self.time_codes, minlength=self.n_periods)  # type: ignore[arg-type]

    @property
    def is_balanced(self) -> bool:
        """True when every entity is observed in every period."""
        if self.time_codes is None:
            c = self.counts.to_numpy()
            return bool((c == c[0]).all())
        return self.nobs == self.n_entities * self.n_periods

    @property
    def is_grid(self) -> bool:
        """True when the rows are the full entity x period grid in (entity, time) order
        (row r is entity r // T in period r % T)."""
        return self._pairs_sorted and self.is_balanced

    def codes(self, effect: str) -> np.ndarray:
        """Integer codes of ``effect`` ("entity" or "time") for every row."""
        if effect == "entity":
            return self.entity_codes
        self._require_time(f"{effect} effects")
        return self.time_codes  # type: ignore[return-value]

    def n_groups(self, effect: str) -> int:
        """Number of groups of ``effect`` ("entity" or "time")."""
        return self.n_entities if effect == "entity" else self.n_periods

    def group_counts(self, effect: str) -> np.ndarray:
        """Observations per group of ``effect``."""
        return self.counts.to_numpy() if effect == "entity" else self.time_counts

    def _require_time(self, what: str) -> None:
        if self.time_codes is None:
            raise PanelIndexError(
                f"{what} need a time identifier: pass time='column' (or a MultiIndex panel)."
            )

    def describe(self) -> pd.Series:
        """Dimensions of the panel: N, T, n, balance and the range of Tᵢ.

        Examples
        --------
        >>> import panelre as pr
        >>> panel = pr.PanelData(pr.datasets.load("grunfeld"), entity="firm", time="year")
        >>> panel.describe()["T_min"]
        20
        """
        c = self.counts.to_numpy()
        return pd.Series(
            {
                "entities": self.n_entities,
                "periods": self.n_periods,
                "nobs": self.nobs,
                "balanced": self.is_balanced,
                "T_min": int(c.min()),
                "T_mean": float(c.mean()),
                "T_max": int(c.max()),
                "singletons": int((c == 1).sum()),
            },
            name="panel",
        )

    def subset(self, mask: np.ndarray) -> PanelData:
        """A new panel made of the rows where ``mask`` is True (codes are rebuilt)."""
        return PanelData(self.frame.loc[np.asarray(mask, dtype=bool)], self.entity, self.time)

    # ------------------------------------------------------------------ transforms
    def group_sums(self, x: np.ndarray, effect: str = "entity") -> np.ndarray:
        """Sums of the columns of ``x`` within each group of ``effect``: shape (G, k).

        Rows sorted by group (the usual layout for entities) take ``np.add.reduceat`` over
        contiguous runs; otherwise one ``np.bincount`` per column.
        """
        starts = self.run_starts(effect)
        if starts is not None:
            return np.add.reduceat(np.asarray(x, dtype=float), starts, axis=0)
        return _bincount_columns(self.codes(effect), x, self.n_groups(effect))

    def run_starts(self, effect: str) -> np.ndarray | None:
        """Start rows of each group when rows are sorted by ``effect`` (else None)."""
        key = f"_starts_{effect}"
        if key not in self.__dict__:
            codes = self.codes(effect)
            starts = None
            if codes.size and bool((codes[1:] >= codes[:-1]).all()):
                starts = sorted_run_starts(codes)
            self.__dict__[key] = starts
        return self.__dict__[key]

    def group_means(self, x: np.ndarray, effect: str = "entity") -> np.ndarray:
        """Means of the columns of ``x`` within each group: shape (G,) or (G, k)."""
        sums = self.group_sums(x, effect)
        counts = self.group_counts(effect)
        return sums / (counts if sums.ndim == 1 else counts[:, None])

    def expand(self, group_values: np.ndarray, effect: str = "entity") -> np.ndarray:
        """Repeat per-group values to the rows: ``group_values[codes]``."""
        return np.asarray(group_values)[self.codes(effect)]

    def subtract_group_values(
        self,
        x: np.ndarray,
        group_values: np.ndarray,
        effect: str = "entity",
        weight: float | np.ndarray = 1.0,
    ) -> np.ndarray:
        """``x − w · group_values[codes]``, one column at a time (no n x k temporaries).

        ``weight`` is a scalar or one value per group (e.g. θᵢ).
        """
        codes = self.codes(effect)
        w = np.asarray(weight, dtype=float)
        row_w = None if w.ndim == 0 else w[codes]
        scale = None if row_w is not None or float(w) == 1.0 else float(w)
        buffer = np.empty(codes.shape[0])  # reused for every column: no fresh pages

        def one(xcol: np.ndarray, gcol: np.ndarray, out: np.ndarray) -> np.ndarray:
            np.take(gcol, codes, out=buffer, mode="clip")  # "raise" would buffer
            if row_w is not None:
                np.multiply(buffer, row_w, out=buffer)
            elif scale is not None:
                np.multiply(buffer, scale, out=buffer)
            return np.subtract(xcol, buffer, out=out)

        if x.ndim == 1:
            return one(x, np.asarray(group_values), np.empty(x.shape[0]))
        out = np.empty(x.shape, order="F")
        for j in range(x.shape[1]):  # a loop over columns, not groups
            one(x[:, j], np.ascontiguousarray(group_values[:, j]), out[:, j])
        return out

    def demean(self, x: np.ndarray, effects: Effects = "entity") -> np.ndarray:
        """The within transform: ``x`` minus entity, time or two-way group means.

        The two-way transform is exact on unbalanced panels: after entity demeaning,
        the (entity-demeaned) dummies of the smaller dimension are partialled out
        through their T x T normal equations, built from sparse group counts.
        """
        effect = check_option("effects", effects, ["entity", "time", "twoway"])
        if effect != "twoway":
            return self.subtract_group_values(x, self.group_means(x, effect), effect)
        self._require_time("two-way effects")
        if self.is_balanced:
            xm = x.mean(axis=0)
            return (
                x
                - self.expand(self.group_means(x, "entity"), "entity")
                - self.expand(self.group_means(x, "time"), "time")
                + xm
            )
        return self._demean_twoway_unbalanced(x)

    def _demean_twoway_unbalanced(self, x: np.ndarray) -> np.ndarray:
        # Partial out the dimension with fewer groups explicitly (FWL).
        outer, inner = ("entity", "time")
        if self.n_periods > self.n_entities:
            outer, inner = inner, outer
        xt = self.demean(x, outer)  # type: ignore[arg-type]
        coef = self._inner_coefficients(xt, outer, inner)
        dc = self.expand(coef, inner)
        return xt - (dc - self.expand(self.group_means(dc, outer), outer))

    def _inner_coefficients(self, xt: np.ndarray, outer: str, inner: str) -> np.ndarray:
        """Coefficients of the ``outer``-demeaned ``inner`` dummies for ``outer``-demeaned
        ``xt`` (minimum-norm solution of their G x G normal equations)."""
        cross = self._cross_counts(outer, inner)  # (G_outer, G_inner) counts
        inv_outer = 1.0 / self.group_counts(outer)
        gram = (
            np.diag(self.group_counts(inner).astype(float))
            - (cross.T @ sparse.diags(inv_outer) @ cross).toarray()
        )
        rhs = self.group_sums(xt, inner)  # D' x~ (B x~ = 0 after demeaning)
        return np.linalg.lstsq(gram, rhs, rcond=None)[0]

    def twoway_effects(self, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split per-row two-way effects ``total = αᵢ + γₜ`` into (α, γ).

        The time effects are normalised to an observation-weighted mean of zero, so the
        entity effects carry the overall level.
        """
        self._require_time("two-way effects")
        gamma = self._inner_coefficients(self.demean(total, "entity"), "entity", "time")
        gamma = gamma - np.average(gamma, weights=self.time_counts)
        alpha = self.group_means(total - self.expand(gamma, "time"), "entity")
        return alpha, gamma

    def _cross_counts(self, row_effect: str, col_effect: str) -> sparse.csr_matrix:
        rows, cols = self.codes(row_effect), self.codes(col_effect)
        data = np.ones(self.nobs)
        shape = (self.n_groups(row_effect), self.n_groups(col_effect))
        return sparse.csr_matrix((data, (rows, cols)), shape=shape)

    def quasi_demean(
        self, x: np.ndarray, theta: float | np.ndarray, effect: str = "entity"
    ) -> np.ndarray:
        """GLS quasi-demeaning ``x - θᵢ x̄ᵢ`` with θ scalar or one value per group."""
        theta_arr = np.asarray(theta, dtype=float)
        if theta_arr.ndim == 1 and np.ptp(theta_arr) == 0:
            theta_arr = theta_arr[0]  # balanced: one θ for every group
        return self.subtract_group_values(x, self.group_means(x, effect), effect, theta_arr)

    @cached_property
    def order(self) -> np.ndarray:
        """Row order sorted by entity, then time (or original row order)."""
        if self.time_codes is None:
            return np.argsort(self.entity_codes, kind="stable")
        return np.lexsort((self.time_codes, self.entity_codes))

    def first_difference(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Differences of consecutive rows within each entity (ordered by time).

        As R plm, consecutive *rows* are differenced even across gaps in time.

        Returns
        -------
        diffs : ndarray
            The differences, one row per observation that has a predecessor.
        rows : ndarray
            Positions (in the panel's row order) of the later observation of each pair.
        """
        order = self.order
        codes = self.entity_codes[order]
        same = codes[1:] == codes[:-1]
        later, earlier = order[1:][same], order[:-1][same]
        return x[later] - x[earlier], later

    def lag(self, x: np.ndarray, periods: int = 1) -> np.ndarray:
        """Values ``periods`` periods earlier within the entity (NaN where unobserved).

        With a numeric time identifier the lag is by value (the value at ``t − periods``),
        so a gap in time gives NaN, as Stata's ``L.`` operator; otherwise by the order of the
        distinct periods.
        """
        self._require_time("lags")
        T = self.n_periods
        key = self.entity_codes * T + self.time_codes  # type: ignore[operator]
        pos = np.full(self.n_entities * T, -1, dtype=np.int64)
        pos[key] = np.arange(self.nobs)
        labels = self.time_labels
        if labels is not None and pd.api.types.is_numeric_dtype(labels):
            wanted = np.asarray(labels)[self.time_codes] - periods
            target_t = pd.Index(labels).get_indexer(wanted)
        else:
            target_t = self.time_codes - periods  # type: ignore[operator]
        valid = (target_t >= 0) & (target_t < T)
        src = np.full(self.nobs, -1, dtype=np.int64)
        src[valid] = pos[(self.entity_codes * T + target_t)[valid]]
        out = np.full(x.shape, np.nan)
        ok = src >= 0
        out[ok] = x[src[ok]]
        return out


def check_identifier_columns(
    entity: Hashable, time: Hashable | None, columns: Any, where: str
) -> None:
    """Raise ``PanelIndexError`` when the entity or time column is not in ``columns``
    (``where`` names the data in the message, with the closest valid names)."""
    for role, col in (("entity", entity), ("time", time)):
        if col is not None and col not in columns:
            raise PanelIndexError(
                f"The {role} column {col!r} is not in {where}{available_columns(col, columns)}."
            )


def warn_missing_identifiers(n_missing: int, n_rows: int) -> None:
    """The warning for rows dropped for a missing identifier, and the errors when no row
    is left (or none was given)."""
    if n_rows == 0:
        raise InsufficientDataError("The data are empty (0 rows); a panel needs observations.")
    if n_missing:
        warn(
            f"{n_missing} row(s) with a missing entity or time identifier were dropped.",
            MissingValueWarning,
        )
        if n_missing == n_rows:
            raise InsufficientDataError("No rows have both an entity and a time identifier.")


def duplicate_pairs_error(
    how_many: str, entity: tuple[Hashable, Any], time: tuple[Hashable, Any]
) -> PanelIndexError:
    """The error for repeated (entity, time) pairs, with one example ((name, value) of
    each identifier)."""
    (en, e), (tn, t) = entity, time
    return PanelIndexError(
        f"Duplicate (entity, time) pairs: {how_many}, e.g. ({en}={_plain(e)!r}, "
        f"{tn}={_plain(t)!r}). Each entity may be observed at most once per period; aggregate "
        "or fix the time column."
    )


def factorize_sorted(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..G-1 in sorted label order, and the labels.

    Integer identifiers with a compact range (the usual firm ids and years) are coded
    through a lookup table in O(n); anything else goes through ``pd.factorize``.

    Examples
    --------
    >>> codes, labels = factorize_sorted(pd.Series([2003, 2001, 2003, 2010]))
    >>> codes.tolist(), labels.tolist()
    ([1, 0, 1, 2], [2001, 2003, 2010])
    """
    if pd.api.types.is_integer_dtype(values) and len(values):
        v = values.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 4 * len(v) + 1000:
            shifted = np.subtract(v, lo, dtype=np.int64)
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[shifted] = True
            index = pd.Index(np.flatnonzero(present) + lo, dtype=values.dtype)
            if present.all():  # every value in the range occurs: the code is the offset
                return shifted, index
            lookup = np.cumsum(present) - 1
            return lookup[shifted], index
    codes, labels = pd.factorize(values, sort=True)
    return codes.astype(np.int64), pd.Index(labels)


def sorted_run_starts(codes: np.ndarray) -> np.ndarray:
    """First row of each run of equal values in sorted ``codes``."""
    starts = np.flatnonzero(codes[1:] != codes[:-1])
    starts += 1
    return np.concatenate([[0], starts])


def keyed_sums(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ``keys`` (sorted), the rows of each and the sums of the columns of
    ``values`` (n, m) per key: sorted numeric keys by ``np.add.reduceat`` over their runs,
    anything else by ``factorize_sorted`` codes and ``np.bincount``.

    Examples
    --------
    >>> uniques, counts, sums = keyed_sums(np.array([3, 1, 3]), np.array([[1.0], [2.0], [4.0]]))
    >>> uniques.tolist(), counts.tolist(), sums[:, 0].tolist()
    ([1, 3], [1, 2], [2.0, 5.0])
    """
    if keys.dtype.kind in "iuf" and keys.size and bool((keys[1:] >= keys[:-1]).all()):
        starts = sorted_run_starts(keys)
        counts = np.diff(np.append(starts, keys.size))
        return keys[starts], counts, np.add.reduceat(values, starts, axis=0)
    codes, labels = factorize_sorted(pd.Series(keys))
    G = len(labels)
    return labels.to_numpy(), np.bincount(codes, minlength=G), _bincount_columns(codes, values, G)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _bincount_columns(codes: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return np.bincount(codes, weights=x, minlength=n_groups)
    out = np.empty((n_groups, x.shape[1]))
    for j in range(x.shape[1]):  # a loop over columns, not groups
        out[:, j] = np.bincount(codes, weights=x[:, j], minlength=n_groups)
    return out


def as_panel(data: Any, entity: Hashable | None = None, time: Hashable | None = None) -> PanelData:
    """Coerce any accepted ``data`` form to ``PanelData``."""
    if isinstance(data, PanelData) and entity is None and time is None:
        return data
    return PanelData(data, entity=entity, time=time)
