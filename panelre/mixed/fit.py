"""Optimisation of the profiled criterion: bounded quasi-Newton, then Newton polishing.

A pure random-intercept model is a one-dimensional problem and goes to
``panelre._random_intercept.fit_random_intercept``; everything else is minimised over θ
(lme4's relative Cholesky factor) by L-BFGS-B with the analytic gradient and bounds
θ_jj ≥ 0, followed by a few Newton steps whose Hessian is a finite difference of the
analytic gradient — so the optimum is located to near machine precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import optimize

from panelre._random_intercept import fit_random_intercept
from panelre.exceptions import DataError
from panelre.mixed.criterion import Evaluation, ThetaLayout, evaluate
from panelre.mixed.pls import CrossedCriterion, PlsEvaluation, moment_start
from panelre.mixed.stats import SufficientStats

__all__ = ["OptimumInfo", "optimise", "check_random_design"]


@dataclass(frozen=True)
class OptimumInfo:
    """θ at the optimum, the evaluation there and how the optimiser got there."""

    theta: np.ndarray
    evaluation: Evaluation | PlsEvaluation
    gradient: np.ndarray  # projected gradient of the criterion w.r.t. θ
    converged: bool
    n_iter: int
    message: str

    @property
    def gradient_norm(self) -> float:
        return float(np.linalg.norm(self.gradient))


def _projected(theta: np.ndarray, grad: np.ndarray, layout: ThetaLayout) -> np.ndarray:
    at_bound = layout.is_diagonal & (theta <= 0.0) & (grad > 0.0)
    return np.where(at_bound, 0.0, grad)


def _start(stats: SufficientStats, layout: ThetaLayout) -> np.ndarray:
    """Diagonal start: each random effect's contribution to Var(y) comparable to σ²."""
    rms = np.sqrt(np.einsum("gjj->j", stats.ztz) / stats.nobs)
    rms = np.where(rms > 0, rms, 1.0)
    return np.where(layout.is_diagonal, 1.0 / rms[layout.rows], 0.0)


class _Criterion(Protocol):
    """What the optimiser needs of an objective: value and gradient, the bound on θ."""

    is_diagonal: np.ndarray
    lower: np.ndarray
    n_eval: int

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]: ...

    def grad(self, theta: np.ndarray) -> np.ndarray: ...


def _fd_hessian(theta, free, fun, base_grad) -> np.ndarray:
    """Forward differences of the analytic gradient over the free coordinates."""
    idx = np.flatnonzero(free)
    hess = np.empty((idx.size, idx.size))
    for col, j in enumerate(idx):
        h = 1e-6 * max(abs(theta[j]), 1e-2)
        up = theta.copy()
        up[j] += h
        hess[:, col] = (fun.grad(up)[idx] - base_grad[idx]) / h
    return (hess + hess.T) / 2.0


class _Objective:
    def __init__(self, stats: SufficientStats, layout: ThetaLayout, reml: bool) -> None:
        self.stats, self.layout, self.reml = stats, layout, reml
        self.is_diagonal = layout.is_diagonal
        self.lower = layout.lower_bounds
        self.n_eval = 0

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.n_eval += 1
        ev = evaluate(np.maximum(theta, self.lower), self.stats, self.layout, self.reml)
        return ev.value, ev.gradient

    def grad(self, theta: np.ndarray) -> np.ndarray:
        return self(theta)[1]


def _newton_polish(theta: np.ndarray, fun: _Criterion, max_iter: int = 20) -> np.ndarray:
    for _ in range(max_iter):
        value, grad = fun(theta)
        free = ~(fun.is_diagonal & (theta <= 0.0) & (grad >= 0.0))
        if not free.any():
            break
        hess = _fd_hessian(theta, free, fun, grad)
        try:
            np.linalg.cholesky(hess)
            step_free = -np.linalg.solve(hess, grad[free])
        except np.linalg.LinAlgError:
            break
        step = np.zeros_like(theta)
        step[free] = step_free
        improved = False
        gnorm = np.linalg.norm(grad[free])
        for t in 0.5 ** np.arange(12):
            trial = np.maximum(theta + t * step, fun.lower)
            t_value, t_grad = fun(trial)
            flat = t_value <= value + 1e-13 * abs(value)  # below the criterion's resolution
            if t_value < value or (flat and np.linalg.norm(t_grad[free]) < gnorm):
                improved = True
                break
        if not improved:
            break
        moved = np.max(np.abs(trial - theta)) if trial.size else 0.0
        theta = trial
        if moved < 1e-12 * (1.0 + np.max(np.abs(theta))):
            break
    return theta


