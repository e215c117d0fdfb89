"""Least squares on sufficient statistics: the one solver every panel estimator uses.

A regression is given by one row map of the source's columns, ``c = C(z)``: output 0
is the response ``y*``, some other outputs are the candidate regressors ``x*``. Their
cross-products ``Σ c c'`` come from the statistics (``panelre.stats.cross``), once;
absorbed and collinear columns are dropped by the shared rule (``panelre._columns``);
the normal equations are solved through a scaled Cholesky factor. When they are
ill-conditioned, one refinement step with ``Σ x* e*`` computed from the rows (corrected
semi-normal equations) restores QR-level accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from panelre._columns import select_columns
from panelre._linalg import RANK_TOL, cholesky_scaled, inv_psd, solve_with_residuals
from panelre.stats import PanelSource, RowMap, column_sums, corr2, cross

__all__ = ["LeastSquares", "least_squares", "reliable_ssr", "HostFit", "host_least_squares"]

#: Condition number of the scaled normal equations above which the solution is refined.
REFINE_ABOVE = 1e6


@dataclass(frozen=True)
class LeastSquares:
    """A solved regression of output 0 of a ``columns`` map on some of its other outputs.

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
    resid : RowMap
        ``e* = y* − x*'b``.
    coef : ndarray (m,)
        ``(1, −b)`` over the outputs of ``columns`` (0 for unused or dropped ones), so that
        ``e* = columns · coef``.
    gram, totals : ndarray
        ``Σ c c'`` and ``Σ c`` of the ``columns`` outputs (weighted with observation
        weights); ``n`` their rows (``Σ w`` with weights).
    """

    params: np.ndarray
    names: list[str]
    keep: np.ndarray
    bread: np.ndarray
    dropped: list[str]
    absorbed: list[str]
    regressors: RowMap
    resid: RowMap
    coef: np.ndarray
    gram: np.ndarray
    totals: np.ndarray
    n: float

    @property
    def ssr(self) -> float:
        """``e*'e*`` from the cross-products."""
        return max(float(self.coef @ self.gram @ self.coef), 0.0)

    @property
    def reliable_ssr(self) -> float | None:
        """``e*'e*`` from the cross-products when they determine it to about 1e-10
        (it is not below 1e-6 of ``y*'y*``), else None: then only the rows do."""
        return reliable_ssr(self.ssr, float(self.gram[0, 0]))

    @property
    def rsquared(self) -> float:
        """R² of the regression itself: the squared correlation of ``y*`` and ``x*'b`` over
        its rows (R plm's R²)."""
        e0 = np.zeros_like(self.coef)
        e0[0] = 1.0
        return corr2(self.gram, self.totals, self.n, e0, e0 - self.coef)


def reliable_ssr(ssr: float, yty: float) -> float | None:
    """``ssr`` when a cross-product ``c'Gc`` can be trusted for it (relative rounding
    ~ 1e-16·y'y/ssr), else None."""
    return ssr if ssr > 1e-6 * yty else None


def _solve(factor: tuple[np.ndarray, bool], d: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return linalg.cho_solve(factor, rhs / d, check_finite=False) / d


def least_squares(
    source: PanelSource,
    columns: RowMap,
    regressors: Sequence[int],
    names: Sequence[str],
    *,
    gram: np.ndarray | None = None,
    raw_ss: np.ndarray | None = None,
    absorbed_by: str | None = None,
    tol: float = RANK_TOL,
    warn: bool = True,
) -> LeastSquares:
    """OLS of output 0 of ``columns`` on its outputs ``regressors`` over the rows of
    ``source`` (``gram``: ``Σ c c'`` of the outputs, when already known).

    Examples
    --------
    >>> import panelre as pr
    >>> from panelre.stats import bind
    >>> src = bind("inv ~ value + capital", pr.datasets.load("grunfeld"), entity="firm")
    >>> fit = least_squares(src, RowMap.identity(4), [1, 2, 3], src.x_names)
    >>> fit.params.round(4).tolist()
    [-42.7144, 0.1156, 0.2307]
    """
    names = list(names)
    regressors = list(regressors)
    stats = source.stats
    if gram is None:
        gram = cross(stats, columns, columns)
    gram = (gram + gram.T) / 2
    xtx = gram[np.ix_(regressors, regressors)]
    sel = select_columns(xtx, names, raw_ss=raw_ss, absorbed_by=absorbed_by, tol=tol, warn=warn)
    kept = [regressors[i] for i in np.flatnonzero(sel.keep)]
    xtx_k = gram[np.ix_(kept, kept)]
    factor, d, cond = cholesky_scaled(xtx_k)
    X = columns.columns(kept)

    def residuals(b: np.ndarray) -> tuple[np.ndarray, RowMap]:
        coef = np.zeros(columns.width)
        coef[0] = 1.0
        coef[kept] = -b
        return coef, columns.times(coef)

    b = _solve(factor, d, gram[kept, 0])
    coef, resid = residuals(b)
    if cond > REFINE_ABOVE:
        b = b + _solve(factor, d, source.scores(X, resid).gradient())
        coef, resid = residuals(b)
    return LeastSquares(
        params=b,
        names=[names[regressors.index(j)] for j in kept],
        keep=sel.keep,
        bread=inv_psd(xtx_k),
        dropped=sel.dropped,
        absorbed=sel.absorbed,
        regressors=X,
        resid=resid,
        coef=coef,
        gram=gram,
        totals=column_sums(stats, columns),
        n=stats.mass,
    )


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
