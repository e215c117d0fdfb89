"""Least squares through scaled cross-products with rank detection.

Columns are tested in order, so when two are collinear the earlier one is kept and
the later one dropped (Stata's choice). The solve uses a Cholesky factor of the
column-scaled cross-product matrix followed by one step of iterative refinement
with the residuals (corrected semi-normal equations), which restores QR-level
accuracy without a copy of the data.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from panelre.exceptions import RankDeficiencyError

__all__ = [
    "RANK_TOL",
    "independent_columns",
    "solve_with_residuals",
    "pinv_psd",
    "inv_psd",
    "cholesky_scaled",
]

#: Relative tolerance on the squared residual norm of a column regressed on the
#: columns before it; below it the column counts as a linear combination of them.
RANK_TOL = 1e-10


def independent_columns(xtx: np.ndarray, tol: float = RANK_TOL) -> np.ndarray:
    """Boolean mask of columns that are not (numerically) combinations of earlier ones.

    Examples
    --------
    >>> X = np.column_stack([np.ones(5), np.arange(5.0), 2 * np.arange(5.0)])
    >>> independent_columns(X.T @ X).tolist()
    [True, True, False]
    """
    k = xtx.shape[0]
    d = np.sqrt(np.clip(np.diag(xtx), 0.0, None))
    keep = np.zeros(k, dtype=bool)
    scale = np.where(d > 0, d, 1.0)
    s = xtx / np.outer(scale, scale)
    for j in range(k):  # a loop over columns (k is small), never over rows
        if d[j] == 0:
            continue
        idx = np.flatnonzero(keep)
        resid = s[j, j]
        if idx.size:
            sub = s[np.ix_(idx, idx)]
            resid = s[j, j] - s[j, idx] @ np.linalg.solve(sub, s[idx, j])
        keep[j] = resid > tol
    return keep


def solve_with_residuals(
    X: np.ndarray, y: np.ndarray, xtx: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and residuals (one refinement step with the residuals)."""
    if xtx is None:
        xtx = X.T @ X
    d = np.sqrt(np.diag(xtx))
    d = np.where(d > 0, d, 1.0)
    factor = _cholesky(xtx / np.outer(d, d))
    beta = linalg.cho_solve(factor, (X.T @ y) / d, check_finite=False) / d
    resid = y - X @ beta
    # one refinement step with the residuals; skipped when the scaled cross-product
    # matrix is so well conditioned that it cannot change the result (saves two passes)
    if np.linalg.cond(xtx / np.outer(d, d)) > 1e6:
        step = linalg.cho_solve(factor, (X.T @ resid) / d, check_finite=False) / d
        resid -= X @ step
        beta = beta + step
    return beta, resid


def cholesky_scaled(a: np.ndarray) -> tuple[tuple[np.ndarray, bool], np.ndarray, float]:
    """Cholesky factor of the column-scaled ``a``, the scales ``d`` and the condition
    number of the scaled matrix (solve with ``cho_solve(factor, rhs / d) / d``)."""
    d = np.sqrt(np.diag(a))
    d = np.where(d > 0, d, 1.0)
    scaled = a / np.outer(d, d)
    factor = _cholesky(scaled)
    return factor, d, float(np.linalg.cond(scaled))


def _cholesky(a: np.ndarray) -> tuple[np.ndarray, bool]:
    if not np.isfinite(a).all():
        raise RankDeficiencyError(
            "The cross-product matrix has non-finite entries (overflow from values near "
            "1e154 or beyond?); rescale the data."
        )
    try:
        return linalg.cho_factor(a, lower=False, check_finite=False)
    except linalg.LinAlgError:
        raise RankDeficiencyError(
            "The (transformed or instrumented) regressors are not of full rank, so the "
            "coefficients are not identified. Remove collinear regressors or add data."
        ) from None


def inv_psd(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix through a scaled Cholesky factor."""
    d = np.sqrt(np.diag(a))
    d = np.where(d > 0, d, 1.0)
    factor = _cholesky(a / np.outer(d, d))
    inv = linalg.cho_solve(factor, np.eye(a.shape[0]), check_finite=False)
    inv = inv / np.outer(d, d)
    return (inv + inv.T) / 2


def pinv_psd(a: np.ndarray, rtol: float | None = None) -> tuple[np.ndarray, int, np.ndarray]:
    """Moore–Penrose inverse of a symmetric matrix by eigen-decomposition.

    Eigenvalues whose absolute value is at most ``rtol * max|eigenvalue|`` are treated
    as zero; the default ``rtol = k * 1e-9`` is Stata's ``hausman`` tolerance
    (largest singular value x k x 1e-9).

    Returns
    -------
    pinv : ndarray
    rank : int
    eigenvalues : ndarray
    """
    a = (a + a.T) / 2
    k = a.shape[0]
    if rtol is None:
        rtol = k * 1e-9
    w, v = np.linalg.eigh(a)
    cutoff = rtol * max(np.abs(w).max(initial=0.0), np.finfo(float).tiny)
    nonzero = np.abs(w) > cutoff
    inv_w = np.zeros_like(w)
    inv_w[nonzero] = 1.0 / w[nonzero]
    return (v * inv_w) @ v.T, int(nonzero.sum()), w
