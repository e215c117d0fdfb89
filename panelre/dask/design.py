"""Formulas on Dask frames: a formulaic model spec applied partition by partition.

The spec is built once, on a small sample whose categorical columns carry the levels
found on the *whole* frame (one distributed ``unique`` per categorical column), so every
partition produces the same columns in the same order as the in-memory path.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import formulaic
import numpy as np
import pandas as pd

from panelre.exceptions import (
    DataError,
    FormulaError,
    InsufficientDataError,
    MissingValueWarning,
    PanelIndexError,
)
from panelre.formula import _check_columns, formula_variables

__all__ = ["DaskDesign", "build_dask_design", "ENTITY", "TIME", "Y"]

#: Column names of the lazy design frame.
ENTITY, TIME, Y = "__entity", "__time", "__y"


def xcol(j: int) -> str:
    """Name of the j-th regressor column of the lazy design frame."""
    return f"__x{j}"


@dataclass(frozen=True)
class DaskDesign:
    """A formula bound to a Dask frame (nothing is computed but the spec).

    Attributes
    ----------
    source : dask.dataframe.DataFrame
        The user's frame.
    formula, y_name, x_names, entity, time
        As in ``panelre.formula.Design``.
    used : list of str
        Data columns the formula refers to.
    lhs_spec, rhs_spec : formulaic ModelSpec
        The specs applied to every partition.
    categories : dict
        Global categorical dtype per categorical column.
    """

    source: Any
    formula: str
    y_name: str
    x_names: list[str]
    entity: Hashable
    time: Hashable | None
    used: list[str]
    lhs_spec: Any
    rhs_spec: Any
    categories: dict[str, pd.CategoricalDtype]

    @property
    def k(self) -> int:
        """Number of regressor columns (intercept included)."""
        return len(self.x_names)

    @property
    def row_spec(self) -> RowSpec:
        """The picklable part of the design that every partition task receives."""
        return RowSpec(
            entity=self.entity,
            time=self.time,
            used=self.used,
            lhs_spec=self.lhs_spec,
            rhs_spec=self.rhs_spec,
            categories=self.categories,
            k=self.k,
            kinds={c: _kind(self.source[c].dtype) for c in self.used},
            declared={c: str(self.source[c].dtype) for c in self.used},
        )

    @property
    def columns(self) -> list[str]:
        """Value columns of ``rows``: the response then the regressors."""
        return [Y, *(xcol(j) for j in range(self.k))]

    def regressors_for(self, data: pd.DataFrame) -> pd.DataFrame:
        """The formula's right-hand side evaluated on new in-memory data."""
        return self.rhs_spec.get_model_matrix(_cast(data, self.categories))

    def rows(self, extra: Sequence[str] = ()) -> Any:
        """The lazy design frame: entity, time, response, regressors (+ ``extra`` columns),
        rows with a missing identifier or formula value removed."""
        extra = [c for c in extra if c not in (self.entity, self.time)]
        missing = [c for c in extra if c not in self.source.columns]
        if missing:
            raise FormulaError(f"Column(s) {missing} are not in the data.")
        return self.source.map_partitions(
            _partition_rows, self.row_spec, extra, meta=_meta(self, extra), enforce_metadata=False
        )


@dataclass(frozen=True)
class RowSpec:
    """What a partition task needs to evaluate the formula (no Dask collection inside)."""

    entity: Hashable
    time: Hashable | None
    used: list[str]
    lhs_spec: Any
    rhs_spec: Any
    categories: dict[str, pd.CategoricalDtype]
    k: int
    kinds: dict[str, str]
    declared: dict[str, str]


