"""The one-way random-intercept model by ML or REML, from group means and cross-products.

Shared by ``panelre.mixed.mixed`` (pure random-intercept formulas) and the panel
random-effects estimator (``method="ml"`` / ``"reml"``).  The model is

.. math::  y_{it} = x_{it}'\\beta + u_i + e_{it},\\quad u_i \\sim N(0, \\sigma^2_u),\\quad
           e_{it} \\sim N(0, \\sigma^2_e).

With :math:`\\lambda = \\sigma^2_u / \\sigma^2_e` and :math:`w_i = n_i\\lambda / (1 + n_i\\lambda)`
every quantity of the likelihood is a function of group means and total cross-products:

* :math:`\\sigma^2_e X'V^{-1}X = X'X - \\sum_i w_i n_i \\bar x_i \\bar x_i'` (and likewise for
  :math:`X'V^{-1}y`, :math:`y'V^{-1}y`),
* :math:`\\log|V| = n \\log\\sigma^2_e + \\sum_i \\log(1 + n_i\\lambda)`.

:math:`\\sigma^2_e` and :math:`\\beta` are profiled out, leaving a one-dimensional criterion in
:math:`\\lambda` that costs :math:`O(G k^2)` per evaluation, independent of the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, sparse

from panelre.exceptions import DataError, InsufficientDataError

__all__ = [
    "RandomInterceptFit",
    "fit_random_intercept",
    "observed_information",
    "CriterionPoint",
    "random_intercept_criterion",
]

_LOG_2PI = float(np.log(2.0 * np.pi))
# log10(lambda) grid that brackets the optimum before the root of the derivative is polished
_GRID = np.concatenate([[-np.inf], np.linspace(-10.0, 10.0, 41)])


@dataclass(frozen=True)
class RandomInterceptFit:
    """Estimates of the random-intercept model (see ``fit_random_intercept``).

    Attributes
    ----------
    sigma2_u, sigma2_e : float
        Variance of the random intercept and of the idiosyncratic error.
    beta : ndarray, shape (k,)
        GLS estimate of the fixed effects at the optimum.
    cov_beta : ndarray, shape (k, k)
        :math:`\\hat\\sigma^2_e (X'V^{-1}X\\,\\sigma^2_e)^{-1}`, as lme4's ``vcov``.
    loglike : float
        Log-likelihood (ML) or restricted log-likelihood (REML).
    criterion : float
        ``-2 * loglike``: lme4's deviance (ML) or REML criterion (REML).
    converged : bool
        Whether the optimum was located (an optimum on the boundary ``sigma2_u = 0`` counts as
        converged; the caller decides whether to warn).
    gradient : float
        Derivative of ``criterion`` with respect to :math:`\\lambda` at the optimum
        (zero at an interior optimum, non-negative at the boundary).
    n_iter : int
        Number of criterion evaluations.
    """

    sigma2_u: float
    sigma2_e: float
    beta: np.ndarray
    cov_beta: np.ndarray
    loglike: float
    criterion: float
    converged: bool
    gradient: float
    n_iter: int

    @property
    def ratio(self) -> float:
        """:math:`\\lambda = \\sigma^2_u / \\sigma^2_e`."""
        return self.sigma2_u / self.sigma2_e


@dataclass(frozen=True)
class _Inputs:
    """Group statistics collapsed by distinct group size s: the criterion depends on the
    groups only through sums over groups of equal size, so an evaluation costs O(S k^2)
    with S the number of distinct sizes (1 for a balanced panel)."""

    sizes: np.ndarray  # (S,) distinct group sizes
    n_per: np.ndarray  # (S,) number of groups of each size
    sxx: np.ndarray  # (S, k, k) sum of xbar xbar' over groups of each size
    sxy: np.ndarray  # (S, k) sum of xbar ybar
    syy: np.ndarray  # (S,) sum of ybar^2
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    reml: bool
    nobs: float

    @property
    def dof(self) -> float:
        return self.nobs - self.xtx.shape[0] if self.reml else self.nobs


@dataclass(frozen=True)
class CriterionPoint:
    """The profiled criterion at one ``lam``: its value and derivative, and the GLS
    coefficients, penalised residual sum of squares and Cholesky factor behind them."""

    value: float
    grad: float
    beta: np.ndarray
    rss: float
    chol: tuple[np.ndarray, bool]


def random_intercept_criterion(lam: float, inputs: _Inputs) -> CriterionPoint:
    """Profiled criterion (-2 log-likelihood or REML criterion) and its derivative in
    ``lam``, with the quantities behind them."""
    s = inputs.sizes
    one_plus = 1.0 + s * lam
    weight = s * (s * lam / one_plus)  # w_i n_i
    a_mat = inputs.xtx - np.tensordot(weight, inputs.sxx, axes=1)
    a_vec = inputs.xty - weight @ inputs.sxy
    yvy = inputs.yty - float(weight @ inputs.syy)
    chol = linalg.cho_factor(a_mat, lower=True)
    beta = linalg.cho_solve(chol, a_vec)
    rss = yvy - float(a_vec @ beta)
    if not rss > 0:
        raise DataError(
            "The fixed effects fit the response exactly (penalised residual sum of squares "
            f"{rss:.3g}), so no variance can be estimated. Check the formula for a regressor "
            "that duplicates the response."
        )
    dof = inputs.dof
    logdet_v = float(inputs.n_per @ np.log(one_plus))
    logdet_a = 2.0 * float(np.log(np.diag(chol[0])).sum()) if inputs.reml else 0.0
    value = float(logdet_v + logdet_a + dof * (1.0 + _LOG_2PI + np.log(rss / dof)))
    c = (s / one_plus) ** 2
    cxx = np.tensordot(c, inputs.sxx, axes=1)
    sum_c_e2 = float(c @ inputs.syy - 2.0 * beta @ (c @ inputs.sxy) + beta @ cxx @ beta)
    grad = float(inputs.n_per @ (s / one_plus)) - dof / rss * sum_c_e2
    if inputs.reml:
        grad -= float(np.trace(linalg.cho_solve(chol, cxx)))
    return CriterionPoint(value, grad, beta, rss, chol)


def _collapse_by_size(counts: np.ndarray, xbar: np.ndarray, ybar: np.ndarray):
    sizes, inverse = np.unique(counts, return_inverse=True)
    k = xbar.shape[1]
    per_group = np.column_stack(
        [
            np.ones_like(ybar),
            (xbar[:, :, None] * xbar[:, None, :]).reshape(-1, k * k),
            xbar * ybar[:, None],
            ybar**2,
        ]
    )
    indicator = sparse.csr_matrix(
        (np.ones(counts.size), (inverse, np.arange(counts.size))), shape=(sizes.size, counts.size)
    )
    sums = np.asarray(indicator @ per_group)
    sxx = sums[:, 1 : 1 + k * k].reshape(-1, k, k)
    return sizes, sums[:, 0], sxx, sums[:, 1 + k * k : 1 + k * k + k], sums[:, -1]


def _validate(counts, xbar, ybar, xtx, xty, yty, reml) -> _Inputs:
    counts = np.ascontiguousarray(counts, dtype=float)
    xbar = np.ascontiguousarray(xbar, dtype=float)
    if xbar.ndim == 1:
        xbar = xbar[:, None]
    ybar = np.ascontiguousarray(ybar, dtype=float)
    xtx = np.atleast_2d(np.asarray(xtx, dtype=float))
    xty = np.atleast_1d(np.asarray(xty, dtype=float))
    g, k = xbar.shape
    if counts.shape != (g,) or ybar.shape != (g,) or xtx.shape != (k, k) or xty.shape != (k,):
        raise DataError(
            "Inconsistent shapes: counts (G,), xbar (G, k), ybar (G,), xtx (k, k), xty (k,) "
            f"expected. Got {counts.shape}, {xbar.shape}, {ybar.shape}, {xtx.shape}, {xty.shape}."
        )
    n = counts.sum()
    if g < 2:
        raise InsufficientDataError(f"A random intercept needs at least 2 groups. Got {g} group.")
    if not n > g:
        raise InsufficientDataError(
            "The random-intercept variance and the residual variance cannot be told apart when "
            f"every group has a single observation. Got {int(n)} observations in {g} groups; "
            "at least one group needs 2 or more."
        )
    if not n - (k if reml else 0) > 0:
        raise InsufficientDataError(
            f"REML needs more observations than fixed effects. Got {int(n)} and {k}."
        )
    sizes, n_per, sxx, sxy, syy = _collapse_by_size(counts, xbar, ybar)
    return _Inputs(sizes, n_per, sxx, sxy, syy, xtx, xty, float(yty), bool(reml), float(n))


def _locate(inputs: _Inputs) -> tuple[float, float, float, int, bool]:
    """Grid over log10(lambda), then Brent's root finder on the derivative."""
    lams = 10.0**_GRID
    vals = np.array([random_intercept_criterion(lam, inputs).value for lam in lams])
    n_eval = lams.size
    best = int(np.argmin(vals))
    if best == 0:
        at = random_intercept_criterion(0.0, inputs)
        return 0.0, at.value, at.grad, n_eval + 1, at.grad >= 0 or abs(at.grad) < 1e-8
    lo = lams[best - 1]
    hi = lams[best + 1] if best + 1 < lams.size else lams[best] * 1e3

    def deriv(lam: float) -> float:
        return random_intercept_criterion(lam, inputs).grad

    g_lo, g_hi = deriv(lo), deriv(hi)
    n_eval += 2
    if lo == 0.0 and g_lo >= 0:
        return 0.0, random_intercept_criterion(0.0, inputs).value, g_lo, n_eval, True
    if not (g_lo <= 0 <= g_hi):
        lam = float(lams[best])
        at = random_intercept_criterion(lam, inputs)
        return lam, at.value, at.grad, n_eval + 1, False
    lam, info = optimize.brentq(
        deriv, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500, full_output=True
    )
    at = random_intercept_criterion(lam, inputs)
    return float(lam), at.value, at.grad, n_eval + info.function_calls + 1, bool(info.converged)


