"""Least squares on sufficient statistics: the one solver every panel estimator uses.

A regression is given by row maps of the source's columns: the response ``y* = Y(z)``
and the candidate regressors ``x* = X(z)``. Their cross-products come from the
statistics (``panelre.stats.cross``); absorbed and collinear columns are dropped by the
shared rule (``panelre._columns``); the normal equations are solved through a scaled
Cholesky factor. When they are ill-conditioned, one refinement step with ``Σ x* e*``
computed from the rows (corrected semi-normal equations) restores QR-level accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from panelre._columns import select_columns
from panelre._linalg import RANK_TOL, cholesky_scaled, inv_psd, solve_with_residuals
from panelre.stats import PanelSource, RowMap, column_sums, corr2, cross

__all__ = ["LeastSquares", "least_squares", "response_and_fit", "HostFit", "host_least_squares"]

#: Condition number of the scaled normal equations above which the solution is refined.
REFINE_ABOVE = 1e6


@dataclass(frozen=True)
class LeastSquares:
    """A solved regression.

    Attributes
    ----------
    params : ndarray (k,)
        Coefficients of the kept regressors.
    names : list of str
    keep : ndarray of bool
        Over the candidate regressors.
    bread : ndarray (k, k)
        ``(X*'X*)⁻¹``.
    dropped, absorbed : list of str
    regressors : RowMap
        The kept regressors ``x*``.
    response : RowMap
        ``y*``.
    resid : RowMap
        ``e* = y* − x*'b``.
    """

    params: np.ndarray
    names: list[str]
    keep: np.ndarray
    bread: np.ndarray
    dropped: list[str]
    absorbed: list[str]
    regressors: RowMap
    response: RowMap
    resid: RowMap

    def coefficients(self, width: int, positions: Sequence[int]) -> np.ndarray:
        """``(1, −b)`` spread over a ``width``-column z (b at the kept ``positions``)."""
        c = np.zeros(width)
        c[0] = 1.0
        kept = [pos for pos, k in zip(positions, self.keep) if k]
        c[kept] = -self.params
        return c


def _solve(factor: tuple[np.ndarray, bool], d: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return linalg.cho_solve(factor, rhs / d, check_finite=False) / d


def least_squares(
    source: PanelSource,
    response: RowMap,
    regressors: RowMap,
    names: Sequence[str],
    *,
    raw_ss: np.ndarray | None = None,
    absorbed_by: str | None = None,
    tol: float = RANK_TOL,
    warn: bool = True,
) -> LeastSquares:
    """OLS of ``response`` on ``regressors`` over the rows of ``source``.

    Examples
    --------
    >>> import panelre as pr
    >>> from panelre.stats import bind
    >>> src = bind("inv ~ value + capital", pr.datasets.load("grunfeld"), entity="firm")
    >>> fit = least_squares(src, RowMap.select(4, [0]), RowMap.select(4, [1, 2, 3]),
    ...                     src.x_names)
    >>> fit.params.round(4).tolist()
    [-42.7144, 0.1156, 0.2307]
    """
    names = list(names)
    stats = source.stats
    xtx = cross(stats, regressors, regressors)
    xtx = (xtx + xtx.T) / 2
    sel = select_columns(xtx, names, raw_ss=raw_ss, absorbed_by=absorbed_by, tol=tol, warn=warn)
    kk = np.flatnonzero(sel.keep)
    X = regressors.columns(kk)
    gram = xtx[np.ix_(kk, kk)]
    xty = cross(stats, X, response)[:, 0]
    factor, d, cond = cholesky_scaled(gram)
    b = _solve(factor, d, xty)
    resid = _residual_map(response, X, b)
    if cond > REFINE_ABOVE:
        step = _solve(factor, d, source.scores(X, resid).gradient())
        b = b + step
        resid = _residual_map(response, X, b)
    return LeastSquares(
        params=b,
        names=[names[i] for i in kk],
        keep=sel.keep,
        bread=inv_psd(gram),
        dropped=sel.dropped,
        absorbed=sel.absorbed,
        regressors=X,
        response=response,
        resid=resid,
    )


def _residual_map(response: RowMap, X: RowMap, b: np.ndarray) -> RowMap:
    return RowMap.hstack([response, X]).times(np.concatenate([[1.0], -b]))


def response_and_fit(source: PanelSource, fit: LeastSquares) -> float:
    """R² of the regression itself: the squared correlation of ``y*`` and ``x*'b`` over its
    rows (R plm's R²), from the statistics."""
    pair = RowMap.hstack([fit.response, fit.regressors.times(fit.params)])
    stats = source.stats
    gram = cross(stats, pair, pair)
    return corr2(gram, column_sums(stats, pair), stats.n, np.array([1.0, 0]), np.array([0, 1.0]))


@dataclass(frozen=True)
class HostFit:
    """OLS on small in-memory (group-level) arrays."""

    params: np.ndarray
    keep: np.ndarray
    resid: np.ndarray


def host_least_squares(X: np.ndarray, y: np.ndarray, names: Sequence[str]) -> HostFit:
    """OLS of ``y`` on ``X`` held in memory (one row per group: a between regression),
    with the shared drop rule and no warning.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [1.0, 2, 3, 5], [2.0, 4, 6, 10]])
    >>> fit = host_least_squares(X, 1 + 2 * X[:, 1], ["a", "b", "c"])
    >>> fit.keep.tolist(), fit.params.round(10).tolist()
    ([True, True, False], [1.0, 2.0])
    """
    sel = select_columns(X.T @ X, list(names), warn=False)
    Xk = X[:, sel.keep]
    beta, resid = solve_with_residuals(Xk, y)
    return HostFit(beta, sel.keep, resid)
