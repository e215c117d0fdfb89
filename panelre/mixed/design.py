"""Design matrices of a mixed model: y, X (fixed), Z (random), group codes and Λ's blocks."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from formulaic import model_matrix
from scipy import linalg

from panelre._weights import check_values, check_weight_column
from panelre.exceptions import (
    DataError,
    DroppedVariableWarning,
    FormulaError,
    InsufficientDataError,
    MissingValueWarning,
)
from panelre.mixed.formula import MixedFormula

__all__ = ["MixedDesign", "build_design", "as_frame"]


@dataclass(frozen=True)
class MixedDesign:
    """Everything the estimator needs from the data, after dropping incomplete rows.

    ``blocks`` lists, for each block of correlated random effects, the indices of its columns
    in ``z``; ``(x || g)`` gives one block per column.
    """

    y: np.ndarray
    x: np.ndarray
    z: np.ndarray
    codes: np.ndarray
    group_labels: pd.Index
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]
    blocks: tuple[tuple[int, ...], ...]
    group_name: str
    response: str
    row_index: pd.Index
    fixed_spec: object
    random_specs: tuple[object, ...]
    dropped_columns: tuple[str, ...] = ()
    weights: np.ndarray | None = None

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_groups(self) -> int:
        return int(self.group_labels.size)

    @property
    def is_random_intercept(self) -> bool:
        """True when the only random effect is an intercept (a column of ones)."""
        return self.z.shape[1] == 1 and bool(np.all(self.z[:, 0] == 1.0))

    def scaled(self, shift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, z, y − shift)``, each row times ``√w`` with prior weights: the model with
        residual variance ``σ²/w`` is then the unweighted one."""
        y = self.y - shift
        if self.weights is None:
            return self.x, self.z, y
        root = np.sqrt(self.weights)
        return self.x * root[:, None], self.z * root[:, None], y * root


def as_frame(data: Any) -> pd.DataFrame:
    """Accept a pandas DataFrame (index levels usable as columns) or a polars DataFrame."""
    if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame):
        data = data.to_pandas()
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"'data' must be a pandas or polars DataFrame. Got {type(data).__name__}.")
    if any(name is not None for name in data.index.names):
        data = data.reset_index()  # a new frame: the user's is never modified
    if data.shape[0] == 0:
        raise DataError("'data' has no rows.")
    return data


def _matrix(spec: str, data: pd.DataFrame, what: str):
    try:
        return model_matrix(spec, data, na_action="ignore")
    except FormulaError:
        raise
    except Exception as exc:  # formulaic raises many types for bad formulas/columns
        raise FormulaError(f"Cannot build the {what} from {spec!r}: {exc}") from exc


def _group_values(data: pd.DataFrame, group: str, groups: object) -> pd.Series:
    if groups is not None and not isinstance(groups, str):
        values = np.asarray(groups)
        if values.ndim != 1 or values.shape[0] != data.shape[0]:
            raise DataError(
                f"'groups' must have one value per row of data ({data.shape[0]}). "
                f"Got shape {values.shape}."
            )
        return pd.Series(values, index=data.index)
    if group not in data.columns:
        raise FormulaError(
            f"The grouping column {group!r} is not in data. Available: {list(data.columns)}."
        )
    return data[group]


def _random_parts(formula: MixedFormula, data: pd.DataFrame):
    cols: list[np.ndarray] = []
    names: list[str] = []
    blocks: list[tuple[int, ...]] = []
    specs: list[object] = []
    for term in formula.random:
        mat = _matrix(term.expr, data, f"random term {term}")
        if mat.shape[1] == 0:
            raise FormulaError(f"The random term {term} has no columns.")
        start = len(names)
        for name in mat.columns:
            if name in names:
                raise FormulaError(
                    f"The random effect {name!r} appears in more than one random term. Got "
                    f"{[str(t) for t in formula.random]}."
                )
            names.append(str(name))
        cols.append(np.asarray(mat, dtype=float))
        idx = tuple(range(start, len(names)))
        blocks.extend([(i,) for i in idx] if term.independent else [idx])
        specs.append(mat.model_spec)
    return np.column_stack(cols), tuple(names), tuple(blocks), tuple(specs)


def _drop_incomplete(y, x, z, groups: pd.Series):
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1) & np.isfinite(z).all(axis=1)
    ok &= groups.notna().to_numpy()
    n_bad = int((~ok).sum())
    if n_bad == ok.size:
        raise DataError("Every row has a missing value in a column the model uses.")
    if n_bad:
        warnings.warn(
            f"Dropped {n_bad} of {ok.size} rows with missing (NaN) or infinite values in the "
            "response, regressors, random-effect variables or grouping column.",
            MissingValueWarning,
            stacklevel=4,
        )
    return ok