def fit_random_intercept(
    counts: np.ndarray,
    xbar: np.ndarray,
    ybar: np.ndarray,
    xtx: np.ndarray,
    xty: np.ndarray,
    yty: float,
    *,
    reml: bool,
) -> RandomInterceptFit:
    """Fit the one-way random-intercept model by ML or REML from sufficient statistics.

    Parameters
    ----------
    counts : ndarray, shape (G,)
        Group sizes :math:`n_i`.
    xbar : ndarray, shape (G, k)
        Group means of the regressors (including the intercept column, if any).
    ybar : ndarray, shape (G,)
        Group means of the response.
    xtx, xty, yty : ndarray (k, k), ndarray (k,), float
        Total cross-products :math:`X'X`, :math:`X'y`, :math:`y'y` over all rows.
    reml : bool
        Restricted (True) or full maximum likelihood (False).

    Returns
    -------
    RandomInterceptFit

    Raises
    ------
    InsufficientDataError
        Fewer than two groups, or every group of size one.
    DataError
        The regressors reproduce the response exactly.

    Notes
    -----
    The profiled criterion in :math:`\\lambda = \\sigma^2_u/\\sigma^2_e`, with
    :math:`A = X'X - \\sum_i w_i n_i\\bar x_i\\bar x_i'`, :math:`r^2 = y'V^{-1}y\\,\\sigma^2_e -
    \\hat\\beta' X'V^{-1}y\\,\\sigma^2_e` and :math:`d = n` (ML) or :math:`n - k` (REML), is

    .. math:: \\sum_i \\log(1 + n_i\\lambda) + [\\mathrm{REML}]\\,\\log|A| +
              d\\,(1 + \\log(2\\pi r^2 / d)),

    lme4's deviance / REML criterion. Its derivative is analytic; the optimum is bracketed on
    a grid of :math:`\\log_{10}\\lambda` and polished with Brent's root finder on the
    derivative (to machine precision). :math:`\\hat\\sigma^2_e = r^2/d`.

    Examples
    --------
    >>> import numpy as np
    >>> from panelre.datasets import load
    >>> df = load("sleepstudy")
    >>> X = np.column_stack([np.ones(len(df)), df["Days"]])
    >>> y = df["Reaction"].to_numpy()
    >>> g = df.groupby("Subject")
    >>> fit = fit_random_intercept(
    ...     g.size().to_numpy(), np.column_stack([np.ones(18), g["Days"].mean()]),
    ...     g["Reaction"].mean().to_numpy(), X.T @ X, X.T @ y, y @ y, reml=True)
    >>> round(fit.sigma2_u, 2), round(fit.sigma2_e, 2), round(fit.criterion, 4)
    (1378.18, 960.46, 1786.4651)
    """
    inputs = _validate(counts, xbar, ybar, xtx, xty, yty, reml)
    lam, value, grad, n_eval, converged = _locate(inputs)
    out = random_intercept_criterion(lam, inputs)
    sigma2_e = out.rss / inputs.dof
    k = inputs.xtx.shape[0]
    cov_beta = sigma2_e * linalg.cho_solve(out.chol, np.eye(k))
    return RandomInterceptFit(
        sigma2_u=lam * sigma2_e,
        sigma2_e=sigma2_e,
        beta=np.asarray(out.beta),
        cov_beta=cov_beta,
        loglike=-0.5 * value,
        criterion=value,
        converged=bool(converged),
        gradient=float(grad),
        n_iter=int(n_eval),
    )


