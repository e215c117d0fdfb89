"""Turn user input (arrays, Series, column names, formulas) into validated study arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from panelre._validation import available_columns
from panelre._warnings import warn
from panelre._weights import check_values
from panelre.exceptions import (
    DataError,
    FormulaError,
    InvalidParameterError,
    MissingValueWarning,
    RankDeficiencyError,
)

__all__ = ["StudyData", "column", "prepare_studies"]

INTERCEPT = "Intercept"


@dataclass(frozen=True)
class StudyData:
    """Validated inputs of one meta-analysis (no missing values, positive variances).

    ``X`` always has at least one column; ``has_intercept`` tells whether one of them is
    the column named ``"Intercept"``; ``int_only`` whether the model has no moderators.
    """

    y: np.ndarray
    v: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    labels: pd.Index
    has_intercept: bool
    int_only: bool
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        for a in (self.y, self.v, self.X, self.weights):
            if a is not None:
                a.flags.writeable = False

    @property
    def k(self) -> int:
        return int(self.y.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    def subset(self, keep: np.ndarray) -> StudyData:
        """The same model on the studies selected by the boolean mask ``keep``."""
        return StudyData(
            self.y[keep],
            self.v[keep],
            self.X[keep],
            self.names,
            self.labels[keep],
            self.has_intercept,
            self.int_only,
            None if self.weights is None else self.weights[keep],
        )


def column(name: str, value: Any, data: pd.DataFrame | None, n: int | None = None) -> np.ndarray:
    """``value`` as a float vector: a column of ``data`` when it is a string, else array-like."""
    if isinstance(value, str):
        if data is None:
            raise InvalidParameterError(
                f"The {name!r} argument is the column name {value!r}, but no data= was given. "
                "Pass data=DataFrame or an array of numbers."
            )
        if value not in data.columns:
            raise DataError(
                f"The {name!r} argument names column {value!r}, which is not in data"
                f"{available_columns(value, data.columns)}."
            )
        value = data[value]
    try:
        arr = np.asarray(
            pd.to_numeric(pd.Series(np.asarray(value).ravel()), errors="raise"), dtype=float
        )
    except (TypeError, ValueError):
        raise DataError(f"The {name!r} argument must hold numbers. Got {value!r:.80}.") from None
    if np.ndim(value) > 1 and np.asarray(value).squeeze().ndim > 1:
        raise DataError(
            f"The {name!r} argument must be one-dimensional. Got shape {np.shape(value)}."
        )
    if n is not None and arr.shape[0] != n:
        raise DataError(
            f"The {name!r} argument has {arr.shape[0]} values but the others have {n}; all "
            "inputs must have one value per study."
        )
    return arr


def _design(moderators: Any, data: pd.DataFrame | None, k: int) -> tuple[np.ndarray, list[str]]:
    """The moderator design matrix (with intercept unless a formula removes it) and names."""
    if moderators is None:
        return np.ones((k, 1)), [INTERCEPT]
    if isinstance(moderators, str):
        if data is None:
            raise InvalidParameterError(
                f"The 'moderators' formula {moderators!r} needs data=DataFrame to look up columns."
            )
        import formulaic

        formula = moderators if "~" in moderators else "~ " + moderators
        try:
            mm = formulaic.model_matrix(formula, data, na_action="ignore")
        except Exception as exc:  # formulaic raises many types
            raise FormulaError(
                f"The 'moderators' formula {moderators!r} could not be parsed against data: {exc}"
            ) from exc
        frame = pd.DataFrame(mm)
        return frame.to_numpy(dtype=float), [str(c) for c in frame.columns]
    if isinstance(moderators, pd.Series):
        frame = moderators.to_frame(name=moderators.name if moderators.name is not None else "x1")
    elif isinstance(moderators, pd.DataFrame):
        frame = moderators
    else:
        arr = np.asarray(moderators, dtype=float)
        arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
        frame = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
    if frame.shape[0] != k:
        raise DataError(
            f"The 'moderators' have {frame.shape[0]} rows but there are {k} studies; they must "
            "have one row per study."
        )
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            "The 'moderators' must be numeric; use a formula such as "
            "'~ C(group)' for categorical moderators."
        ) from None
    return np.column_stack([np.ones(k), values]), [INTERCEPT] + [str(c) for c in frame.columns]


def _labels(labels: Any, yi: Any, data: pd.DataFrame | None, k: int) -> pd.Index:
    if labels is not None:
        if isinstance(labels, str):
            if data is None or labels not in data.columns:
                raise DataError(f"The 'labels' column {labels!r} is not in data.")
            labels = data[labels]
        out = pd.Index(np.asarray(labels).ravel())
        if out.shape[0] != k:
            raise DataError(f"The 'labels' have {out.shape[0]} entries but there are {k} studies.")
        return out
    source = data if data is not None else yi if isinstance(yi, pd.Series) else None
    if source is not None and not isinstance(source.index, pd.RangeIndex):
        return pd.Index(source.index)
    return pd.Index(np.arange(1, k + 1), name="study")


def _drop_missing(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Mask of complete rows; warn with the count of dropped studies; reject inf."""
    values = np.column_stack([y, v, X])
    if np.isinf(values).any():
        raise DataError(
            "yi, vi and moderators must be finite; found an infinite value "
            "(a log of a zero count? use effect_size's default add=0.5)."
        )
    keep = ~np.isnan(values).any(axis=1)
    dropped = int((~keep).sum())
    if dropped:
        warn(
            f"Dropped {dropped} of {keep.size} studies with missing yi, vi or moderators.",
            MissingValueWarning,
        )
    return keep


def prepare_studies(
    yi: Any,
    vi: Any,
    moderators: Any = None,
    data: pd.DataFrame | None = None,
    labels: Sequence[Any] | str | None = None,
    weights: Any = None,
) -> StudyData:
    """Resolve and validate the inputs of ``panelre.meta.meta_analysis``."""
    if data is not None and not isinstance(data, pd.DataFrame):
        raise InvalidParameterError(
            f"The 'data' parameter must be a pandas DataFrame. Got {type(data).__name__}."
        )
    y = column("yi", yi, data)
    v = column("vi", vi, data, n=y.shape[0])
    if y.shape[0] == 0:
        raise DataError("No studies: yi is empty.")
    X, names = _design(moderators, data, y.shape[0])
    index = _labels(labels, yi, data, y.shape[0])
    keep = _drop_missing(y, v, X)
    w = None
    if weights is not None:
        w = column("weights", weights, data, n=y.shape[0])
        _, positive = check_values(w[keep], "analytic", "weights")
        kept = keep.copy()
        kept[keep] = positive  # weight zero: dropped with a warning that counts them
        keep = kept
    y, v, X, index = y[keep], v[keep], X[keep], index[keep]
    w = None if w is None else w[keep]
    if y.shape[0] == 0:
        raise DataError("No studies left after dropping rows with missing values.")
    if (v <= 0).any():
        bad = [str(lab) for lab in index[v <= 0][:5]]
        raise DataError(
            f"Sampling variances vi must be > 0; got {int((v <= 0).sum())} zero or negative "
            f"value(s) (studies {', '.join(bad)})."
        )
    if X.shape[1] > 0 and np.linalg.matrix_rank(X) < X.shape[1]:
        raise RankDeficiencyError(
            f"The moderator design matrix with columns {names} is rank deficient on the "
            f"{y.shape[0]} studies used; remove collinear moderators."
        )
    has_int = INTERCEPT in names
    return StudyData(y, v, X, tuple(names), index, has_int, has_int and len(names) == 1, w)
