"""Design matrices of a mixed model: y, X (fixed), Z (random), group codes and Λ's blocks."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from formulaic import model_matrix
from scipy import linalg

from panelre._validation import available_columns
from panelre._weights import check_values, check_weight_column
from panelre.exceptions import (
    DataError,
    DroppedVariableWarning,
    FormulaError,
    InsufficientDataError,
    MissingValueWarning,
)
from panelre.mixed.formula import MixedFormula

__all__ = ["FactorDesign", "MixedDesign", "build_design", "as_frame", "factor_levels"]


@dataclass(frozen=True)
class FactorDesign:
    """The random effects of one grouping factor: its columns of Z, level codes and labels.

    ``blocks`` lists, for each block of correlated random effects, the indices of its columns
    in ``z``; ``(x || g)`` gives one block per column.
    """

    name: str
    z: np.ndarray
    codes: np.ndarray
    labels: pd.Index
    random_names: tuple[str, ...]
    blocks: tuple[tuple[int, ...], ...]
    specs: tuple[object, ...]
    terms: tuple[str, ...] = ()  # the random terms as written, e.g. "(Days | Subject)"

    @property
    def q(self) -> int:
        """Random effects per level."""
        return int(self.z.shape[1])

    @property
    def n_levels(self) -> int:
        return int(self.labels.size)

    @property
    def is_intercept(self) -> bool:
        """True when the only random effect is an intercept (a column of ones)."""
        return self.q == 1 and bool(np.all(self.z[:, 0] == 1.0))


@dataclass(frozen=True)
class MixedDesign:
    """Everything the estimator needs from the data, after dropping incomplete rows: the
    response, the fixed-effect matrix and one ``FactorDesign`` per grouping factor."""

    y: np.ndarray
    x: np.ndarray
    factors: tuple[FactorDesign, ...]
    fixed_names: tuple[str, ...]
    response: str
    row_index: pd.Index
    fixed_spec: object
    dropped_columns: tuple[str, ...] = ()
    weights: np.ndarray | None = None

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])

    @property
    def single(self) -> FactorDesign:
        """The one grouping factor of a single-factor model."""
        if len(self.factors) != 1:
            raise ValueError("a single-factor quantity was asked of a multi-factor design")
        return self.factors[0]

    @property
    def is_random_intercept(self) -> bool:
        """True for one grouping factor whose only random effect is an intercept."""
        return len(self.factors) == 1 and self.factors[0].is_intercept

    def root_weights(self) -> np.ndarray | None:
        """``√w`` per row with prior weights, else None."""
        return None if self.weights is None else np.sqrt(self.weights)

    def scaled(self, shift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, z, y − shift)`` of a single-factor model, each row times ``√w`` with prior
        weights: the model with residual variance ``σ²/w`` is then the unweighted one."""
        z = self.single.z
        y = self.y - shift
        root = self.root_weights()
        if root is None:
            return self.x, z, y
        return self.x * root[:, None], z * root[:, None], y * root


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


def _group_values(data: pd.DataFrame, group: str, columns: tuple[str, ...], groups: object):
    if groups is not None and not isinstance(groups, str):
        values = np.asarray(groups)
        if values.ndim != 1 or values.shape[0] != data.shape[0]:
            raise DataError(
                f"'groups' must have one value per row of data ({data.shape[0]}). "
                f"Got shape {values.shape}."
            )
        return pd.Series(values, index=data.index)
    return factor_levels(data, group, columns)


def _level_text(values: pd.Series) -> pd.Series:
    """A column's values as level labels that do not depend on its dtype: whole numbers
    stored as floats (an integer column with a NaN) are written as integers, '3' not '3.0'."""
    if pd.api.types.is_float_dtype(values):
        finite = values.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1.0) == 0.0):
            return values.astype("Int64").astype(str)
    return values.astype(str)


def factor_levels(data: pd.DataFrame, group: str, columns: tuple[str, ...]) -> pd.Series:
    """The level of grouping factor ``group`` on each row: the column's value, or for an
    interaction ``a:b`` the values joined by ':' (NaN where a column is missing)."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise FormulaError(
            f"The grouping column {missing[0]!r} of the grouping factor {group!r} is not in "
            f"data{available_columns(missing[0], data.columns)}."
        )
    if len(columns) == 1:
        return data[columns[0]]
    frame = data[list(columns)]
    parts = [_level_text(frame[column]) for column in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + ":" + part
    complete = frame.notna().all(axis=1)
    distinct = pd.concat(parts, axis=1)[complete].drop_duplicates().shape[0]
    if joined[complete].nunique() != distinct:
        raise DataError(
            f"The levels of the grouping factor {group!r} are written by joining "
            f"{list(columns)} with ':', and values that contain ':' make different "
            "combinations look the same (e.g. 'a:b' + 'c' and 'a' + 'b:c'). Recode those "
            "columns without ':'."
        )
    return joined.where(frame.notna().all(axis=1))


def _random_parts(terms, data: pd.DataFrame):
    """Z columns, names, correlated blocks and formulaic specs of the terms of one factor."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    blocks: list[tuple[int, ...]] = []
    specs: list[object] = []
    for term in terms:
        mat = _matrix(term.expr, data, f"random term {term}")
        if mat.shape[1] == 0:
            raise FormulaError(f"The random term {term} has no columns.")
        start = len(names)
        for name in mat.columns:
            if name in names:
                raise FormulaError(
                    f"The random effect {name!r} appears in more than one random term of the "
                    f"grouping factor {term.group!r}. Got {[str(t) for t in terms]}."
                )
            names.append(str(name))
        cols.append(np.asarray(mat, dtype=float))
        idx = tuple(range(start, len(names)))
        blocks.extend([(i,) for i in idx] if term.independent else [idx])
        specs.append(mat.model_spec)
    return np.column_stack(cols), tuple(names), tuple(blocks), tuple(specs)


