"""The profiled ML/REML criterion of a linear mixed model and its analytic gradient.

Model: :math:`y = X\\beta + Zb + e`, :math:`b_i \\sim N(0, \\sigma^2\\Lambda\\Lambda')`,
:math:`e \\sim N(0, \\sigma^2 I)`, with :math:`\\Lambda` lower triangular (block diagonal
for independent terms) and :math:`\\theta` its free elements, as lme4.  Per group

.. math:: M_i = I_q + \\Lambda' Z_i'Z_i \\Lambda,\\qquad
          V_i/\\sigma^2 = I + Z_i\\Lambda\\Lambda'Z_i',\\qquad
          \\log|V_i/\\sigma^2| = \\log|M_i|,

and by Woodbury :math:`\\sigma^2 V_i^{-1} = I - Z_i\\Lambda M_i^{-1}\\Lambda'Z_i'`, so
:math:`A = \\sigma^2 X'V^{-1}X`, :math:`\\sigma^2 X'V^{-1}y` and :math:`\\sigma^2 y'V^{-1}y`
need only the sufficient statistics.  With
:math:`r^2 = \\sigma^2(y'V^{-1}y - \\hat\\beta'X'V^{-1}y)`
(lme4's penalised RSS) and :math:`d = n` (ML) or :math:`n - p` (REML) the profiled criterion is

.. math:: f(\\theta) = \\sum_i \\log|M_i| + [\\mathrm{REML}]\\log|A| + d\\,(1 + \\log(2\\pi r^2/d)).

Gradient: with :math:`D = \\Lambda\\Lambda'`, :math:`H_i = \\sigma^2 Z_i'V_i^{-1}Z_i`,
:math:`P_i = \\sigma^2 Z_i'V_i^{-1}X_i` and
:math:`u_i = \\sigma^2 Z_i'V_i^{-1}(y_i - X_i\\hat\\beta)`,

.. math:: \\partial f/\\partial D = \\sum_i H_i - [\\mathrm{REML}]\\sum_i P_iA^{-1}P_i'
          - (d/r^2)\\sum_i u_iu_i',

and :math:`\\partial f/\\partial\\Lambda = 2(\\partial f/\\partial D)\\Lambda`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from panelre.exceptions import DataError
from panelre.mixed.stats import SufficientStats

__all__ = ["ThetaLayout", "Evaluation", "evaluate", "criterion_and_gradient"]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class ThetaLayout:
    """Where each element of θ sits in Λ: column-major lower triangle within each block."""

    q: int
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def from_blocks(cls, q: int, blocks: tuple[tuple[int, ...], ...]) -> ThetaLayout:
        mask = np.zeros((q, q), dtype=bool)
        for block in blocks:
            idx = np.asarray(block)
            mask[np.ix_(idx, idx)] = True
        mask &= np.tril(np.ones((q, q), dtype=bool))
        cols, rows = np.nonzero(mask.T)  # column-major order
        return cls(q=q, rows=rows, cols=cols)

    @property
    def size(self) -> int:
        return int(self.rows.size)

    @property
    def is_diagonal(self) -> np.ndarray:
        return self.rows == self.cols

    @property
    def lower_bounds(self) -> np.ndarray:
        return np.where(self.is_diagonal, 0.0, -np.inf)

    def lam(self, theta: np.ndarray) -> np.ndarray:
        out = np.zeros((self.q, self.q))
        out[self.rows, self.cols] = theta
        return out


def _solve_small(m: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched solve of SPD systems stored groups-last: ``m`` (q, q, G), ``b`` (q, k, G).

    Returns the solutions (q, k, G) and the log-determinants (G,). q = 1 and q = 2 are done
    in closed form with vector operations; larger q by stacked LAPACK calls.
    """
    q = m.shape[0]
    if q == 1:
        return b / m[0, 0], np.log(m[0, 0])
    if q == 2:
        a, c, d = m[0, 0], m[1, 0], m[1, 1]
        det = a * d - c * c
        sol = np.empty_like(b)
        np.multiply(d / det, b[0], out=sol[0])
        sol[0] -= (c / det) * b[1]
        np.multiply(a / det, b[1], out=sol[1])
        sol[1] -= (c / det) * b[0]
        return sol, np.log(det)
    mg = np.ascontiguousarray(m.transpose(2, 0, 1))
    chol = np.linalg.cholesky(mg)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    sol = np.linalg.solve(mg, np.ascontiguousarray(b.transpose(2, 0, 1)))
    return sol.transpose(1, 2, 0), logdet


def _left(mat: np.ndarray, arr: np.ndarray) -> np.ndarray:
    """``out[i] = sum_j mat[i, j] * arr[j]`` for a small (q, q) ``mat`` and a groups-last
    ``arr`` (q, ..., G): q^2 long vector operations, skipping the zeros of ``mat``."""
    out = np.zeros((mat.shape[0],) + arr.shape[1:])
    for i, j in zip(*np.nonzero(mat), strict=True):
        out[i] += mat[i, j] * arr[j]
    return out


def _relative_precision(lam: np.ndarray, lt_ztz: np.ndarray) -> np.ndarray:
    """:math:`M_i = I + (\\Lambda'Z_i'Z_i)\\Lambda`, shape (q, q, G), from ``Λ'Z_i'Z_i``."""
    q = lam.shape[0]
    m = _left(lam.T, lt_ztz.transpose(1, 0, 2)).transpose(1, 0, 2)  # (Λ'S)Λ = (Λ'(Λ'S)')'
    m[np.arange(q), np.arange(q)] += 1.0
    return m


