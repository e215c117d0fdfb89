"""The arrays of a dynamic panel GMM model: panel-aware ``lag()`` terms, the differenced
equations and the Arellano–Bond instrument matrices, as R plm's ``pgmm``.

The panel is first completed to every entity x period (missing rows are NaN), so a lag is
a shift along the period axis. The equations are per entity, ``(N, R)`` for the R
equations and ``(N, R, K)`` for the regressors; the instruments are one sparse
``(N·R, L)`` matrix (scipy CSR, entity-major rows): a GMM-style column is non-zero in
one period only, so the dense block-diagonal matrix would be mostly zeros. Every sum over
entities is one (sparse) matrix product.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import formulaic
import numpy as np
import pandas as pd
from scipy import sparse

from panelre.exceptions import DataError, FormulaError, InsufficientDataError

__all__ = ["DynamicDesign", "expand_lags", "build_dynamic_design"]

_LAG = re.compile(r"\blag\(")


def _call_end(text: str, start: int) -> int:
    """Index just after the parenthesis closing the one opened at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise FormulaError(f"Unbalanced parentheses in {text!r}.")


def expand_lags(formula: str) -> str:
    """Write plm's lag ranges ``lag(x, a:b)`` as the terms ``lag(x, a) + ... + lag(x, b)``
    (a lag of 0 is ``x`` itself).

    Examples
    --------
    >>> expand_lags("y ~ lag(y, 1:2) + lag(np.log(w), 0:1) + k")
    'y ~ lag(y, 1) + lag(y, 2) + np.log(w) + lag(np.log(w), 1) + k'
    """
    out, i = [], 0
    for match in _LAG.finditer(formula):
        if match.start() < i:
            continue
        end = _call_end(formula, match.end() - 1)
        inner = formula[match.end() : end - 1]
        expr, _, lags = inner.rpartition(",")
        expr, lags = expr.strip(), lags.strip()
        if not expr or not re.fullmatch(r"\d+(:\d+)?", lags):
            raise FormulaError(
                f"lag() takes an expression and a lag k or a range a:b, e.g. lag(y, 1) or "
                f"lag(y, 1:2). Got lag({inner})."
            )
        first, _, last = lags.partition(":")
        terms = [
            expr if k == 0 else f"lag({expr}, {k})"
            for k in range(int(first), int(last or first) + 1)
        ]
        out += [formula[i : match.start()], " + ".join(terms)]
        i = end
    out.append(formula[i:])
    return "".join(out)


def _is_lag_of(name: str, expr: str) -> bool:
    """True when the column ``name`` is ``expr`` or one of its lags, ``lag(expr, k)``."""
    plain, target = name.replace(" ", ""), expr.replace(" ", "")
    return plain == target or re.fullmatch(rf"lag\({re.escape(target)},\d+\)", plain) is not None


def _longest_lag(terms: Sequence[str]) -> int:
    lags = [int(k) for t in terms for k in re.findall(r"lag\(.*,\s*(\d+)\)", t)]
    return max(lags, default=0)


@dataclass(frozen=True)
class DynamicDesign:
    """The differenced equations of a dynamic panel and their instruments.

    Attributes
    ----------
    y : ndarray (N, R)
        Δy of the R equations per entity (0 where the row is missing).
    X : ndarray (N, R, K)
        The differenced regressors (and time dummies).
    Z : scipy.sparse.csr_array (N·R, L)
        The instruments; row ``i·R + r`` is equation r of entity i (zero where the
        equation is not observed).
    valid : ndarray of bool (N, R)
        Equations with every value observed.
    names : list of str
        The K coefficients.
    entities : Index
    periods : ndarray
        The periods of the R equations.
    n_gmm : int
        Instrument columns of GMM type (the rest are standard instruments).
    H : ndarray (R, R)
        The one-step weighting's error covariance: 2 on the diagonal and -1 beside it for
        differences; ``[[DD', D], [D', I]]`` for system GMM (xtabond2's ``h(3)``).
    difference_rows : int
        The first rows are the differenced equations (all rows in difference GMM).
    groups : dict of str -> ndarray
        Instrument columns by source: each GMM variable (its differenced- and, in system
        GMM, level-equation columns) and ``"standard"`` (exogenous regressors, time
        dummies and ``iv`` instruments).
    """

    y: np.ndarray
    X: np.ndarray
    Z: sparse.csr_array
    valid: np.ndarray
    names: list[str]
    entities: pd.Index
    periods: np.ndarray
    n_gmm: int
    H: np.ndarray
    difference_rows: int
    groups: dict[str, np.ndarray]

    @property
    def n_instruments(self) -> int:
        """The number of instrument columns L."""
        return int(self.Z.shape[1])


