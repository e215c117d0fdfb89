"""Observation weights: the ``weights=`` / ``weight_type=`` arguments and their checks.

Two kinds, as Stata and R:

* ``"analytic"`` (Stata ``aweight``, R ``lm(weights=)``, plm and linearmodels
  ``weights=``): precision weights, ``var(eᵢₜ) = σ²/wᵢₜ``; only their ratios matter for the
  coefficients and standard errors. N and the degrees of freedom count rows.
* ``"frequency"`` (Stata ``fweight``): a row stands for ``w`` identical rows; N, the
  degrees of freedom and the small-sample factors count ``Σw``.

Stata's ``pweight`` is an analytic weight with a robust or clustered covariance
(``cov="robust"`` / ``cov="clustered"``). Missing, negative or infinite weights and
non-integer frequency weights are errors; rows of weight zero are dropped with a warning
that counts them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from panelre._validation import available_columns, check_option
from panelre._warnings import warn
from panelre.exceptions import (
    DataError,
    InsufficientDataError,
    InvalidParameterError,
    MissingValueWarning,
)

__all__ = [
    "WEIGHT_TYPES",
    "WEIGHT_COLUMN",
    "WeightSpec",
    "weight_spec",
    "checked_weights",
    "check_weight_column",
    "check_values",
    "raise_bad_weights",
    "warn_zero_weights",
]

WEIGHT_TYPES = ("analytic", "frequency")
#: The column an array of weights is stored in (on a copy of the user's frame).
WEIGHT_COLUMN = "__panelre_weights__"


@dataclass(frozen=True, eq=False)
class WeightSpec:
    """Validated ``weights=`` and ``weight_type=`` arguments.

    Attributes
    ----------
    values : hashable or ndarray
        A column name of the data, or one weight per row of the data.
    kind : {"analytic", "frequency"}
    index : Index or None
        The index of a pandas Series of weights (aligned on the data's index).
    """

    values: Any
    kind: str
    index: pd.Index | None = None

    @property
    def column(self) -> Hashable | None:
        """The data column of the weights (None for an array)."""
        return None if isinstance(self.values, np.ndarray) else self.values

    def attach(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Hashable]:
        """``frame`` (a new frame when the weights are an array) and the weights' column. A
        pandas Series of weights is aligned on the frame's index when its labels are the
        frame's in another order."""
        if self.column is not None:
            return frame, self.column
        values = self.values
        if self.index is not None and not self.index.equals(frame.index):
            same_labels = (
                self.index.is_unique and frame.index.is_unique and len(self.index) == len(frame)
                and bool(self.index.isin(frame.index).all())
            )  # fmt: skip
            if not same_labels:
                raise InvalidParameterError(
                    "The weights Series has an index that does not match the data's: pass a "
                    "column name, a Series with the data's index, or a plain array with one "
                    "value per row."
                )
            values = pd.Series(values, index=self.index).reindex(frame.index).to_numpy()
        if len(values) != len(frame):
            raise InvalidParameterError(
                f"An array of weights needs one value per row of the data ({len(frame)} rows). "
                f"Got {len(values)} values."
            )
        return frame.assign(**{WEIGHT_COLUMN: values}), WEIGHT_COLUMN


def weight_spec(weights: Any, weight_type: str = "analytic") -> WeightSpec | None:
    """Check the ``weights`` / ``weight_type`` arguments (None: unweighted).

    Examples
    --------
    >>> weight_spec("pop", "Frequency").kind
    'frequency'
    >>> weight_spec(None) is None
    True
    """
    kind = check_option("weight_type", weight_type, WEIGHT_TYPES)
    if weights is None:
        if kind != "analytic":
            raise InvalidParameterError(
                f"weight_type={weight_type!r} was given without weights: pass weights='column' "
                "(or an array with one weight per row)."
            )
        return None
    if isinstance(weights, (str, int)) and not isinstance(weights, bool):
        return WeightSpec(weights, kind)
    if isinstance(weights, (pd.Series, np.ndarray, list, tuple)):
        values = np.asarray(weights)
        if values.ndim != 1 or not (
            np.issubdtype(values.dtype, np.number) or values.dtype == object
        ):
            raise InvalidParameterError(
                "The 'weights' parameter must be a column name or a one-dimensional numeric "
                f"array. Got an array of shape {values.shape} and dtype {values.dtype}."
            )
        index = weights.index if isinstance(weights, pd.Series) else None
        numbers = pd.to_numeric(pd.Series(values)).to_numpy(dtype=float)
        return WeightSpec(numbers, kind, index)
    raise InvalidParameterError(
        "The 'weights' parameter must be None, a column name or an array with one weight per "
        f"row. Got {type(weights).__name__}."
    )


def check_weight_column(frame: pd.DataFrame, column: Hashable) -> None:
    """A clear error when ``column`` is not a numeric column of ``frame``."""
    if column not in frame.columns:
        names = [str(c) for c in frame.columns if c != WEIGHT_COLUMN]
        raise InvalidParameterError(
            f"The weights column {column!r} is not in the data{available_columns(column, names)}."
        )
    dtype = frame[column].dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise DataError(f"The weights column {column!r} must be numeric. Got dtype {dtype}.")


def checked_weights(frame: pd.DataFrame, column: Hashable, kind: str) -> tuple[np.ndarray, Any]:
    """The weights in ``column`` of ``frame`` as floats and the mask of rows to keep
    (positive weight), or a clear error for bad values."""
    check_weight_column(frame, column)
    series = frame[column]
    if series.dtype == np.float64:  # a read-only view: no copy of a large column
        values = series.to_numpy()
    else:
        values = series.to_numpy(dtype=float, na_value=np.nan)
    return check_values(values, kind, str(column))


def check_values(values: np.ndarray, kind: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Errors for missing, infinite, negative and (frequency) non-integer weights; the
    mask of the rows with a positive weight (a warning counts the others).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     w, keep = check_values(np.array([1.0, 0.0, 2.0]), "analytic", "w")
    >>> keep.tolist()
    [True, False, True]
    """
    raise_bad_weights(values, kind, what)
    if values.size and values.min() > 0:  # the usual case: no mask to build
        return values, np.ones(values.size, dtype=bool)
    keep = values > 0
    warn_zero_weights(int((~keep).sum()), values.size, what)
    return values, keep


def raise_bad_weights(values: np.ndarray, kind: str, what: str) -> None:
    """A ``DataError`` for missing, infinite, negative or (frequency) non-integer weights."""
    label = f"The weights {what!r}" if what != WEIGHT_COLUMN else "The weights"
    fine = values.size == 0 or (bool((values >= 0).all()) and bool(np.isfinite(values.max())))
    if fine and kind != "frequency":
        return  # one comparison pass; the diagnostics below only for bad weights
    advice = "Weights must be finite and >= 0; drop those rows or fix the weights."
    problems = [
        (np.isnan(values), "missing", advice),
        (np.isinf(values), "infinite", advice),
        (values < 0, "negative", advice),
    ]
    if kind == "frequency":
        problems.append(
            (values != np.round(values), "non-integer",
             "Frequency weights count rows; use weight_type='analytic' for precision weights.")
        )  # fmt: skip
    for bad, word, hint in problems:
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{label} have {int(bad.sum())} {word} value(s) (first at row {first}: "
                f"{values[first]!r}). {hint}"
            )


def warn_zero_weights(dropped: int, total: int, what: str) -> None:
    """The warning (or, when every row is dropped, the error) for rows of weight zero."""
    if dropped == total:
        label = f"The weights {what!r}" if what != WEIGHT_COLUMN else "The weights"
        raise InsufficientDataError(f"{label} are zero in every row; nothing is left to estimate.")
    if dropped:
        warn(
            f"{dropped} of {total} row(s) with weight zero were dropped (they carry no "
            "information; as Stata and R lm).",
            MissingValueWarning,
        )
