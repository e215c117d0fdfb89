"""Variance components of the random-effects model, from sufficient statistics.

Swamy–Arora, Wallace–Hussain and Amemiya are one moment system ``M σ = q`` (R plm's
``ercomp``): ``q`` holds quadratic forms of first-stage residuals (within, between and
entity/time-mean projections) and ``M`` their expectations' coefficients. On balanced
panels the classic simple degrees of freedom are used; on unbalanced panels the exact
trace-based coefficients (Baltagi & Chang 1994). Nerlove uses the dispersion of the
estimated fixed effects. ``convention="stata"`` gives Stata's ``xtreg, re`` (harmonic
mean T̄ and an unweighted between regression). ML and REML maximise the likelihood of the
random-intercept model from counts, group means and cross-products.

Every quadratic form of a residual ``e = z·c`` is ``c'G c`` for a (transformed)
cross-product matrix ``G``, every group mean of e is ``z̄_g·c`` and every trace needs
only k x k group cross-products, so nothing here reads a row.

Negative estimates are set to 0 with a ``BoundaryWarning``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from panelre._linalg import inv_psd
from panelre._random_intercept import fit_random_intercept
from panelre._warnings import warn
from panelre.estimators._ols import LeastSquares, host_least_squares, least_squares
from panelre.estimators._transforms import (
    effect_dims,
    n_effects,
    twoway_effects,
    twoway_gram,
    within,
)
from panelre.exceptions import (
    AbsorbedVariableError,
    BoundaryWarning,
    InsufficientDataError,
    RankDeficiencyError,
)
from panelre.stats import PanelSource, RowMap, column_selection

__all__ = [
    "Components",
    "InstrumentedSteps",
    "estimate_components",
    "likelihood_components",
    "nonnegative_effect_variance",
]


@dataclass(frozen=True)
class Components:
    """Estimated variances: idiosyncratic ``sigma2_e`` and per effect dimension."""

    sigma2_e: float
    sigma2: dict[str, float]
    clipped: list[str] = field(default_factory=list)
    loglike: float | None = None


@dataclass(frozen=True)
class InstrumentedSteps:
    """The first steps of the moment systems for an instrumented model.

    R plm's ``ercomp`` with an IV formula runs each moment system on the residuals of the
    two-stage least-squares first steps, while its trace coefficients keep the regressors'
    cross-products. The steps are callables, so a method computes only the fits it reads.

    Attributes
    ----------
    regressors : list of int
        Positions in z of the regressors (exogenous and endogenous, with the intercept);
        the excluded instruments are left out of every trace.
    within : callable
        ``(1, −b)`` over z of the within 2SLS (Swamy–Arora, Amemiya, Nerlove).
    pooled : callable
        ``(1, −b)`` over z of the pooled 2SLS (Wallace–Hussain).
    between : callable
        Residual sum of squares of the Tᵢ-weighted between 2SLS and its number of
        coefficients (Swamy–Arora).
    """

    regressors: list[int]
    within: Callable[[], np.ndarray]
    pooled: Callable[[], np.ndarray]
    between: Callable[[], tuple[float, int]]


def nonnegative_effect_variance(sigma2_u: float, estimator: str, consequence: str) -> float:
    """``sigma2_u``, or 0 with a ``BoundaryWarning`` when the moment estimate is negative."""
    if sigma2_u >= 0:
        return sigma2_u
    warn(
        f"The {estimator} estimate of the entity-effect variance was negative "
        f"({sigma2_u:.4g}) and is set to 0 (θ = 0){consequence}.",
        BoundaryWarning,
    )
    return 0.0


def _trace_product(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.einsum("ij,ji->", a, b))


class _Moments:
    """The group statistics of one source that the moment estimators read."""

    def __init__(
        self, source: PanelSource, effects: str, instrumented: InstrumentedSteps | None = None
    ) -> None:
        self.source = source
        self.st = source.stats
        self.effects = effects
        self.dims = effect_dims(effects)
        self.n = self.st.n
        self.p = self.st.width
        self.instrumented = instrumented
        self.regressors = (
            list(range(1, self.p)) if instrumented is None else list(instrumented.regressors)
        )
        self.regressor_names = [source.x_names[j - 1] for j in self.regressors]
        intercept = [j for j, n in zip(self.regressors, self.regressor_names) if n == "Intercept"]
        self.slopes = [j for j in self.regressors if j not in intercept]
        self.K = len(self.slopes)
        self.within_tr, self.wgram = within(source, effects)
        self._zbar: dict[str, np.ndarray] = {}

    @property
    def balanced(self) -> bool:
        return self.st.has_time and self.st.is_balanced

    @property
    def n_effects(self) -> int:
        return n_effects(self.st, self.effects)

    def counts(self, dim: str) -> np.ndarray:
        return self.st.groups(dim).counts

    def means(self, dim: str) -> np.ndarray:
        return self.st.groups(dim).means

    def zbar(self, dim: str) -> np.ndarray:
        """Group means of the regressors (computed once per dimension)."""
        if dim not in self._zbar:
            self._zbar[dim] = self.means(dim)[:, column_selection(self.regressors)]
        return self._zbar[dim]

    def _count_sums(self, dim: str) -> np.ndarray:
        """``c_g z̄_g``: the group sums of the regressors when the means are by rows."""
        g = self.st.groups(dim)
        if g.weights is g.counts:
            return g.sums[:, column_selection(self.regressors)]
        return self.zbar(dim) * self.counts(dim)[:, None]

    def S(self, dim: str) -> np.ndarray:
        """Σ_g c_g² z̄_g z̄_g' (plm's crossprod(Sum(Z), Z))."""
        cz = self._count_sums(dim)
        return cz.T @ cz

    def B(self, dim: str) -> np.ndarray:
        """Σ_g c_g z̄_g z̄_g' (cross-product of the between-transformed Z)."""
        return self._count_sums(dim).T @ self.zbar(dim)

    @staticmethod
    def other(dim: str) -> str:
        return "time" if dim == "entity" else "entity"

    def expanded_mean_sums(self, dim: str) -> np.ndarray:
        """Sums over the other dimension's groups of the row-level dim-means of Z."""
        pattern = self.st.pattern()
        if dim == "entity":
            return pattern.to_time(self.zbar("entity"))
        return pattern.to_entity(self.zbar("time"))

    @cached_property
    def within(self) -> LeastSquares | None:
        """The within regression of y on the slopes (None when nothing is estimable)."""
        names = [self.source.x_names[j - 1] for j in self.slopes]
        try:
            return least_squares(
                self.source,
                self.within_tr,
                self.slopes,
                names,
                gram=self.wgram,
                raw_ss=np.diag(self.st.gram)[self.slopes],
                absorbed_by=self.effects,
                warn=False,
            )
        except (AbsorbedVariableError, RankDeficiencyError):
            return None

    @cached_property
    def _within_coef(self) -> np.ndarray:
        fit = self.within
        if fit is None:
            return np.eye(self.p)[0]
        if self.instrumented is not None:
            return self.instrumented.within()
        return fit.coef

    def within_coef(self) -> np.ndarray:
        """``(1, −b_within)`` over z (just y when nothing is estimable); the within 2SLS
        for an instrumented model."""
        return self._within_coef

    @property
    def k_within(self) -> int:
        return 0 if self.within is None else len(self.within.params)

    def within_ssr(self) -> float:
        c = self.within_coef()
        return max(float(c @ self.wgram @ c), 0.0)

    def group_quad(self, c: np.ndarray, dim: str, center: float = 0.0) -> float:
        """``Σ_g n_g (ē_g − center)²`` for ``e = z·c``."""
        means = self.means(dim) @ c - center
        return float((self.counts(dim) * means**2).sum())


