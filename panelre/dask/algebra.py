"""Least squares and R² from cross-product matrices (the in-memory rules, without rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from panelre._columns import select_columns
from panelre._linalg import RANK_TOL, inv_psd

__all__ = ["GramOLS", "gram_ols", "corr2", "index_r2"]


@dataclass(frozen=True)
class GramOLS:
    """OLS from ``Z*'Z*`` with ``z* = [y*, x*]``.

    Attributes
    ----------
    params, names, bread, dropped, absorbed
        As ``panelre.estimators._base.TransformedOLS``.
    keep : ndarray of bool
        Over the candidate regressors.
    kept : list of int
        Positions in z of the kept regressors.
    coef : ndarray (p,)
        ``(1, −β)`` spread over z, so that ``e = z*·coef``.
    ssr : float
        ``e'e``.
    """

    params: np.ndarray
    names: list[str]
    bread: np.ndarray
    keep: np.ndarray
    kept: list[int]
    coef: np.ndarray
    ssr: float
    dropped: list[str]
    absorbed: list[str]


def _solve(xtx: np.ndarray, xty: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(xtx))
    d = np.where(d > 0, d, 1.0)
    factor = linalg.cho_factor(xtx / np.outer(d, d), lower=False, check_finite=False)
    beta = linalg.cho_solve(factor, xty / d, check_finite=False) / d
    return beta + linalg.cho_solve(factor, (xty - xtx @ beta) / d, check_finite=False) / d


def gram_ols(
    gram: np.ndarray,
    x_pos: Sequence[int],
    names: Sequence[str],
    *,
    raw_ss: np.ndarray | None = None,
    absorbed_by: str | None = None,
    tol: float = RANK_TOL,
    warn: bool = True,
) -> GramOLS:
    """OLS of z-column 0 on the z-columns ``x_pos`` with the in-memory drop rules.

    Raises
    ------
    AbsorbedVariableError, RankDeficiencyError
        When nothing can be estimated.
    """
    names = list(names)
    x_pos = list(x_pos)
    xtx = gram[np.ix_(x_pos, x_pos)]
    sel = select_columns(xtx, names, raw_ss=raw_ss, absorbed_by=absorbed_by, tol=tol, warn=warn)
    keep = sel.keep
    kidx = np.flatnonzero(keep)
    kept = [x_pos[i] for i in kidx]
    xtx_k = gram[np.ix_(kept, kept)]
    xty = gram[kept, 0]
    beta = _solve(xtx_k, xty)
    coef = np.zeros(gram.shape[0])
    coef[0] = 1.0
    coef[kept] = -beta
    ssr = float(coef @ gram @ coef)
    return GramOLS(
        params=beta,
        names=[names[i] for i in kidx],
        bread=inv_psd(xtx_k),
        keep=keep,
        kept=kept,
        coef=coef,
        ssr=max(ssr, 0.0),
        dropped=sel.dropped,
        absorbed=sel.absorbed,
    )


def corr2(gram: np.ndarray, total: np.ndarray, n: float, u: np.ndarray, v: np.ndarray) -> float:
    """Squared correlation of ``z·u`` and ``z·v`` from ``Σzz'``, ``Σz`` and ``n``."""
    su, sv = float(total @ u), float(total @ v)
    cuv = float(u @ gram @ v) - su * sv / n
    cuu = float(u @ gram @ u) - su * su / n
    cvv = float(v @ gram @ v) - sv * sv / n
    den = cuu * cvv
    return float(cuv**2 / den) if den > 0 else float("nan")


def index_r2(
    stats: object, x_names: list[str], names: list[str], params: np.ndarray
) -> tuple[float, float, float]:
    """Stata's within, between and overall R² of ``x'b`` (intercept excluded)."""
    p = len(x_names) + 1
    b = np.zeros(p)
    for n, v in zip(names, params):
        if n != "Intercept" and n in x_names:
            b[1 + x_names.index(n)] = v
    y = np.zeros(p)
    y[0] = 1.0
    st = stats
    overall = corr2(st.gram, st.total, st.n, y, b)  # type: ignore[attr-defined]
    within = corr2(st.within_gram("entity"), np.zeros(p), st.n, y, b)  # type: ignore[attr-defined]
    means = st.means("entity")  # type: ignore[attr-defined]
    between = corr2(means.T @ means, means.sum(axis=0), means.shape[0], y, b)
    return within, between, overall
