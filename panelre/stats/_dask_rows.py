"""Formulas on Dask frames: one formulaic spec evaluated partition by partition.

``bind_spec`` reads only the period column and the categorical columns of the formula
(their distinct values: the sorted periods and the global levels) and a small sample,
and builds the spec on the sample cast to those levels, so every partition yields the
columns of the in-memory path in the same order. The dtype and ``inf`` checks and the
missing-row counts run partition by partition with the statistics (``collect``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from dask.dataframe.utils import make_meta

from panelre._weights import WeightSpec, check_weight_column, raise_bad_weights, warn_zero_weights
from panelre.exceptions import (
    DataError,
    InsufficientDataError,
    InvalidParameterError,
    PanelIndexError,
)
from panelre.formula import (
    Design,
    _check_columns,
    _plain_terms,
    check_formula,
    formula_variables,
    missing_rows,
    model_matrices,
    require_finite,
    warn_missing_rows,
)
from panelre.panel import PanelData, check_identifier_columns, warn_missing_identifiers

__all__ = [
    "ENTITY",
    "TIME",
    "WEIGHT",
    "RowSpec",
    "bind_spec",
    "cast",
    "complete_rows",
    "design_rows",
    "missing_counts",
    "partition_design",
    "partition_rows",
    "warn_missing",
    "zcols",
]

#: Identifier columns of the lazy design frame (the z columns are ``__z0`` …).
ENTITY, TIME = "__entity", "__time"
#: The observation weights' column of the lazy design frame (when weighted).
WEIGHT = "__weight"


def zcols(p: int) -> list[str]:
    """Names of the ``p`` columns of ``z = [y, X]`` in the lazy design frame."""
    return [f"__z{j}" for j in range(p)]


@dataclass(frozen=True)
class RowSpec:
    """What a partition task needs to evaluate the formula (no Dask collection inside):
    the identifier columns, the data columns ``used`` by the formula, the formulaic specs,
    the global categorical dtypes, the width of z, ``plain``, the columns of z when
    every term is a plain numeric column (formulaic is then skipped, as in memory), and
    the observation weights' column and kind (rows of weight zero are dropped)."""

    entity: Hashable
    time: Hashable | None
    used: list[str]
    lhs_spec: Any
    rhs_spec: Any
    categories: dict[str, pd.CategoricalDtype]
    width: int
    plain: list[str] | None = None
    kinds: dict[str, tuple[str, str]] = field(default_factory=dict)
    weights: Hashable | None = None
    weight_type: str | None = None


def cast(frame: pd.DataFrame, categories: dict[str, pd.CategoricalDtype]) -> pd.DataFrame:
    """``frame`` with the categorical columns cast to their global levels."""
    todo = {c: d for c, d in categories.items() if c in frame.columns}
    return frame.astype(todo) if todo else frame


def _check(part: pd.DataFrame, spec: RowSpec) -> None:
    for col, (kind, declared) in spec.kinds.items():
        got = _kind(part[col].dtype)
        if got != kind and len(part) and not (kind == "category" and got == "other"):
            raise DataError(
                f"Column {col!r} has dtype {part[col].dtype} in one partition but the Dask frame "
                f"declares {declared} ({kind}). Every partition must hold the same type: cast "
                "the column (e.g. ddf[col].astype(float)) before fitting."
            )


def complete_rows(part: pd.DataFrame, spec: RowSpec) -> tuple[np.ndarray, np.ndarray]:
    """Rows with both identifiers, and rows among them with no missing formula value
    (the in-memory checks: an infinite value raises)."""
    ok = part[spec.entity].notna().to_numpy().copy()
    if spec.time is not None:
        ok &= part[spec.time].notna().to_numpy()
    return ok, ok & ~missing_rows(part, spec.used)


def _weights(part: pd.DataFrame, spec: RowSpec) -> np.ndarray:
    """The checked weights of the (complete) rows of a partition."""
    values = part[spec.weights].to_numpy(dtype=float, na_value=np.nan)
    raise_bad_weights(values, spec.weight_type or "analytic", str(spec.weights))
    return values