@dataclass(frozen=True)
class Evaluation:
    """The criterion at θ with the quantities the results need."""

    value: float
    gradient: np.ndarray
    beta: np.ndarray
    rss: float
    dof: float
    a_chol: tuple[np.ndarray, bool]
    kt: np.ndarray  # Λ M_i^{-1} Λ' [Z'Z | Z'X | Z'y], groups last: (q, q+p+1, G)
    lam: np.ndarray

    @property
    def sigma2(self) -> float:
        return self.rss / self.dof

    def blups(self) -> np.ndarray:
        """Conditional modes :math:`\\Lambda M_i^{-1}\\Lambda'Z_i'(y_i - X_i\\hat\\beta)`,
        shape (G, q)."""
        q, p = self.lam.shape[0], self.beta.size
        fixed = np.matmul(self.beta, self.kt[:, q : q + p, :])
        return (self.kt[:, q + p, :] - fixed).T


def evaluate(
    theta: np.ndarray,
    stats: SufficientStats,
    layout: ThetaLayout,
    reml: bool,
    *,
    gradient: bool = True,
) -> Evaluation:
    """Profiled criterion at ``theta`` (and its gradient), from sufficient statistics."""
    q, p = stats.q, stats.p
    lam = layout.lam(np.asarray(theta, dtype=float))
    zt = stats.zt_by_col  # (q, m, G)
    lt_zt = _left(lam.T, zt)  # Λ'[Z'Z | Z'X | Z'y]
    m = _relative_precision(lam, lt_zt[:, :q, :])
    sol, logdet_m = _solve_small(m, lt_zt)
    kt = _left(lam, sol)
    big = stats.total.copy()
    for j in range(q):  # Σ_g [X y]'Z Λ M⁻¹ Λ'Z'[X y] as q BLAS products
        big -= zt[j, q:, :] @ kt[j, q:, :].T
    a_mat, a_vec, yvy = big[:p, :p], big[:p, p], big[p, p]
    try:
        a_chol = linalg.cho_factor(a_mat, lower=True)
    except linalg.LinAlgError:
        raise DataError(
            "X'V^{-1}X is not positive definite; the fixed effects are collinear."
        ) from None
    beta = linalg.cho_solve(a_chol, a_vec)
    rss = float(yvy - a_vec @ beta)
    if not rss > 0:
        raise DataError(
            f"The model reproduces the response exactly (penalised RSS {rss:.3g}); no residual "
            "variance can be estimated."
        )
    dof = float(stats.nobs - (p if reml else 0))
    value = float(logdet_m.sum()) + dof * (1.0 + _LOG_2PI + np.log(rss / dof))
    if reml:
        value += 2.0 * float(np.log(np.diag(a_chol[0])).sum())
    value = float(value)
    grad = np.zeros(layout.size)
    if gradient:
        grad = _gradient(zt, kt, lam, beta, a_chol, rss, dof, reml, layout)
    return Evaluation(value, grad, beta, rss, dof, a_chol, kt, lam)


def _gradient(zt, kt, lam, beta, a_chol, rss, dof, reml, layout) -> np.ndarray:
    q = lam.shape[0]
    p = beta.size
    zvt = zt.copy()  # becomes σ² Z'V^{-1}[Z | X | y] = Z'T - Z'Z Λ M^{-1} Λ' Z'T
    for j in range(q):
        zvt -= zt[:, j : j + 1, :] * kt[j][None, :, :]
    h = zvt[:, :q, :].sum(axis=2)
    pm = zvt[:, q : q + p, :]  # (q, p, G)
    u = zvt[:, q + p, :] - np.matmul(beta, pm)  # (q, G)
    g = h - (dof / rss) * (u @ u.T)
    if reml:
        a_inv = linalg.cho_solve(a_chol, np.eye(p))
        apm = np.matmul(a_inv, pm)  # (q, p, G)
        g -= pm.reshape(q, -1) @ apm.reshape(q, -1).T
    d_lam = (g + g.T) @ lam  # 2 sym(g) Λ
    return d_lam[layout.rows, layout.cols]


def criterion_and_gradient(
    theta: np.ndarray, stats: SufficientStats, layout: ThetaLayout, reml: bool
) -> tuple[float, np.ndarray]:
    """``(value, gradient)`` for optimisers."""
    ev = evaluate(theta, stats, layout, reml)
    return ev.value, ev.gradient


def conditional_cov_factor(
    theta: np.ndarray, stats: SufficientStats, layout: ThetaLayout
) -> np.ndarray:
    """:math:`\\Lambda M_i^{-1}\\Lambda'` per group, shape (G, q, q); times σ² it is the
    conditional covariance of :math:`b_i` given y (lme4's ``condVar``)."""
    lam = layout.lam(np.asarray(theta, dtype=float))
    m = _relative_precision(lam, _left(lam.T, stats.zt_by_col[:, : stats.q, :]))
    rhs = np.repeat(lam.T[:, :, None], m.shape[2], axis=2)
    sol, _ = _solve_small(m, rhs)
    return _left(lam, sol).transpose(2, 0, 1)