def _solve(M: np.ndarray, q: np.ndarray, names: list[str]) -> Components:
    sol = np.linalg.solve(M, q)
    sigma2_e = float(sol[0])
    comps = {}
    clipped = []
    for name, value in zip(names, sol[1:]):
        if value < 0:
            clipped.append(name)
            value = 0.0
        comps[name] = float(value)
    if sigma2_e <= 0:
        raise InsufficientDataError(
            f"The idiosyncratic variance was estimated as {sigma2_e:g} <= 0: the data have no "
            "residual within variation (perfect fit)."
        )
    return Components(sigma2_e, comps, clipped)


def _simple(m: _Moments, q: np.ndarray) -> Components:
    """The balanced-panel coefficients of the Wallace–Hussain and Amemiya systems."""
    k = len(m.dims) + 1
    M = np.zeros((k, k))
    M[0, 0] = m.n - m.n_effects
    for r, dim in enumerate(m.dims, start=1):
        M[r, 0] = len(m.counts(dim))
        M[r, r] = m.n
    return _solve(M, q, m.dims)


def _swamy_arora(m: _Moments) -> Components:
    k = len(m.dims) + 1
    M, q = np.zeros((k, k)), np.zeros(k)
    q[0] = m.within_ssr()
    M[0, 0] = m.n - m.n_effects - m.k_within
    keeps = {}
    for r, dim in enumerate(m.dims, start=1):
        c = m.counts(dim)
        sw = np.sqrt(c)
        between = host_least_squares(
            m.zbar(dim) * sw[:, None], m.means(dim)[:, 0] * sw, m.regressor_names
        )
        if m.instrumented is None:
            q[r], n_params = float(between.resid @ between.resid), len(between.params)
        else:
            q[r], n_params = m.instrumented.between()
        kb = between.keep
        keeps[dim] = kb
        M[r, 0] = len(c) - n_params
        if m.balanced:
            M[r, r] = m.n / len(c) * M[r, 0]
        else:
            M[r, r] = m.n - _trace_product(
                inv_psd(m.B(dim)[np.ix_(kb, kb)]), m.S(dim)[np.ix_(kb, kb)]
            )
    if len(m.dims) == 2 and not m.balanced:
        for r, dim in enumerate(m.dims, start=1):
            kb = keeps[dim]
            a = m.expanded_mean_sums(dim)[:, kb]
            M[r, 3 - r] = len(m.counts(dim)) - _trace_product(
                inv_psd(m.B(dim)[np.ix_(kb, kb)]), a.T @ a
            )
    return _solve(M, q, m.dims)