def _drop_collinear(x: np.ndarray, names: tuple[str, ...]):
    """Remove fixed-effect columns that are linear combinations of earlier ones (as lme4).

    Column j is kept when its squared residual on the kept earlier columns, relative to its
    own sum of squares, exceeds 1e-11 (a loop over columns, on the p x p matrix X'X).
    """
    if x.shape[1] == 0:
        raise FormulaError("The fixed part has no columns; keep at least the intercept.")
    xtx = x.T @ x
    norms = np.sqrt(np.diag(xtx))
    scaled = xtx / np.outer(np.where(norms > 0, norms, 1.0), np.where(norms > 0, norms, 1.0))
    keep: list[int] = []
    for j in range(x.shape[1]):
        resid = scaled[j, j]
        if keep and resid > 0:
            c = scaled[np.ix_(keep, [j])]
            resid -= float(
                c[:, 0] @ linalg.solve(scaled[np.ix_(keep, keep)], c[:, 0], assume_a="pos")
            )
        if norms[j] > 0 and resid > 1e-11:
            keep.append(j)
    if len(keep) == x.shape[1]:
        return x, names, ()
    dropped = tuple(names[i] for i in range(x.shape[1]) if i not in keep)
    warnings.warn(
        f"The fixed-effect model matrix is rank deficient; dropped the collinear column(s) "
        f"{list(dropped)} and kept {[names[i] for i in keep]}.",
        DroppedVariableWarning,
        stacklevel=4,
    )
    return x[:, keep], tuple(names[i] for i in keep), dropped


def _weight_values(weights: object, data: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Prior weights from a column name or one value per row, and their label."""
    if isinstance(weights, str):
        check_weight_column(data, weights)
        return data[weights].to_numpy(dtype=float, na_value=np.nan), weights
    values = np.asarray(weights, dtype=float)
    if values.ndim != 1 or values.shape[0] != data.shape[0]:
        raise DataError(
            f"'weights' must be a column name or one value per row of data ({data.shape[0]}). "
            f"Got shape {values.shape}."
        )
    return values, "weights"


def build_design(
    formula: MixedFormula, data: pd.DataFrame, groups: object = None, weights: object = None
) -> MixedDesign:
    """Model matrices for ``formula`` on ``data`` (rows with missing values removed; rows
    of prior weight zero dropped with a warning)."""
    fixed = _matrix(formula.fixed_formula, data, "fixed part")
    y = np.asarray(fixed.lhs, dtype=float)
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise FormulaError(f"The response must be one column. Got {list(fixed.lhs.columns)}.")
        y = y[:, 0]
    x = np.asarray(fixed.rhs, dtype=float)
    fixed_names = tuple(str(c) for c in fixed.rhs.columns)
    z, random_names, blocks, specs = _random_parts(formula, data)
    group_values = _group_values(data, formula.group, groups)
    ok = _drop_incomplete(y, x, z, group_values)
    w = None
    if weights is not None:
        values, label = _weight_values(weights, data)
        _, positive = check_values(values[ok], "analytic", label)
        kept = ok.copy()
        kept[ok] = positive
        ok, w = kept, values[kept]
    y, x, z = y[ok], x[ok], z[ok]
    codes, labels = pd.factorize(group_values[ok], sort=True)
    x, fixed_names, dropped = _drop_collinear(x, fixed_names)
    design = MixedDesign(
        y=y,
        x=x,
        z=z,
        codes=codes.astype(np.intp),
        group_labels=pd.Index(labels),
        fixed_names=fixed_names,
        random_names=random_names,
        blocks=blocks,
        group_name=formula.group,
        response=formula.response,
        row_index=data.index[ok],
        fixed_spec=fixed.rhs.model_spec,
        random_specs=specs,
        dropped_columns=dropped,
        weights=w,
    )
    check_identifiable(design)
    return design


def check_identifiable(design: MixedDesign) -> None:
    """Raise when the variance components cannot be estimated from these data."""
    g, q, n = design.n_groups, design.z.shape[1], design.nobs
    name = design.group_name
    if g < 2:
        raise InsufficientDataError(
            f"The grouping factor {name!r} must have at least 2 levels to estimate a variance "
            f"between groups. Got {g} level."
        )
    if n <= g * q:
        raise InsufficientDataError(
            f"There are {n} observations but {g} groups x {q} random effect(s) = {g * q} random "
            "effects, so the random-effect variances and the residual variance cannot be told "
            f"apart. Each group of {name!r} needs more observations than random effects "
            "(e.g. groups of size 1 only cannot carry a random intercept)."
        )
    if n - design.x.shape[1] <= 0:
        raise InsufficientDataError(
            f"There are {n} observations for {design.x.shape[1]} fixed effects; need more."
        )