def observed_information(
    counts: np.ndarray,
    xbar: np.ndarray,
    ybar: np.ndarray,
    xtx: np.ndarray,
    xty: np.ndarray,
    yty: float,
    beta: np.ndarray,
    sigma2_e: float,
    sigma2_u: float,
) -> np.ndarray:
    """Observed information (minus the Hessian) of the full ML log-likelihood in
    :math:`(\\beta, \\sigma^2_e, \\sigma^2_u)` at the given point, from sufficient statistics.

    With :math:`a_i = 1/(\\sigma^2_e + n_i\\sigma^2_u)`, group mean residuals
    :math:`\\bar e_i = \\bar y_i - \\bar x_i'\\beta` and the within residual sum of squares
    :math:`Q_w(\\beta)`, the log-likelihood is

    .. math:: -\\tfrac12\\big[n\\log 2\\pi + (n-G)\\log\\sigma^2_e - \\textstyle\\sum_i\\log a_i
              + Q_w/\\sigma^2_e + \\sum_i n_i a_i \\bar e_i^2\\big].

    Its inverse's β block is Stata's ``xtreg, mle`` covariance (the variance parameters
    estimated jointly); lme4's ``vcov`` is the inverse of the β block alone. At the
    boundary :math:`\\sigma^2_u = 0` the last row and column are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from panelre.datasets import load
    >>> df = load("sleepstudy")
    >>> X = np.column_stack([np.ones(len(df)), df["Days"]])
    >>> y = df["Reaction"].to_numpy()
    >>> g = df.groupby("Subject")
    >>> args = (g.size().to_numpy(), np.column_stack([np.ones(18), g["Days"].mean()]),
    ...         g["Reaction"].mean().to_numpy(), X.T @ X, X.T @ y, y @ y)
    >>> fit = fit_random_intercept(*args, reml=False)
    >>> info = observed_information(*args, fit.beta, fit.sigma2_e, fit.sigma2_u)
    >>> info.shape, bool(np.all(np.linalg.eigvalsh(info) > 0))
    ((4, 4), True)
    """
    counts = np.asarray(counts, dtype=float)
    n, groups = float(counts.sum()), counts.size
    s1, s2 = float(sigma2_e), float(sigma2_u)
    weighted = xbar * counts[:, None]
    sxx_w = xtx - xbar.T @ weighted  # within cross-products
    sxy_w = xty - weighted.T @ ybar
    syy_w = yty - float(counts @ ybar**2)
    q_w = syy_w - 2 * float(beta @ sxy_w) + float(beta @ sxx_w @ beta)
    g_w = sxy_w - sxx_w @ beta  # X_w' e_w
    e = ybar - xbar @ beta
    a = 1.0 / (s1 + counts * s2)
    k = beta.size
    info = np.empty((k + 2, k + 2))
    info[:k, :k] = sxx_w / s1 + (weighted * a[:, None]).T @ xbar
    info[:k, k] = g_w / s1**2 + xbar.T @ (counts * a**2 * e)
    info[:k, k + 1] = xbar.T @ (counts**2 * a**2 * e)
    info[k, k] = 0.5 * (
        -(n - groups) / s1**2 - float(np.sum(a**2)) + 2 * q_w / s1**3
        + 2 * float(np.sum(counts * a**3 * e**2))
    )  # fmt: skip
    info[k, k + 1] = 0.5 * (
        -float(np.sum(counts * a**2)) + 2 * float(np.sum(counts**2 * a**3 * e**2))
    )
    info[k + 1, k + 1] = 0.5 * (
        -float(np.sum(counts**2 * a**2)) + 2 * float(np.sum(counts**3 * a**3 * e**2))
    )
    info[k, :k] = info[:k, k]
    info[k + 1, :k] = info[:k, k + 1]
    info[k + 1, k] = info[k, k + 1]
    return info if s2 > 0 else info[: k + 1, : k + 1]