def _wallace_hussain(m: _Moments) -> Components:
    ols = least_squares(
        m.source,
        RowMap.identity(m.p),
        m.regressors,
        m.regressor_names,
        gram=m.st.gram,
        warn=False,
    )
    c = ols.coef if m.instrumented is None else m.instrumented.pooled()
    q = np.array([float(c @ m.wgram @ c)] + [m.group_quad(c, dim) for dim in m.dims])
    if m.balanced:
        return _simple(m, q)
    k = len(m.dims) + 1
    M = np.zeros((k, k))
    keep = ols.keep
    kz = [m.regressors[j] for j in np.flatnonzero(keep)]
    cpzm = ols.bread
    A = cpzm @ m.wgram[np.ix_(kz, kz)]
    M[0, 0] = m.n - m.n_effects - np.trace(A)
    S = {dim: m.S(dim)[np.ix_(keep, keep)] for dim in m.dims}
    Bm = {dim: m.B(dim)[np.ix_(keep, keep)] for dim in m.dims}
    for r, dim in enumerate(m.dims, start=1):
        M[0, r] = _trace_product(A @ cpzm, S[dim])
        M[r, 0] = len(m.counts(dim)) - _trace_product(cpzm, Bm[dim])
        M[r, r] = (
            m.n - 2 * _trace_product(cpzm, S[dim]) + _trace_product(cpzm @ Bm[dim] @ cpzm, S[dim])
        )
    if len(m.dims) == 2:
        for r, dim in enumerate(m.dims, start=1):
            other = m.other(dim)
            a = m.expanded_mean_sums(dim)[:, keep]
            zsum = m.st.groups(other).sums[:, kz]
            M[r, 3 - r] = (
                len(m.counts(dim))
                - 2 * _trace_product(cpzm, a.T @ zsum)
                + _trace_product(cpzm @ Bm[dim] @ cpzm, S[other])
            )
    return _solve(M, q, m.dims)


def _amemiya(m: _Moments) -> Components:
    c = m.within_coef()
    e_mean = float(m.st.total @ c) / m.n
    q = np.array([m.within_ssr()] + [m.group_quad(c, dim, e_mean) for dim in m.dims])
    if m.balanced:
        return _simple(m, q)
    k = len(m.dims) + 1
    M = np.zeros((k, k))
    fit = m.within
    if fit is not None and fit.absorbed:
        # the trace below has no term for regressors the within transform removes (R plm's
        # amemiya_check refuses them too)
        verb = "does" if len(fit.absorbed) == 1 else "do"
        raise AbsorbedVariableError(
            "Amemiya's variance components on an unbalanced panel need within variation in "
            f"every regressor; {', '.join(fit.absorbed)} {verb} not vary within "
            f"{' and '.join(m.dims)} groups. Use method='swamy-arora' or 'wallace-hussain'."
        )
    kz = [] if fit is None else [pos for pos, kept in zip(m.slopes, fit.keep) if kept]
    M[0, 0] = m.n - m.n_effects - len(kz)
    xm = m.st.total[kz] / m.n
    for r, dim in enumerate(m.dims, start=1):
        cnt = m.counts(dim)
        trace = 0.0
        if fit is not None and kz:
            dev = m.means(dim)[:, kz] - xm
            trace = _trace_product(fit.bread, (dev * cnt[:, None]).T @ dev)
        M[r, 0] = len(cnt) - 1 + trace
        M[r, r] = m.n - float((cnt**2).sum()) / m.n
    if len(m.dims) == 2:
        for r, dim in enumerate(m.dims, start=1):
            c_other = m.counts(m.other(dim))
            M[r, 3 - r] = len(m.counts(dim)) - float((c_other**2).sum()) / m.n
    return _solve(M, q, m.dims)