def _kind(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "other"


def _meta(design: DaskDesign, extra: Sequence[str]) -> pd.DataFrame:
    src = design.source._meta
    cols: dict[str, Any] = {ENTITY: src[design.entity].iloc[:0]}
    if design.time is not None:
        cols[TIME] = src[design.time].iloc[:0]
    for c in design.columns:
        cols[c] = pd.Series([], dtype=float)
    for c in extra:
        cols[c] = src[c].iloc[:0]
    return pd.DataFrame({k: pd.Series(v).reset_index(drop=True) for k, v in cols.items()})


def _cast(frame: pd.DataFrame, categories: dict[str, pd.CategoricalDtype]) -> pd.DataFrame:
    if not categories:
        return frame
    frame = frame.copy()
    for col, dtype in categories.items():
        if col in frame.columns:
            frame[col] = frame[col].astype(dtype)
    return frame


def _check_partition(part: pd.DataFrame, spec: RowSpec) -> None:
    for col, kind in spec.kinds.items():
        got = _kind(part[col].dtype)
        if got != kind and len(part) and not (kind == "category" and got == "other"):
            raise DataError(
                f"Column {col!r} has dtype {part[col].dtype} in one partition but the Dask frame "
                f"declares {spec.declared[col]} ({kind}). Every partition must hold the "
                "same type: cast the column (e.g. ddf[col].astype(float)) before fitting."
            )
        if got == "numeric" and not pd.api.types.is_bool_dtype(part[col]):
            values = part[col].to_numpy(dtype=float, na_value=np.nan)
            n_inf = int(np.isinf(values).sum())
            if n_inf:
                raise DataError(
                    f"Column {col!r} contains {n_inf} infinite value(s). Infinite values are "
                    "not allowed: replace them with NaN to drop those rows, or fix them."
                )


def _partition_rows(part: pd.DataFrame, spec: RowSpec, extra: Sequence[str]) -> pd.DataFrame:
    _check_partition(part, spec)
    keep = part[spec.entity].notna()
    if spec.time is not None:
        keep &= part[spec.time].notna()
    if spec.used:
        keep &= ~part[spec.used].isna().any(axis=1)
    part = _cast(part.loc[keep.to_numpy()], spec.categories)
    out = {ENTITY: part[spec.entity].to_numpy()}
    if spec.time is not None:
        out[TIME] = part[spec.time].to_numpy()
    if len(part):
        with np.errstate(all="ignore"):
            y = spec.lhs_spec.get_model_matrix(part).to_numpy(dtype=float)[:, 0]
            X = spec.rhs_spec.get_model_matrix(part).to_numpy(dtype=float)
        if not (np.isfinite(y).all() and np.isfinite(X).all()):
            raise DataError(
                "The formula's transforms produced non-finite values (e.g. the log of a "
                "non-positive number). Restrict the data or change the transform."
            )
    else:
        y, X = np.zeros(0), np.zeros((0, spec.k))
    out[Y] = y
    for j in range(spec.k):
        out[xcol(j)] = X[:, j]
    for c in extra:
        out[c] = part[c].to_numpy()
    return pd.DataFrame(out)


def _categorical_columns(formula: str, meta: pd.DataFrame, used: set[str]) -> list[str]:
    out = []
    for col in sorted(used):
        wrapped = re.search(r"C\(\s*" + re.escape(col) + r"\b", formula) is not None
        if wrapped or _kind(meta[col].dtype) != "numeric":
            out.append(col)
    return out


def _global_levels(source: Any, cols: list[str], compute: Any) -> dict[str, pd.CategoricalDtype]:
    if not cols:
        return {}
    uniques = compute(*(source[c].dropna().unique() for c in cols))
    out = {}
    for col, values in zip(cols, uniques):
        dtype = source[col].dtype
        if isinstance(dtype, pd.CategoricalDtype) and dtype.categories is not None:
            levels = [c for c in dtype.categories if c in set(values)]
        else:
            levels = sorted(pd.unique(np.asarray(values)))
        out[col] = pd.CategoricalDtype(levels)
    return out


def _sample(source: Any, used: list[str]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Insufficient elements", UserWarning)
        head = source.head(200, npartitions=1, compute=True)
    head = head.dropna(subset=used) if used else head
    if len(head) == 0:
        head = source.dropna(subset=used).head(200, npartitions=-1, compute=True)
    return head


def build_dask_design(
    formula: str, source: Any, entity: Hashable, time: Hashable | None, compute: Any
) -> DaskDesign:
    """Check the columns, collect categorical levels globally and build the model spec.

    Raises
    ------
    PanelIndexError
        When the entity or time column is missing.
    FormulaError, DataError
        For a bad formula or non-numeric columns outside ``C()``.
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaError(
            f"A formula must be a string of the form 'y ~ x1 + x2'. Got {formula!r}."
        )
    if source._meta.index.name is not None and source._meta.index.name in (entity, time):
        source = source.reset_index()  # e.g. set_index(entity): known divisions are fine
    meta = source._meta
    for role, col in (("entity", entity), ("time", time)):
        if col is not None and col not in meta.columns:
            shown = ", ".join(map(repr, list(meta.columns)[:12]))
            raise PanelIndexError(
                f"The {role} column {col!r} is not in the Dask frame. Available columns: {shown}."
            )
    used = formula_variables(formula)
    _check_columns(formula, meta, used)
    categories = _global_levels(source, _categorical_columns(formula, meta, used), compute)
    sample = _cast(_sample(source, sorted(used)), categories)
    if len(sample) == 0:
        raise InsufficientDataError(
            f"Every row has a missing value in {sorted(used)}; nothing is left to estimate."
        )
    try:
        with np.errstate(all="ignore"):
            mm = formulaic.model_matrix(formula, sample, na_action="ignore")
    except Exception as exc:
        raise FormulaError(f"Cannot evaluate the formula {formula!r}: {exc}") from None
    if mm.lhs.shape[1] != 1:
        raise FormulaError(
            f"The formula needs exactly one response on the left of '~'. "
            f"Got {list(mm.lhs.columns)}."
        )
    return DaskDesign(
        source=source,
        formula=formula,
        y_name=str(mm.lhs.columns[0]),
        x_names=[str(c) for c in mm.rhs.columns],
        entity=entity,
        time=time,
        used=sorted(used),
        lhs_spec=mm.lhs.model_spec,
        rhs_spec=mm.rhs.model_spec,
        categories=categories,
    )


def warn_missing(n_missing_index: int, n_missing: int, n_total: int, used: list[str]) -> None:
    """The in-memory path's warnings about dropped rows."""
    if n_missing_index:
        warnings.warn(
            f"{n_missing_index} row(s) with a missing entity or time identifier were dropped.",
            MissingValueWarning,
            stacklevel=5,
        )
    if n_missing:
        warnings.warn(
            f"{n_missing} of {n_total - n_missing_index} row(s) with missing values in {used} "
            "were dropped (listwise deletion).",
            MissingValueWarning,
            stacklevel=5,
        )