def _grid(data: pd.DataFrame, entity: Any, time: Any) -> tuple[pd.DataFrame, pd.Index, np.ndarray]:
    """The data completed to every entity x period, sorted by entity then period."""
    for column in (entity, time):
        if column not in data.columns:
            raise DataError(
                f"pr.gmm needs the column {column!r}; the data have {list(data.columns)}."
            )
    keys = data[[entity, time]]
    if keys.duplicated().any():
        raise DataError(
            f"Some ({entity}, {time}) pairs appear more than once; a dynamic panel needs one "
            "row per entity and period."
        )
    periods = np.sort(data[time].unique())
    entities = pd.Index(np.sort(data[entity].unique()), name=entity)
    position = pd.Series(np.arange(len(periods)), index=periods)
    first = data.groupby(entity)[time].min().map(position)
    last = data.groupby(entity)[time].max().map(position)
    counts = data.groupby(entity)[time].size()
    gaps = counts[(last - first + 1) != counts]
    if len(gaps):
        raise DataError(
            f"{len(gaps)} entity(ies) have gaps in {time!r} (e.g. {gaps.index[0]!r}): a lag must "
            "be the previous period. Fill the missing periods with NaN rows or drop them."
        )
    full = pd.MultiIndex.from_product([entities, periods], names=[entity, time])
    frame = data.set_index([entity, time]).reindex(full).reset_index()
    return frame, entities, periods


def _evaluate(expressions: str, frame: pd.DataFrame, shape: tuple[int, int]) -> pd.DataFrame:
    """Evaluate ``"~ 0 + terms"`` on the completed grid with panel-aware ``lag``."""
    n_entities, n_periods = shape
    codes = np.repeat(np.arange(n_entities), n_periods)

    def lag(values: Any, k: int = 1) -> np.ndarray:
        return pd.Series(np.asarray(values, dtype=float)).groupby(codes).shift(k).to_numpy()

    def diff(values: Any) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        return v - lag(v, 1)

    context = {"lag": lag, "diff": diff, "log": np.log, "exp": np.exp, "np": np}
    try:
        with np.errstate(all="ignore"):
            return formulaic.model_matrix(expressions, frame, context=context, na_action="ignore")
    except Exception as exc:
        raise FormulaError(f"Cannot evaluate {expressions!r}: {exc}") from None


class _InstrumentColumns:
    """Instrument columns collected as sparse triplets: each column is filled one
    equation row at a time with the values of every entity (a loop over instrument
    columns and periods, never over entities)."""

    def __init__(self, n_entities: int, n_equations: int) -> None:
        self.n_entities, self.n_equations = n_entities, n_equations
        small = n_entities * n_equations < np.iinfo(np.int32).max
        self._index = np.int32 if small else np.int64
        self.width = 0
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self._values: list[np.ndarray] = []

    def put(self, equation: int, column: int, values: np.ndarray) -> None:
        """Set ``column`` (counted from the current width) of ``equation`` to ``values``
        (one per entity; NaN and zero entries are left out)."""
        keep = np.flatnonzero(np.nan_to_num(values) != 0)
        self._rows.append((keep * self.n_equations + equation).astype(self._index))
        self._cols.append(np.full(len(keep), self.width + column, dtype=np.int32))
        self._values.append(values[keep])

    def advance(self, columns: int) -> None:
        """Close a block of ``columns`` columns."""
        self.width += columns

    def put_block(self, block: np.ndarray, first_equation: int = 0) -> None:
        """Fill the next ``c`` columns of equations ``first_equation`` on with a dense
        ``(N, r, c)`` block (call ``advance`` when the columns are complete)."""
        for c in range(block.shape[2]):  # a loop over instrument columns
            for r in range(block.shape[1]):
                self.put(first_equation + r, c, block[:, r, c])

    def matrix(self, valid: np.ndarray) -> sparse.csr_array:
        """The ``(N·R, width)`` matrix, zero in the rows of unobserved equations."""
        rows = np.concatenate(self._rows) if self._rows else np.zeros(0, dtype=self._index)
        cols = np.concatenate(self._cols) if self._cols else np.zeros(0, dtype=np.int32)
        values = np.concatenate(self._values) if self._values else np.zeros(0)
        observed = valid.ravel()[rows]
        shape = (self.n_entities * self.n_equations, self.width)
        return sparse.csr_array((values[observed], (rows[observed], cols[observed])), shape=shape)


