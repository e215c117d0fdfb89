r"""Estimators of the between-study variance :math:`\tau^2` (one function per estimator).

Every estimator takes the (centred) effect sizes ``y``, sampling variances ``v`` and design
``X`` (k x p) and returns a ``Tau2Estimate``. Estimates are never negative: a negative
solution is truncated at 0 and flagged ``at_boundary``. Definitions and standard errors follow
R's metafor (``rma.uni``); the iterative ones are solved to machine precision with
``scipy.optimize.brentq`` instead of metafor's default stopping rule (change < 1e-5).

Notation: ``W = diag(w)``, ``P_w = W - W X (X'WX)^{-1} X'W`` (so ``y'P_w y`` is the weighted
residual sum of squares ``Q``), ``V = diag(v)``.

=====  ===================================================================================
FE     :math:`\tau^2 = 0` (equal/fixed effects).
DL     DerSimonian-Laird: :math:`(Q - (k-p)) / \operatorname{tr} P`, weights ``1/v``.
HE     Hedges: :math:`(y'P_1y - \operatorname{tr}(P_1V))/(k-p)` with OLS ``P_1``.
HS     Hunter-Schmidt: :math:`(Q - k)/\sum 1/v_i`.
SJ     Sidik-Jonkman: :math:`\tau_0^2\, Q(\tau_0^2)/(k-p)` with
       :math:`\tau_0^2 = \frac{1}{k}\sum (y_i-\bar y)^2`.
PM     Paule-Mandel: the root of :math:`Q(\tau^2) = k - p`.
EB     Empirical Bayes (Morris): metafor's iteration has the same fixed point as PM.
ML     Maximum likelihood: root of :math:`y'P^2y = \operatorname{tr} W`.
REML   Restricted ML: root of :math:`y'P^2y = \operatorname{tr} P`.
=====  ===================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from panelre.exceptions import ConvergenceError
from panelre.meta._wls import weighted_fit

__all__ = ["Tau2Estimate", "TAU2_ESTIMATORS", "generalized_q", "solve_decreasing", "q_profile_ci"]

MAX_ITER = 500
_XTOL = 1e-15
_RTOL = 4 * np.finfo(float).eps


@dataclass(frozen=True)
class Tau2Estimate:
    """An estimate of tau^2 with its standard error (``nan`` when undefined).

    ``raw`` is the untruncated value (negative when the estimate was set to 0);
    ``at_boundary`` is True when the estimate is 0 because of the constraint tau^2 >= 0.
    """

    tau2: float
    se: float
    raw: float
    at_boundary: bool


def _truncate(raw: float) -> tuple[float, bool]:
    return max(0.0, float(raw)), bool(raw <= 0.0)


def generalized_q(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """The generalised Q statistic ``sum w_i (y_i - x_i'b)^2`` with ``w_i = 1/(v_i + tau2)``.

    Examples
    --------
    >>> import numpy as np
    >>> round(generalized_q(0.0, np.array([0.0, 2.0]), np.array([1.0, 1.0]), np.ones((2, 1))), 6)
    2.0
    """
    return weighted_fit(y, X, 1.0 / (v + tau2)).rss


def solve_decreasing(f: Callable[[float], float], start: float) -> float:
    """Root of ``f`` on ``[0, inf)`` for ``f(0) > 0`` and ``f`` eventually negative.

    The upper end of the bracket doubles from ``start`` until ``f`` changes sign; the root is
    then found by Brent's method to machine precision. Raises ConvergenceError on failure.
    """
    hi = max(float(start), 1e-8)
    for _ in range(1100):
        if f(hi) < 0:
            break
        hi *= 2.0
    else:
        raise ConvergenceError(
            "Could not bracket the tau^2 root: the estimating equation stays positive up to "
            f"tau^2 = {hi:.3g}. Check yi and vi for extreme values."
        )
    try:
        return float(optimize.brentq(f, 0.0, hi, xtol=_XTOL, rtol=_RTOL, maxiter=MAX_ITER))
    except RuntimeError as exc:
        raise ConvergenceError(
            f"The tau^2 root finder did not converge within {MAX_ITER} iterations "
            f"(bracket [0, {hi:.3g}]): {exc}"
        ) from exc


def _scale(y: np.ndarray, v: np.ndarray) -> float:
    """A starting upper bracket on the scale of the data."""
    return 10.0 * max(float(np.var(y)), float(np.max(v)), 1e-12)


# -- closed-form estimators ------------------------------------------------------------------
def fixed_effect(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """Equal (fixed) effects: tau^2 = 0 by assumption, no standard error."""
    return Tau2Estimate(0.0, float("nan"), 0.0, False)


def dersimonian_laird(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """DerSimonian-Laird (1986) method-of-moments estimator."""
    k, p = X.shape
    fit = weighted_fit(y, X, 1.0 / v)
    tr_p = fit.trace()
    raw = (fit.rss - (k - p)) / tr_p
    tau2, edge = _truncate(raw)
    var = 2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * fit.trace2()
    return Tau2Estimate(tau2, float(np.sqrt(var) / tr_p), raw, edge)


def hedges(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """Hedges (1983) unweighted method-of-moments estimator ("HE")."""
    k, p = X.shape
    fit = weighted_fit(y, X, np.ones_like(v))
    tr_pv = fit.trace(v)
    raw = (fit.rss - tr_pv) / (k - p)
    tau2, edge = _truncate(raw)
    var = 2 * fit.trace2(v, v) + 4 * tau2 * tr_pv + 2 * tau2**2 * (k - p)
    return Tau2Estimate(tau2, float(np.sqrt(var) / (k - p)), raw, edge)


def hunter_schmidt(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """Hunter-Schmidt (2004) estimator."""
    k, p = X.shape
    w = 1.0 / v
    fit = weighted_fit(y, X, w)
    raw = (fit.rss - k) / w.sum()
    tau2, edge = _truncate(raw)
    var = 2 * (k - p) + 4 * tau2 * fit.trace() + 2 * tau2**2 * fit.trace2()
    return Tau2Estimate(tau2, float(np.sqrt(var) / w.sum()), raw, edge)


def sidik_jonkman(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """Sidik-Jonkman (2005) estimator, started (as metafor) from the mean squared deviation."""
    k, p = X.shape
    tau0 = float(np.mean((y - y.mean()) ** 2))
    fit = weighted_fit(y, X, 1.0 / (v + tau0))
    raw = tau0 * fit.rss / (k - p)
    tau2, edge = _truncate(raw)
    var = 2 * fit.trace2(v, v) + 4 * tau2 * fit.trace2(v, 1.0) + 2 * tau2**2 * fit.trace2()
    return Tau2Estimate(tau2, float(tau0 / (k - p) * np.sqrt(var)), raw, edge)


# -- iterative estimators ----------------------------------------------------------------------
def _q_root(y: np.ndarray, v: np.ndarray, X: np.ndarray, target: float) -> float:
    """Root of ``Q(tau2) = target`` (``Q`` decreases in tau2); 0 when ``Q(0) <= target``."""

    def f(t: float) -> float:
        return generalized_q(t, y, v, X) - target

    return 0.0 if f(0.0) <= 0 else solve_decreasing(f, _scale(y, v))


def paule_mandel(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """Paule-Mandel (1982) estimator: generalised Q equal to its expectation ``k - p``."""
    k, p = X.shape
    tau2 = _q_root(y, v, X, k - p)
    se = np.sqrt(2 * k**2 / (k - p)) / np.sum(1.0 / (v + tau2))
    return Tau2Estimate(tau2, float(se), tau2, tau2 == 0.0)


def empirical_bayes(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """Empirical Bayes (Morris 1983; Berkey et al. 1995).

    metafor iterates ``tau2 += (Q k/(k-p) - k)/sum(w)``, whose fixed point is Q = k - p,
    the Paule-Mandel equation; the two estimates therefore coincide.
    """
    return paule_mandel(y, v, X)


def _likelihood_score(restricted: bool) -> Callable[..., float]:
    def score(t: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
        fit = weighted_fit(y, X, 1.0 / (v + t))
        return fit.rss_pp - (fit.trace() if restricted else float(np.sum(fit.d)))

    return score


def log_likelihood(
    tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray, restricted: bool
) -> float:
    """Log-likelihood (ML) or restricted log-likelihood (REML) at ``tau2``, as metafor."""
    k, p = X.shape
    fit = weighted_fit(y, X, 1.0 / (v + tau2))
    n = k - p if restricted else k
    ll = -0.5 * (n * np.log(2 * np.pi) + np.sum(np.log(v + tau2)) + fit.rss)
    return float(ll - 0.5 * fit.logdet_xdx() if restricted else ll)


def _likelihood_root(y: np.ndarray, v: np.ndarray, X: np.ndarray, restricted: bool) -> float:
    score = _likelihood_score(restricted)
    if score(0.0, y, v, X) <= 0:
        return 0.0
    tau2 = solve_decreasing(lambda t: score(t, y, v, X), _scale(y, v))
    # as metafor: keep tau2 = 0 if the boundary has the higher likelihood (a local maximum)
    if log_likelihood(0.0, y, v, X, restricted) > log_likelihood(tau2, y, v, X, restricted):
        return 0.0
    return tau2


def maximum_likelihood(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """Maximum-likelihood estimator (Hardy & Thompson 1996)."""
    tau2 = _likelihood_root(y, v, X, restricted=False)
    w = 1.0 / (v + tau2)
    return Tau2Estimate(tau2, float(np.sqrt(2.0 / np.sum(w**2))), tau2, tau2 == 0.0)


def restricted_maximum_likelihood(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Estimate:
    """Restricted maximum-likelihood estimator (Viechtbauer 2005)."""
    tau2 = _likelihood_root(y, v, X, restricted=True)
    fit = weighted_fit(y, X, 1.0 / (v + tau2))
    return Tau2Estimate(tau2, float(np.sqrt(2.0 / fit.trace2())), tau2, tau2 == 0.0)


Tau2Estimator = Callable[[np.ndarray, np.ndarray, np.ndarray], Tau2Estimate]

#: method name -> estimator; the single place that maps ``method=`` strings to algebra.
TAU2_ESTIMATORS: dict[str, Tau2Estimator] = {
    "FE": fixed_effect,
    "DL": dersimonian_laird,
    "REML": restricted_maximum_likelihood,
    "ML": maximum_likelihood,
    "PM": paule_mandel,
    "HE": hedges,
    "SJ": sidik_jonkman,
    "EB": empirical_bayes,
    "HS": hunter_schmidt,
}


def q_profile_ci(y: np.ndarray, v: np.ndarray, X: np.ndarray, level: float) -> tuple[float, float]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007), as metafor's ``confint``.

    The bounds solve ``Q(tau2) = chi2_{k-p}`` quantiles ``1 - alpha/2`` (lower) and
    ``alpha/2`` (upper); a bound is 0 when ``Q(0)`` is already below its quantile. Unlike
    metafor, the search is not capped at ``max(100, 10 tau2)``.

    Examples
    --------
    >>> from panelre.datasets import load
    >>> from panelre.meta import effect_size
    >>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load("bcg"))
    >>> lo, hi = q_profile_ci(es.yi.to_numpy(), es.vi.to_numpy(), np.ones((13, 1)), 0.95)
    >>> round(lo, 4), round(hi, 4)
    (0.1197, 1.1115)
    """
    from scipy import stats

    k, p = X.shape
    alpha = 1.0 - level
    upper_q = float(stats.chi2.ppf(1 - alpha / 2, k - p))
    lower_q = float(stats.chi2.ppf(alpha / 2, k - p))
    return _q_root(y, v, X, upper_q), _q_root(y, v, X, lower_q)