def _drop_incomplete(y, x, zs: list[np.ndarray], groups: list[pd.Series]):
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
    for z in zs:
        ok &= np.isfinite(z).all(axis=1)
    for values in groups:
        ok &= values.notna().to_numpy()
    n_bad = int((~ok).sum())
    if n_bad == ok.size:
        raise DataError("Every row has a missing value in a column the model uses.")
    if n_bad:
        warnings.warn(
            f"Dropped {n_bad} of {ok.size} rows with missing (NaN) or infinite values in the "
            "response, regressors, random-effect variables or grouping columns.",
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
    parts, group_values = [], []
    written = []
    for name in formula.factors:
        terms = [t for t in formula.random if t.group == name]
        written.append(tuple(str(t) for t in terms))
        parts.append(_random_parts(terms, data))
        group_values.append(_group_values(data, name, terms[0].group_columns, groups))
    ok = _drop_incomplete(y, x, [part[0] for part in parts], group_values)
    w = None
    if weights is not None:
        values, label = _weight_values(weights, data)
        _, positive = check_values(values[ok], "analytic", label)
        kept = ok.copy()
        kept[ok] = positive
        ok, w = kept, values[kept]
    factors = []
    for name, (z, random_names, blocks, specs), values, terms_written in zip(
        formula.factors, parts, group_values, written, strict=True
    ):
        codes, labels = pd.factorize(values[ok], sort=True)
        factors.append(
            FactorDesign(
                name=name,
                z=z[ok],
                codes=codes.astype(np.intp),
                labels=pd.Index(labels),
                random_names=random_names,
                blocks=blocks,
                specs=specs,
                terms=terms_written,
            )
        )
    factors = _lme4_order(factors)
    x, fixed_names, dropped = _drop_collinear(x[ok], fixed_names)
    design = MixedDesign(
        y=y[ok],
        x=x,
        factors=tuple(factors),
        fixed_names=fixed_names,
        response=formula.response,
        row_index=data.index[ok],
        fixed_spec=fixed.rhs.model_spec,
        dropped_columns=dropped,
        weights=w,
    )
    check_identifiable(design, formula.nested_factors)
    return design


def _lme4_order(factors: list[FactorDesign]) -> list[FactorDesign]:
    """lme4's order of the grouping factors, which is the order of θ, VarCorr and ranef:
    as written when the numbers of levels never increase along the formula, otherwise
    ``rev(order(nlevels))`` (decreasing, ties in reverse formula order), as ``mkReTrms``."""
    levels = [f.n_levels for f in factors]
    if all(b <= a for a, b in zip(levels, levels[1:], strict=False)):
        return list(factors)
    ascending = sorted(range(len(factors)), key=lambda i: levels[i])  # stable, like R
    return [factors[i] for i in reversed(ascending)]


def check_identifiable(design: MixedDesign, nested: frozenset[str] = frozenset()) -> None:
    """Raise when the variance components cannot be estimated from these data."""
    n, p = design.nobs, design.x.shape[1]
    for factor in design.factors:
        g, q, name = factor.n_levels, factor.q, factor.name
        if g < 2:
            raise InsufficientDataError(
                f"The grouping factor {name!r} must have at least 2 levels to estimate a "
                f"variance between its levels. Got {g} level ({factor.labels[0]!r})."
            )
        if n <= g * q:
            raise InsufficientDataError(
                f"There are {n} observations but {g} levels of {name!r} x {q} random "
                f"effect(s) = {g * q} random effects, so the random-effect variances and the "
                f"residual variance cannot be told apart. Each level of {name!r} needs more "
                "observations than random effects (e.g. groups of size 1 only cannot carry a "
                "random intercept)."
            )
    if n - p <= 0:
        raise InsufficientDataError(f"There are {n} observations for {p} fixed effects; need more.")
    _check_distinct_factors(design, nested)


def _check_distinct_factors(design: MixedDesign, nested: frozenset[str]) -> None:
    """Two grouping factors that both carry a random intercept and put the rows into the
    same groups are perfectly confounded."""
    seen: dict[tuple[int, bytes], str] = {}
    for factor in design.factors:
        if "Intercept" not in factor.random_names:
            continue
        # canonical relabelling: codes in order of first appearance
        _, first = np.unique(factor.codes, return_index=True)
        rank = np.empty(factor.n_levels, dtype=np.intp)
        rank[np.argsort(first)] = np.arange(factor.n_levels)
        key = (factor.n_levels, rank[factor.codes].tobytes())
        if key in seen:
            hint = ""
            if factor.name in nested:
                inner, outer = factor.name.split(":", 1)
                hint = (
                    f" {inner!r} does not subdivide {outer!r}; a nesting 'outer/inner' names "
                    f"the outer factor first: perhaps '(1 | {inner}/{outer})'."
                )
            raise DataError(
                f"The grouping factors {seen[key]!r} and {factor.name!r} put the rows into the "
                "same groups, so their random intercepts are perfectly confounded and their "
                f"variances cannot be told apart.{hint} Otherwise keep one of them, e.g. "
                f"'(1 | {seen[key]})'."
            )
        seen[key] = factor.name