def missing_counts(
    part: pd.DataFrame, spec: RowSpec, kept: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.DataFrame:
    """Rows, rows without an identifier, rows with a missing formula value and complete
    rows of weight zero (``kept``: ``complete_rows`` when already known)."""
    ok, complete = complete_rows(part, spec) if kept is None else kept
    zero = 0
    if spec.weights is not None:
        zero = int((_weights(part.loc[complete], spec) == 0).sum())
    counts = [len(part), int((~ok).sum()), int((ok & ~complete).sum()), zero]
    return pd.DataFrame([counts], columns=["n", "index", "na", "zero"])


def partition_rows(
    part: pd.DataFrame,
    spec: RowSpec,
    extra: Sequence[str],
    kept: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The design rows of one partition of the user's frame (entity, time, z, weights and
    the ``extra`` columns; ``kept``: ``complete_rows`` when already known)."""
    _check(part, spec)
    complete = (complete_rows(part, spec) if kept is None else kept)[1]
    if not complete.all():
        part = part.loc[complete]
    w = None
    if spec.weights is not None:
        w = _weights(part, spec)
        if not (w > 0).all():
            part, w = part.loc[w > 0], w[w > 0]
    z = np.zeros((len(part), spec.width), order="F")  # columns contiguous: one block below
    if spec.plain is not None:
        for j, name in enumerate(spec.plain):  # a loop over columns
            z[:, j] = 1.0 if name == "Intercept" else part[name].to_numpy(dtype=float)
    elif len(part):
        data = cast(part, spec.categories)
        with np.errstate(all="ignore"):
            lhs, rhs = (s.get_model_matrix(data) for s in (spec.lhs_spec, spec.rhs_spec))
            z[:, 0], z[:, 1:] = lhs.to_numpy(dtype=float)[:, 0], rhs.to_numpy(dtype=float)
        require_finite(z[:, 0], z[:, 1:], [*lhs.columns, *rhs.columns])
    out = pd.DataFrame(z, columns=zcols(spec.width), copy=False)  # one float block
    out.insert(0, ENTITY, part[spec.entity].to_numpy())
    if spec.time is not None:
        out.insert(1, TIME, part[spec.time].to_numpy())
    if w is not None:
        out[WEIGHT] = w
    for c in extra:
        out[c] = part[c].to_numpy()
    return out


def partition_design(part: pd.DataFrame, spec: RowSpec, extra: Sequence[Hashable] = ()) -> Design:
    """A partition of the design rows as an in-memory ``Design`` (the identifiers under
    the user's names, with the ``extra`` data columns), for the numpy backend's kernels."""
    ids = {spec.entity: part[ENTITY].to_numpy()}
    if spec.time is not None:
        ids[spec.time] = part[TIME].to_numpy()
    frame = pd.DataFrame(ids | {c: part[c].to_numpy() for c in extra}, copy=False)
    z = part[zcols(spec.width)].to_numpy(dtype=float)
    return Design(
        y=z[:, 0], X=z[:, 1:], y_name="", x_names=(spec.plain or [""])[1:],
        panel=PanelData(frame, spec.entity, spec.time), formula="",
        rhs_spec=None if spec.plain else spec.rhs_spec,
        weights=None if spec.weights is None else part[WEIGHT].to_numpy(dtype=float),
        weight_type=spec.weight_type,
    )  # fmt: skip


def design_rows(source: Any, spec: RowSpec, extra: Sequence[str] = ()) -> Any:
    """The lazy design frame: entity, time, z columns (+ ``extra`` data columns), rows with
    a missing identifier or formula value removed (the spec is sent to the workers once)."""
    import dask

    meta = partition_rows(make_meta(source), spec, extra)
    shared = dask.delayed(spec, pure=True)
    return source.map_partitions(partition_rows, shared, list(extra), meta=meta)


def _kind(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "other"


def bind_spec(
    formula: str,
    source: Any,
    entity: Hashable | None,
    time: Hashable | None,
    weights: WeightSpec | None = None,
) -> tuple[RowSpec, list[str], pd.Index | None]:
    """Check the columns, scan the frame (one ``compute``) and build the formula's spec.

    Returns the spec, the names of z (response, regressors), the rows dropped for missing
    values (warned about as in memory) and the sorted periods of the rows kept. Raises
    ``PanelIndexError`` without ``entity=`` or a missing identifier column, and the
    in-memory path's ``FormulaError``, ``DataError`` and ``InsufficientDataError``.
    """
    import dask

    if entity is None:
        raise PanelIndexError(
            "A Dask frame needs entity='column' (and time='column'): Dask frames have no "
            "MultiIndex."
        )
    check_formula(formula)
    meta = make_meta(source)
    check_identifier_columns(entity, time, meta.columns, "the Dask frame")
    dtype = None if time is None else meta[time].dtype
    if isinstance(dtype, pd.CategoricalDtype) and source[time].cat.known:
        if not dtype.categories.is_monotonic_increasing:  # periods are ordered by value
            raise DataError(
                f"The time column {time!r} is categorical with its categories out of sorted "
                "order; on a Dask frame the periods are ordered by value. Convert the column "
                f"(e.g. ddf[{time!r}] = ddf[{time!r}].astype(int)) or sort its categories."
            )
    used = sorted(formula_variables(formula))
    _check_columns(formula, meta, set(used))
    if weights is not None:
        if weights.column is None:
            raise InvalidParameterError(
                "With Dask data, 'weights' must be the name of a column of the Dask frame (an "
                "in-memory array cannot be aligned with the partitions)."
            )
        check_weight_column(meta, weights.column)
    wrapped = [c for c in used if re.search(r"C\(\s*" + re.escape(c) + r"\b", formula)]
    categorical = [c for c in used if c in wrapped or _kind(meta[c].dtype) != "numeric"]
    known = {
        c: meta[c].dtype
        for c in categorical
        if isinstance(meta[c].dtype, pd.CategoricalDtype) and source[c].cat.known
    }
    levels = [c for c in categorical if c not in known]
    kinds = {c: (_kind(meta[c].dtype), str(meta[c].dtype)) for c in used}
    ids = [entity] if time is None else [entity, time]
    # only these columns are read: the periods, and the levels among the complete rows
    todo = [] if time is None else [source[time].dropna().unique(split_out=1)]
    if levels:
        complete = source[list(dict.fromkeys([*ids, *used]))].dropna()
        todo += [complete[c].unique(split_out=1) for c in levels]
    values = list(dask.compute(*todo))
    times = _sorted(values.pop(0)).rename(time) if time is not None else None
    categories = dict(known)
    for c, v in zip(levels, values):
        categories[c] = pd.CategoricalDtype(_sorted(v))
    sample = cast(_sample(source, list(dict.fromkeys([*ids, *used]))), categories)
    if len(sample) == 0:
        raise InsufficientDataError(
            f"Every row has a missing value in {used}; nothing is left to estimate."
        )
    mm = model_matrices(formula, sample)
    plain = _plain_terms(formula, meta)
    names = [str(mm.lhs.columns[0]), *(str(c) for c in mm.rhs.columns)]
    if plain is not None:  # as the in-memory fast path
        names = [plain[0], *plain[1]]
    spec = RowSpec(
        entity, time, used, mm.lhs.model_spec, mm.rhs.model_spec, categories, len(names),
        None if plain is None else names, kinds,
        None if weights is None else weights.column, None if weights is None else weights.kind,
    )  # fmt: skip
    return spec, names, times


def _sorted(values: Any) -> pd.Index:
    return pd.Index(np.asarray(values)).unique().sort_values()


def _sample(source: Any, cols: list[Hashable]) -> pd.DataFrame:
    """Up to 200 complete rows from the first partition (the whole frame if it has none)."""
    with warnings.catch_warnings():  # a first partition smaller than 200 rows is fine
        warnings.filterwarnings("ignore", "Insufficient elements", UserWarning)
        head = source[cols].head(200, npartitions=1, compute=True).dropna()
    if len(head) == 0:
        head = source[cols].dropna().head(200, npartitions=-1, compute=True)
    return head


def warn_missing(counts: pd.Series, spec: RowSpec) -> None:
    """The in-memory path's warnings (and errors) about rows dropped for missing values
    and for weight zero."""
    n, n_index, n_missing = (int(counts[k]) for k in ("n", "index", "na"))
    warn_missing_identifiers(n_index, n)
    warn_missing_rows(n_missing, n - n_index, spec.used)
    if spec.weights is not None:
        warn_zero_weights(int(counts["zero"]), n - n_index - n_missing, str(spec.weights))