def _descend(fun: _Criterion, start: np.ndarray, scale: float) -> tuple[np.ndarray, float, str]:
    """L-BFGS-B from ``start``, Newton polishing, tiny diagonal entries set to the bound."""
    diagonal = fun.is_diagonal
    bounds = [(0.0, None) if d else (None, None) for d in diagonal]
    res = optimize.minimize(
        fun,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-12, "gtol": 1e-8 * scale, "maxiter": 5000, "maxcor": 20},
    )
    theta = _newton_polish(np.maximum(res.x, fun.lower), fun)
    theta = np.where(diagonal & (theta < 1e-10 * (1 + np.abs(theta).max())), 0.0, theta)
    return theta, fun(theta)[0], str(res.message)


#: Interior restarts from a boundary optimum: the zero diagonal entries of Λ are set to these
#: fractions of their starting values (the gradient in such an entry is exactly 0 at 0, since
#: the criterion depends on it through its square, so a gradient method cannot leave the
#: bound by itself; lme4 checks boundary fits the same way, by looking inside).
_RESTART_FRACTIONS = (1.0, 0.25, 0.05)


def _minimise(fun: _Criterion, start: np.ndarray) -> tuple[np.ndarray, float, str]:
    """Descend from ``start``; when the optimum is on the bound, look inside again."""
    scale = max(1.0, abs(fun(start)[0]))  # the gradient grows with the criterion (~ n)
    theta, value, message = _descend(fun, start, scale)
    at_bound = fun.is_diagonal & (theta <= 0.0)
    if at_bound.any():
        for fraction in _RESTART_FRACTIONS:  # a loop over a few restarts
            inside = theta.copy()
            inside[at_bound] = fraction * start[at_bound]
            trial, trial_value, trial_message = _descend(fun, inside, scale)
            if trial_value < value - 1e-10 * max(1.0, abs(value)):
                theta, value, message = trial, trial_value, trial_message
    return theta, value, message


def _converged(value: float, grad: np.ndarray) -> bool:
    return bool(np.linalg.norm(grad) <= 1e-6 * max(1.0, abs(value)))


def _optimise_general(stats: SufficientStats, layout: ThetaLayout, reml: bool) -> OptimumInfo:
    fun = _Objective(stats, layout, reml)
    theta, _, message = _minimise(fun, _start(stats, layout))
    ev = evaluate(theta, stats, layout, reml)
    grad = _projected(theta, ev.gradient, layout)
    return OptimumInfo(theta, ev, grad, _converged(ev.value, grad), fun.n_eval, message)


def _optimise_intercept(stats: SufficientStats, reml: bool) -> OptimumInfo:
    counts = stats.counts
    xbar = stats.ztx[:, 0, :] / counts[:, None]
    ybar = stats.zty[:, 0] / counts
    total = stats.total
    fit = fit_random_intercept(
        counts, xbar, ybar, total[:-1, :-1], total[:-1, -1], float(total[-1, -1]), reml=reml
    )
    theta = np.array([np.sqrt(fit.ratio)])
    layout = ThetaLayout.from_blocks(1, ((0,),))
    ev = evaluate(theta, stats, layout, reml, gradient=False)
    grad = np.array([2.0 * theta[0] * fit.gradient])
    return OptimumInfo(theta, ev, grad, fit.converged, fit.n_iter, "one-dimensional Brent search")


class _CrossedObjective:
    """A multi-factor criterion with a central-difference gradient (one-sided at the bound).

    Each gradient costs 2k evaluations for k parameters; the criterion itself is exact, so
    the steps (1e-6 of θ's scale) leave the gradient accurate to about 1e-10 relative.
    """

    def __init__(self, criterion: CrossedCriterion, is_diagonal: np.ndarray) -> None:
        self.criterion = criterion
        self.is_diagonal = is_diagonal
        self.lower = np.where(is_diagonal, 0.0, -np.inf)
        self.n_eval = 0

    def value(self, theta: np.ndarray) -> float:
        self.n_eval += 1
        return self.criterion(np.maximum(theta, self.lower))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.maximum(np.asarray(theta, dtype=float), self.lower)
        base = self.value(theta)
        grad = np.empty(theta.size)
        for j in range(theta.size):  # a loop over the few covariance parameters
            h = 1e-6 * max(abs(theta[j]), 0.1)
            up, down = theta.copy(), theta.copy()
            up[j] += h
            down[j] -= h
            if self.is_diagonal[j] and down[j] < 0.0:
                grad[j] = (self.value(up) - base) / h
            else:
                grad[j] = (self.value(up) - self.value(down)) / (2.0 * h)
        return base, grad

    def grad(self, theta: np.ndarray) -> np.ndarray:
        return self(theta)[1]


