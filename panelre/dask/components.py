"""Random-effects variance components from sufficient statistics.

The same moment systems as ``panelre.estimators.variance_components`` (R plm's
``ercomp``; Stata's ``xtreg, re``), written with group sums, counts and cross-products
instead of rows: every quadratic form of first-stage residuals ``e = z·c`` is
``c' G c`` for a (transformed) cross-product matrix ``G``, and every group mean of e is
``z̄_g·c``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from panelre._linalg import inv_psd
from panelre.dask.algebra import GramOLS, gram_ols
from panelre.dask.stats import PanelStats, incidence, transformed_gram
from panelre.estimators._base import transformed_ols
from panelre.estimators.variance_components import Components, _solve, _trace_product
from panelre.exceptions import (
    AbsorbedVariableError,
    BoundaryWarning,
    InsufficientDataError,
    RankDeficiencyError,
)

__all__ = ["estimate_components"]

_DIMS = {"entity": ["entity"], "time": ["time"], "twoway": ["entity", "time"]}


class _StatsMoments:
    """Group statistics of one design for the moment estimators (cf. ``_Moments``)."""

    def __init__(self, ctx: Any, effects: str) -> None:
        from panelre.dask.estimators import within_transform

        ctx, self.within_tr = within_transform(ctx, effects)
        self.ctx = ctx
        self.st: PanelStats = ctx.stats
        self.effects = effects
        self.dims = _DIMS[effects]
        self.n = self.st.n
        self.x_names = ctx.design.x_names
        self.slope_pos = ctx.slope_pos
        self.K = len(self.slope_pos)
        self.wgram = transformed_gram(self.st, self.within_tr)[0]

    @property
    def balanced(self) -> bool:
        return self.st.is_balanced if self.st.time_labels is not None else False

    @property
    def n_effects(self) -> int:
        st = self.st
        return {
            "entity": st.n_entities,
            "time": st.n_periods,
            "twoway": st.n_entities + st.n_periods - 1,
        }[self.effects]

    def counts(self, dim: str) -> np.ndarray:
        return self.st.counts(dim)

    def zbar(self, dim: str) -> np.ndarray:
        return self.st.means(dim)[:, 1:]

    def S(self, dim: str) -> np.ndarray:
        zb, c = self.zbar(dim), self.counts(dim)
        return (zb * (c**2)[:, None]).T @ zb

    def B(self, dim: str) -> np.ndarray:
        zb, c = self.zbar(dim), self.counts(dim)
        return (zb * c[:, None]).T @ zb

    @staticmethod
    def other(dim: str) -> str:
        return "time" if dim == "entity" else "entity"

    def expanded_mean_sums(self, dim: str) -> np.ndarray:
        """Sums over the other dimension's groups of the row-level dim-means of Z."""
        if dim == "entity":
            return incidence(self.st, right=self.zbar("entity"))[1]  # type: ignore[return-value]
        return incidence(self.st, table=self.zbar("time"))[2]  # type: ignore[return-value]

    def within(self) -> GramOLS | None:
        names = [self.x_names[j - 1] for j in self.slope_pos]
        raw = np.diag(self.st.gram)[self.slope_pos]
        try:
            return gram_ols(self.wgram, self.slope_pos, names, raw_ss=raw, warn=False)
        except (AbsorbedVariableError, RankDeficiencyError):
            return None

    def within_ssr(self, ols: GramOLS | None) -> float:
        return float(self.wgram[0, 0]) if ols is None else ols.ssr

    def group_quad(self, c: np.ndarray, dim: str, center: float = 0.0) -> float:
        """``Σ_g c_g (ē_g − center)²`` for ``e = z·c``."""
        means = self.st.means(dim) @ c - center
        return float((self.counts(dim) * means**2).sum())


def _swamy_arora(m: _StatsMoments) -> Components:
    ols = m.within()
    k = len(m.dims) + 1
    M, q = np.zeros((k, k)), np.zeros(k)
    q[0] = m.within_ssr(ols)
    M[0, 0] = m.n - m.n_effects - (0 if ols is None else len(ols.params))
    keeps = {}
    for r, dim in enumerate(m.dims, start=1):
        c = m.counts(dim)
        sw = np.sqrt(c)
        ybar = m.st.means(dim)[:, 0]
        between = transformed_ols(m.zbar(dim) * sw[:, None], ybar * sw, m.x_names, warn=False)
        q[r] = float(between.resid @ between.resid)
        kb = between.keep
        keeps[dim] = kb
        M[r, 0] = len(c) - len(between.params)
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


def _wallace_hussain(m: _StatsMoments) -> Components:
    st = m.st
    ols = gram_ols(st.gram, range(1, len(m.x_names) + 1), m.x_names, warn=False)
    k = len(m.dims) + 1
    M, q = np.zeros((k, k)), np.zeros(k)
    q[0] = float(ols.coef @ m.wgram @ ols.coef)
    for r, dim in enumerate(m.dims, start=1):
        q[r] = m.group_quad(ols.coef, dim)
    if m.balanced:
        M[0, 0] = m.n - m.n_effects
        for r, dim in enumerate(m.dims, start=1):
            M[r, 0] = len(m.counts(dim))
            M[r, r] = m.n
        return _solve(M, q, m.dims)
    keep = ols.keep
    kz = ols.kept
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
            zsum = st.sums(other)[:, kz]
            M[r, 3 - r] = (
                len(m.counts(dim))
                - 2 * _trace_product(cpzm, a.T @ zsum)
                + _trace_product(cpzm @ Bm[dim] @ cpzm, S[other])
            )
    return _solve(M, q, m.dims)