def _gmm_block(
    out: _InstrumentColumns,
    values: np.ndarray,
    first_lag: int,
    last_lag: int | None,
    rows: np.ndarray,
    collapse: bool,
) -> int:
    """Levels ``v_{t-l}`` (l from ``first_lag`` to ``last_lag``) instrumenting the
    differenced equation of each period t in ``rows`` (equation rows 0, 1, ...): one
    column per period and lag (block diagonal), or one per lag with ``collapse``.
    Returns the number of columns."""
    _, T = values.shape
    top = T - 1 if last_lag is None else min(int(last_lag), T - 1)
    if collapse:
        lags = list(range(first_lag, top + 1))
        for c, lag_k in enumerate(lags):  # a loop over instrument columns
            for r, t in enumerate(rows):
                if t - lag_k >= 0:
                    out.put(r, c, values[:, t - lag_k])
        out.advance(len(lags))
        return len(lags)
    c = 0
    for r, t in enumerate(rows):
        for lag_k in range(first_lag, min(top, t) + 1):  # instrument columns, not entities
            out.put(r, c, values[:, t - lag_k])
            c += 1
    out.advance(c)
    return c


def _level_block(
    out: _InstrumentColumns, values: np.ndarray, rows: np.ndarray, collapse: bool, offset: int
) -> int:
    """``Δv_{t-1}`` instrumenting the level equation of each period t in ``rows`` (equation
    rows ``offset``, ...): one column per period with a lagged difference, or one column
    with ``collapse``. Returns the number of columns."""
    usable = [r for r, t in enumerate(rows) if t - 2 >= 0]
    for c, r in enumerate(usable):  # a loop over instrument columns
        t = rows[r]
        out.put(offset + r, 0 if collapse else c, values[:, t - 1] - values[:, t - 2])
    width = 1 if collapse else len(usable)
    out.advance(width)
    return width


def _difference_matrix(rows_d: np.ndarray, rows_l: np.ndarray) -> np.ndarray:
    """D with ``D v = Δv``: differenced equation rows x level equation rows."""
    D = np.zeros((len(rows_d), len(rows_l)))
    for i, t in enumerate(rows_d):
        D[i, rows_l == t] = 1.0
        D[i, rows_l == t - 1] = -1.0
    return D


