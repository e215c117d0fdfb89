"""Weighted least squares and the traces of its residual-maker matrix, without k x k matrices.

For weights ``d`` the residual maker is ``P = D - D X A X'D`` with ``D = diag(d)`` and
``A = (X'DX)^{-1}``; ``y'Py`` is the weighted residual sum of squares and every trace the
tau^2 estimators need, ``tr(PG)`` and ``tr(PGPH)`` for diagonal ``G`` and ``H``, reduces to
p x p products, so the cost is O(k p^2) rather than O(k^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

__all__ = ["WeightedFit", "weighted_fit"]


@dataclass(frozen=True)
class WeightedFit:
    """Weighted least-squares fit of ``y`` on ``X`` with weights ``d``."""

    d: np.ndarray
    X: np.ndarray
    A: np.ndarray  # (X'DX)^{-1}
    beta: np.ndarray
    resid: np.ndarray

    @property
    def rss(self) -> float:
        """``y'Py``: the weighted residual sum of squares."""
        return float(np.sum(self.d * self.resid**2))

    @property
    def rss_pp(self) -> float:
        """``y'PPy = ||D e||^2`` (``Py = D e`` with ``e`` the residuals)."""
        return float(np.sum((self.d * self.resid) ** 2))

    def _xgx(self, g: np.ndarray) -> np.ndarray:
        return (self.X * g[:, None]).T @ self.X

    def trace(self, g: np.ndarray | float = 1.0) -> float:
        """``tr(P G)`` for ``G = diag(g)``."""
        g = np.broadcast_to(np.asarray(g, dtype=float), self.d.shape)
        return float(np.sum(self.d * g) - np.sum(self.A * self._xgx(self.d**2 * g)))

    def trace2(self, g: np.ndarray | float = 1.0, h: np.ndarray | float = 1.0) -> float:
        """``tr(P G P H)`` for ``G = diag(g)``, ``H = diag(h)``."""
        d = self.d
        g = np.broadcast_to(np.asarray(g, dtype=float), d.shape)
        h = np.broadcast_to(np.asarray(h, dtype=float), d.shape)
        mg = self.A @ self._xgx(d**2 * g)
        mh = self.A @ self._xgx(d**2 * h)
        cross = np.sum(self.A * self._xgx(d**3 * g * h))
        return float(np.sum(d**2 * g * h) - 2.0 * cross + np.sum(mg * mh.T))

    def logdet_xdx(self) -> float:
        """``log det(X'DX)``."""
        return float(-np.linalg.slogdet(self.A)[1])


def weighted_fit(y: np.ndarray, X: np.ndarray, d: np.ndarray) -> WeightedFit:
    """Fit by QR of ``sqrt(d) X`` (no normal equations).

    Examples
    --------
    >>> import numpy as np
    >>> fit = weighted_fit(np.array([1.0, 2.0, 4.0]), np.ones((3, 1)), np.array([1.0, 1.0, 2.0]))
    >>> float(fit.beta[0])
    2.75
    """
    sw = np.sqrt(d)
    q, r = np.linalg.qr(X * sw[:, None])
    beta = linalg.solve_triangular(r, q.T @ (sw * y))
    r_inv = linalg.solve_triangular(r, np.eye(r.shape[0]))
    A = r_inv @ r_inv.T
    return WeightedFit(d, X, A, beta, y - X @ beta)