def _amemiya(m: _StatsMoments) -> Components:
    ols = m.within()
    st = m.st
    c = ols.coef if ols is not None else np.eye(st.gram.shape[0])[0]
    e_mean = float(st.total @ c) / m.n
    k = len(m.dims) + 1
    M, q = np.zeros((k, k)), np.zeros(k)
    q[0] = m.within_ssr(ols)
    for r, dim in enumerate(m.dims, start=1):
        q[r] = m.group_quad(c, dim, center=e_mean)
    if m.balanced:
        M[0, 0] = m.n - m.n_effects
        for r, dim in enumerate(m.dims, start=1):
            M[r, 0] = len(m.counts(dim))
            M[r, r] = m.n
        return _solve(M, q, m.dims)
    kz = [] if ols is None else ols.kept
    M[0, 0] = m.n - m.n_effects - len(kz)
    xm = st.total[kz] / m.n
    for r, dim in enumerate(m.dims, start=1):
        cnt = m.counts(dim)
        if kz:
            dev = st.means(dim)[:, kz] - xm
            trace = _trace_product(ols.bread, (dev * cnt[:, None]).T @ dev)  # type: ignore[union-attr]
        else:
            trace = 0.0
        M[r, 0] = len(cnt) - 1 + trace
        M[r, r] = m.n - float((cnt**2).sum()) / m.n
    if len(m.dims) == 2:
        for r, dim in enumerate(m.dims, start=1):
            c_other = m.counts(m.other(dim))
            M[r, 3 - r] = len(m.counts(dim)) - float((c_other**2).sum()) / m.n
    return _solve(M, q, m.dims)


def _nerlove(m: _StatsMoments) -> Components:
    from panelre.dask.estimators import _fe_effects

    ols = m.within()
    if ols is None:
        raise InsufficientDataError("Nerlove's method needs at least one time-varying regressor.")
    st = m.st
    sigma2_e = ols.ssr / m.n
    balanced = m.balanced
    if len(m.dims) == 1:
        dim = m.dims[0]
        eff = st.means(dim) @ ols.coef
        effects = {dim: eff - float(st.total @ ols.coef) / m.n}
    else:
        alpha, extra = _fe_effects(st, ols, m.within_tr, "twoway")
        a = alpha.to_numpy() - float(st.total @ ols.coef) / m.n
        gamma = extra["time_effects"].to_numpy()
        effects = {"entity": a - np.average(a, weights=m.counts("entity")), "time": gamma}
    comps = {}
    for dim, eff in effects.items():
        cnt = m.counts(dim)
        G = len(cnt)
        if balanced:
            comps[dim] = float(eff @ eff) / (G - 1)
        else:
            comps[dim] = float((eff**2 * cnt).sum()) / m.n * G / (G - 1)
    return Components(sigma2_e, comps)


def _stata_swamy_arora(m: _StatsMoments) -> Components:
    if m.dims != ["entity"]:
        raise InsufficientDataError(
            "convention='stata' covers one-way entity random effects (Stata's xtreg, re)."
        )
    ols = m.within()
    n_slopes = 0 if ols is None else len(ols.params)
    sigma2_e = m.within_ssr(ols) / (m.n - m.n_effects - n_slopes)
    ybar = m.st.means("entity")[:, 0]
    between = transformed_ols(m.zbar("entity"), ybar, m.x_names, warn=False)
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


def estimate_components(ctx: Any, effects: str, method: str, convention: str) -> Components:
    """σ²ₑ and the effect variances by a moment method (see the in-memory module)."""
    m = _StatsMoments(ctx, effects)
    for dim in m.dims:
        G = m.st.n_entities if dim == "entity" else m.st.n_periods
        if G <= m.K + 1:
            raise InsufficientDataError(
                f"Random effects need more {dim} groups ({G}) than regressors including the "
                f"intercept ({m.K + 1}) to estimate the {dim}-effect variance."
            )
    if convention == "stata" and method == "swamy-arora":
        comps = _stata_swamy_arora(m)
    else:
        comps = _METHODS[method](m)
    if comps.clipped:
        names = " and ".join(f"σ²({d})" for d in comps.clipped)
        warnings.warn(
            f"The estimated {names} variance was negative and is set to 0 ({method}); the "
            f"{' and '.join(comps.clipped)} effects then get no weight (θ = 0), and random "
            "effects reduce to pooled OLS in that dimension. This usually means the effects are "
            "small relative to the idiosyncratic noise.",
            BoundaryWarning,
            stacklevel=5,
        )
    return comps


def likelihood_components(ctx: Any, method: str) -> Components:
    """ML/REML σ² from counts, group means and cross-products (O(N·k²) per evaluation)."""
    from panelre._random_intercept import fit_random_intercept

    st = ctx.stats
    if st.n_entities < 2:
        raise InsufficientDataError("ML/REML random effects need at least two entities.")
    means = st.means("entity")
    fit = fit_random_intercept(
        st.counts("entity"),
        means[:, 1:],
        means[:, 0],
        st.gram[1:, 1:],
        st.gram[1:, 0],
        float(st.gram[0, 0]),
        reml=method == "reml",
    )
    clipped = ["entity"] if fit.sigma2_u <= 0 else []
    return Components(fit.sigma2_e, {"entity": max(fit.sigma2_u, 0.0)}, clipped, fit.loglike)