def build_dynamic_design(
    formula: str,
    data: pd.DataFrame,
    *,
    entity: Any,
    time: Any,
    gmm: Mapping[str, tuple[int, int | None]],
    effects: str,
    collapse: bool,
    transformation: str = "difference",
    iv: Sequence[str] = (),
) -> DynamicDesign:
    """The equations and instruments of difference GMM (plm ``pgmm``, ``transformation =
    "d"``) or system GMM (``"ld"``: the differenced equations stacked over the level
    equations, instrumented by lagged differences)."""
    if "~" not in formula:
        raise FormulaError(f"A formula must be 'y ~ x1 + x2'. Got {formula!r}.")
    lhs, rhs = (part.strip() for part in expand_lags(formula).split("~", 1))
    frame, entities, periods = _grid(data, entity, time)
    N, T = len(entities), len(periods)
    y_levels = _evaluate(f"0 + {lhs}", frame, (N, T)).to_numpy(dtype=float)[:, 0].reshape(N, T)
    X_frame = _evaluate(f"0 + {rhs}", frame, (N, T))
    names = [str(c) for c in X_frame.columns]
    X_levels = X_frame.to_numpy(dtype=float).reshape(N, T, len(names))
    gmm_levels = []
    for expr, (first_lag, last_lag) in gmm.items():
        values = _evaluate(f"0 + {expr}", frame, (N, T)).to_numpy(dtype=float)
        gmm_levels.append((expr, values[:, 0].reshape(N, T), int(first_lag), last_lag))
    shortest = min(first for _, _, first, _ in gmm_levels)
    longest = _longest_lag(names)
    start = max(longest + 1, shortest)  # plm's TL1: the first differenced equation
    if T - start < 1:
        raise InsufficientDataError(
            f"With lags up to {longest} and GMM instruments from lag {shortest}, the {T} "
            "periods leave no differenced equation."
        )
    rows_d = np.arange(start, T)
    endogenous = [any(_is_lag_of(n, expr) for expr, *_ in gmm_levels) for n in names]
    exogenous = [not e for e in endogenous]
    if iv:  # extra standard instruments, as exogenous columns of their own
        extra = _evaluate("0 + " + " + ".join(iv), frame, (N, T)).to_numpy(dtype=float)
        X_levels_iv = extra.reshape(N, T, -1)
    else:
        X_levels_iv = np.zeros((N, T, 0))
    dy = y_levels[:, rows_d] - y_levels[:, rows_d - 1]
    dX = X_levels[:, rows_d, :] - X_levels[:, rows_d - 1, :]
    R1 = len(rows_d)
    system = transformation != "difference"
    rows_l = np.arange(max(longest, shortest - 1), T) if system else np.arange(0)  # plm's TL2
    R2 = len(rows_l)
    Z = _InstrumentColumns(N, R1 + R2)
    sizes_d = [_gmm_block(Z, v, a, b, rows_d, collapse) for _, v, a, b in gmm_levels]
    sizes_l = [_level_block(Z, v, rows_l, collapse, R1) if system else 0 for _, v, *_ in gmm_levels]
    n_gmm = Z.width
    d_iv = X_levels_iv[:, rows_d, :] - X_levels_iv[:, rows_d - 1, :]
    Z.put_block(np.concatenate([dX[:, :, exogenous], d_iv], axis=2))
    if not system:
        y, X = dy, dX
        Z.advance(int(sum(exogenous)) + d_iv.shape[2])
        if effects == "twoway":  # differenced dummies of the equations' periods
            time_columns = np.broadcast_to(np.eye(R1) - np.eye(R1, k=-1), (N, R1, R1))
            X = np.concatenate([X, time_columns], axis=2)
            Z.put_block(time_columns)
            Z.advance(R1)
            names = names + [str(p) for p in periods[rows_d]]
        H = 2 * np.eye(R1) - np.eye(R1, k=1) - np.eye(R1, k=-1)
        equation_periods = periods[rows_d]
    else:
        y = np.concatenate([dy, y_levels[:, rows_l]], axis=1)
        X = np.concatenate([dX, X_levels[:, rows_l, :]], axis=1)
        exo_l = np.concatenate(
            [X_levels[:, rows_l, :][:, :, exogenous], X_levels_iv[:, rows_l, :]], axis=2
        )
        Z.put_block(exo_l, R1)
        Z.advance(exo_l.shape[2])
        if effects == "twoway":  # a constant and period dummies in the level equations
            level_part = np.column_stack(
                [np.ones(R2)] + [(rows_l == t).astype(float) for t in rows_d]
            )
            diff_part = np.column_stack(
                [np.zeros(R1)] + [(rows_d == t).astype(float) - (rows_d - 1 == t) for t in rows_d]
            )
            both = np.broadcast_to(np.vstack([diff_part, level_part]), (N, R1 + R2, R1 + 1))
            X = np.concatenate([X, both], axis=2)
            Z.put_block(np.broadcast_to(level_part, (N, R2, R1 + 1)), R1)
            Z.advance(R1 + 1)
            names = names + ["Intercept"] + [str(p) for p in periods[rows_d]]
        D = _difference_matrix(rows_d, rows_l)
        H = np.block([[D @ D.T, D], [D.T, np.eye(R2)]])
        equation_periods = np.concatenate([periods[rows_d], periods[rows_l]])
    groups: dict[str, np.ndarray] = {}
    offset_d, offset_l = 0, int(sum(sizes_d))
    for (expr, *_), size_d, size_l in zip(gmm_levels, sizes_d, sizes_l, strict=True):
        groups[expr] = np.r_[
            np.arange(offset_d, offset_d + size_d), np.arange(offset_l, offset_l + size_l)
        ]
        offset_d, offset_l = offset_d + size_d, offset_l + size_l
    groups["standard"] = np.arange(n_gmm, Z.width)
    valid = np.isfinite(y) & np.isfinite(X).all(axis=2)
    mask = valid[:, :, None]
    return DynamicDesign(
        y=np.where(valid, y, 0.0),
        X=np.where(mask, np.nan_to_num(X, nan=0.0), 0.0),
        Z=Z.matrix(valid),
        valid=valid,
        names=names,
        entities=entities,
        periods=equation_periods,
        n_gmm=n_gmm,
        H=H,
        difference_rows=len(rows_d),
        groups=groups,
    )