def _nerlove(m: _Moments) -> Components:
    if m.within is None:
        raise InsufficientDataError("Nerlove's method needs at least one time-varying regressor.")
    c = m.within_coef()
    sigma2_e = m.within_ssr() / m.n
    level = float(m.st.total @ c) / m.n
    if len(m.dims) == 1:
        dim = m.dims[0]
        effects = {dim: m.means(dim) @ c - level}
    else:
        alpha, gamma = twoway_effects(m.st, m.within_tr, c, twoway_gram(m.source))
        a = alpha.to_numpy() - level
        effects = {
            "entity": a - np.average(a, weights=m.counts("entity")),
            "time": gamma.to_numpy(),
        }
    comps = {}
    for dim, eff in effects.items():
        cnt = m.counts(dim)
        G = len(cnt)
        if m.balanced:
            comps[dim] = float(eff @ eff) / (G - 1)
        else:
            comps[dim] = float((eff**2 * cnt).sum()) / m.n * G / (G - 1)
    return Components(sigma2_e, comps)


def _stata_swamy_arora(m: _Moments) -> Components:
    if m.dims != ["entity"]:
        raise InsufficientDataError(
            "convention='stata' covers one-way entity random effects (Stata's xtreg, re)."
        )
    sigma2_e = m.within_ssr() / (m.n - m.n_effects - m.k_within)
    between = host_least_squares(m.zbar("entity"), m.means("entity")[:, 0], m.regressor_names)
    c = m.counts("entity")
    G = len(c)
    t_bar = G / float((1 / c).sum())
    s2_between = float(between.resid @ between.resid) / (G - len(between.params))
    value = s2_between - sigma2_e / t_bar
    clipped = ["entity"] if value < 0 else []
    return Components(sigma2_e, {"entity": max(value, 0.0)}, clipped)


_METHODS = {
    "swamy-arora": _swamy_arora,
    "wallace-hussain": _wallace_hussain,
    "amemiya": _amemiya,
    "nerlove": _nerlove,
}


def estimate_components(
    source: PanelSource,
    effects: str,
    method: str,
    convention: str,
    instrumented: InstrumentedSteps | None = None,
) -> Components:
    """Estimate σ²ₑ and the effect variances for ``effects`` by a moment ``method``.

    Parameters
    ----------
    source : PanelSource
    effects : {"entity", "time", "twoway"}
    method : {"swamy-arora", "wallace-hussain", "amemiya", "nerlove"}
    convention : {"plm", "stata"}
    instrumented : InstrumentedSteps, optional
        The 2SLS first steps of an instrumented model (plm's components for IV formulas).
    """
    m = _Moments(source, effects, instrumented)
    for dim in m.dims:
        G = m.st.groups(dim).size
        if G <= m.K + 1:
            raise InsufficientDataError(
                f"Random effects need more {dim} groups ({G}) than regressors including the "
                f"intercept ({m.K + 1}) to estimate the {dim}-effect variance."
            )
    df_within = m.n - m.n_effects - m.k_within
    if df_within <= 0:
        raise InsufficientDataError(
            f"Random effects need within-group variation to estimate σ²ₑ: {m.n} observations, "
            f"{m.n_effects} {effects} effects and {m.k_within} slopes leave "
            f"{df_within} degrees of freedom (are all groups observed once, T = 1?)."
        )
    if convention == "stata" and method == "swamy-arora":
        comps = _stata_swamy_arora(m)
    else:
        comps = _METHODS[method](m)
    if comps.clipped:
        names = " and ".join(f"σ²({d})" for d in comps.clipped)
        warn(
            f"The estimated {names} variance was negative and is set to 0 ({method}); the "
            f"{' and '.join(comps.clipped)} effects then get no weight (θ = 0), and random "
            "effects reduce to pooled OLS in that dimension. This usually means the effects are "
            "small relative to the idiosyncratic noise.",
            BoundaryWarning,
        )
    return comps


def likelihood_components(source: PanelSource, method: str) -> Components:
    """ML/REML σ² from counts, group means and cross-products (O(N·k²) per evaluation)."""
    st = source.stats
    if st.n_entities < 2:
        raise InsufficientDataError("ML/REML random effects need at least two entities.")
    means = st.entity.means
    fit = fit_random_intercept(
        st.entity.counts,
        means[:, 1:],
        means[:, 0],
        st.gram[1:, 1:],
        st.gram[1:, 0],
        float(st.gram[0, 0]),
        reml=method == "reml",
    )
    clipped = ["entity"] if fit.sigma2_u <= 0 else []
    return Components(fit.sigma2_e, {"entity": max(fit.sigma2_u, 0.0)}, clipped, fit.loglike)