def optimise_crossed(criterion: CrossedCriterion, layouts: list[ThetaLayout]) -> OptimumInfo:
    """Minimise a multi-factor criterion over θ (the factors' pieces in ``criterion``'s
    order) from a moment-based start (``moment_start``).

    COBYQA, a derivative-free trust-region method with bounds (Powell's BOBYQA, which lme4
    uses, is its ancestor), needs about as many evaluations as BOBYQA does in lme4; it keeps
    θ_jj ≥ 0 itself, so a variance of 0 is found exactly, not stopped short of.
    """
    is_diagonal = np.concatenate([layout.is_diagonal for layout in layouts])
    fun = _CrossedObjective(criterion, is_diagonal)
    start = moment_start(criterion.stats)
    bounds = optimize.Bounds(fun.lower, np.full(start.size, np.inf))
    radius = 0.25 * max(float(np.abs(start).max()), 0.2)
    res = optimize.minimize(
        fun.value,
        start,
        method="COBYQA",
        bounds=bounds,
        options={
            "initial_tr_radius": radius,
            "final_tr_radius": 1e-8,
            "maxfev": 500 * start.size,
        },
    )
    theta = np.maximum(res.x, fun.lower)
    # a diagonal entry within the trust region's resolution of the bound is put on it when
    # that does not raise the criterion (lme4's bobyqa ends exactly on the bound there)
    snapped = np.where(is_diagonal & (theta < 1e-6), 0.0, theta)
    if np.any(snapped != theta):
        before, after = fun.value(theta), fun.value(snapped)
        if after <= before + 1e-12 * max(1.0, abs(before)):
            theta = snapped
    value, grad = fun(theta)
    grad = np.where(is_diagonal & (theta <= 0.0) & (grad > 0.0), 0.0, grad)
    ev = criterion.evaluate(theta)
    converged = bool(res.success) or _converged(value, grad)
    return OptimumInfo(theta, ev, grad, converged, fun.n_eval, str(res.message))


def optimise(
    stats: SufficientStats, layout: ThetaLayout, reml: bool, *, random_intercept: bool
) -> OptimumInfo:
    """Minimise the profiled criterion; the 1-D solver for a pure random intercept."""
    if random_intercept:
        return _optimise_intercept(stats, reml)
    return _optimise_general(stats, layout, reml)


def check_random_design(
    stats: SufficientStats, random_names: tuple[str, ...], group_name: str
) -> None:
    """Raise when the random-effect columns are linearly dependent within every group."""
    q = stats.q
    if q < 2:
        return
    ztz = stats.ztz
    scale = np.sqrt(np.einsum("gjj->gj", ztz))
    scale = np.where(scale > 0, scale, 1.0)
    eig = np.linalg.eigvalsh(ztz / scale[:, :, None] / scale[:, None, :])
    if not np.all(eig[:, 0] <= 1e-10 * np.maximum(eig[:, -1], 1e-300)):
        return
    counts = stats.counts
    ones = [j for j in range(q) if np.allclose(np.einsum("gjj->gj", ztz)[:, j], counts)]
    culprits = []
    if ones:
        s1 = stats.ztz[:, ones[0], :]  # per-group sums of each z column
        ss = np.einsum("gjj->gj", ztz)
        within = ss - s1**2 / counts[:, None]
        culprits = [
            random_names[j]
            for j in range(q)
            if j not in ones and np.all(within[:, j] <= 1e-10 * np.maximum(ss[:, j], 1e-300))
        ]
    if culprits:
        raise DataError(
            f"The random slope(s) on {culprits} do not vary within any group of "
            f"{group_name!r}, so a group-specific slope cannot be seen in the data and its "
            "variance cannot be separated from the random intercept's. Keep the variable as a "
            f"fixed effect and remove it from the random part, e.g. '(1 | {group_name})'."
        )
    raise DataError(
        f"The random-effect columns {list(random_names)} are linearly dependent within every "
        f"group of {group_name!r}, so their covariance matrix cannot be estimated. Remove "
        "redundant random terms."
    )
