"""Variance components of the random-effects model by the method of moments.

Swamy–Arora, Wallace–Hussain and Amemiya are one moment system ``M σ = q`` (R plm's
``ercomp``): ``q`` holds quadratic forms of first-stage residuals (within, between and
entity/time-mean projections) and ``M`` their expectations' coefficients. On balanced
panels the classic simple degrees of freedom are used; on unbalanced panels the exact
trace-based coefficients (Baltagi & Chang 1994). Nerlove uses the dispersion of the
estimated fixed effects. ``convention="stata"`` gives Stata's ``xtreg, re`` (harmonic
mean T̄ and an unweighted between regression). Every trace needs only k x k group
cross-products, so no n x n or n x N matrix is ever formed.

Negative estimates are set to 0 with a ``BoundaryWarning``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from panelre._columns import select_columns
from panelre._linalg import column_ss, inv_psd
from panelre._warnings import warn
from panelre.estimators._base import transformed_ols
from panelre.exceptions import (
    AbsorbedVariableError,
    BoundaryWarning,
    InsufficientDataError,
    RankDeficiencyError,
)
from panelre.formula import Design

__all__ = ["Components", "estimate_components"]

_DIMS = {"entity": ["entity"], "time": ["time"], "twoway": ["entity", "time"]}


@dataclass(frozen=True)
class Components:
    """Estimated variances: idiosyncratic ``sigma2_e`` and per effect dimension."""

    sigma2_e: float
    sigma2: dict[str, float]
    clipped: list[str] = field(default_factory=list)
    loglike: float | None = None


@dataclass(frozen=True)
class WithinFit:
    """The within regression behind the moment estimators."""

    params: np.ndarray
    keep: np.ndarray
    ssr: float
    bread: np.ndarray
    cols: list[int]
    resid: np.ndarray | None = None  # row residuals (two-way only)


def _trace_product(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.einsum("ij,ji->", a, b))


class _Moments:
    """Cached group statistics of one design for the moment estimators."""

    def __init__(self, design: Design, effects: str) -> None:
        self.d = design
        self.p = design.panel
        self.effects = effects
        self.dims = _DIMS[effects]
        self.Z = design.X
        self.y = design.y
        self.n = self.p.nobs
        self.slope_cols = [j for j, n in enumerate(design.x_names) if n != "Intercept"]
        self.K = len(self.slope_cols)

    @property
    def n_effects(self) -> int:
        p = self.p
        return {
            "entity": p.n_entities,
            "time": p.n_periods,
            "twoway": p.n_entities + p.n_periods - 1,
        }[self.effects]

    def counts(self, dim: str) -> np.ndarray:
        return self.p.group_counts(dim).astype(float)

    def zbar(self, dim: str) -> np.ndarray:
        return self.d.means(dim)[1]

    def ybar(self, dim: str) -> np.ndarray:
        return self.d.means(dim)[0]

    def S(self, dim: str) -> np.ndarray:
        """Σ_g c_g² z̄_g z̄_g' (plm's crossprod(Sum(Z), Z))."""
        zb, c = self.zbar(dim), self.counts(dim)
        return (zb * (c**2)[:, None]).T @ zb

    def B(self, dim: str) -> np.ndarray:
        """Σ_g c_g z̄_g z̄_g' (cross-product of the between-transformed Z)."""
        zb, c = self.zbar(dim), self.counts(dim)
        return (zb * c[:, None]).T @ zb

    def other(self, dim: str) -> str:
        return "time" if dim == "entity" else "entity"

    def expanded_mean_sums(self, dim: str) -> np.ndarray:
        """Sums over the other dimension's groups of the dim-means of Z at row level."""
        return self.p.group_sums(self.p.expand(self.zbar(dim), dim), self.other(dim))

    @cached_property
    def within(self) -> WithinFit:
        """The within regression. One-way effects need no rows: its normal equations are
        ``X'X − Σ_g c_g x̄_g x̄_g'`` from the cached group means; two-way effects demean."""
        X = self.d.slopes()[0]
        names = [self.d.x_names[j] for j in self.slope_cols]
        raw = column_ss(X)
        if self.effects == "twoway":
            Xt, yt = self.p.demean(X, "twoway"), self.p.demean(self.y, "twoway")
            try:
                ols = transformed_ols(Xt, yt, names, raw_ss=raw, absorbed_by="twoway", warn=False)
            except (AbsorbedVariableError, RankDeficiencyError):
                return WithinFit(
                    np.zeros(0),
                    np.zeros(len(names), bool),
                    float(yt @ yt),
                    np.zeros((0, 0)),
                    [],
                    yt,
                )
            cols = [c for c, k in zip(self.slope_cols, ols.keep) if k]
            return WithinFit(
                ols.params, ols.keep, float(ols.resid @ ols.resid), ols.bread, cols, ols.resid
            )
        dim = self.effects
        c = self.counts(dim)
        ybar, xbar = self.ybar(dim), self.zbar(dim)[:, self.slope_cols]
        wxx = X.T @ X - (xbar * c[:, None]).T @ xbar
        wxy = X.T @ self.y - (xbar * c[:, None]).T @ ybar
        wyy = float(self.y @ self.y) - float((c * ybar**2).sum())
        try:
            keep = select_columns(wxx, names, raw_ss=raw, absorbed_by=dim, warn=False).keep
        except (AbsorbedVariableError, RankDeficiencyError):
            return WithinFit(np.zeros(0), np.zeros(len(names), bool), wyy, np.zeros((0, 0)), [])
        kk = np.flatnonzero(keep)
        bread = inv_psd(wxx[np.ix_(kk, kk)])
        b = bread @ wxy[kk]
        ssr = max(wyy - float(b @ wxy[kk]), 0.0)
        return WithinFit(b, keep, ssr, bread, [self.slope_cols[i] for i in kk])

    def effect_means(self, fit: WithinFit, dim: str) -> np.ndarray:
        """Group means of ``e = y − X b`` minus their overall mean (``e`` centred)."""
        means = self.ybar(dim) - self.zbar(dim)[:, fit.cols] @ fit.params
        overall = float(np.average(means, weights=self.counts(dim)))
        return means - overall

    def group_quad(self, resid: np.ndarray, dim: str) -> float:
        """``‖B_dim e‖² = Σ_g c_g ē_g²``."""
        means = self.p.group_means(resid, dim)
        return float((self.counts(dim) * means**2).sum())

    def within_quad(self, resid: np.ndarray) -> float:
        w = self.p.demean(resid, self.effects)  # type: ignore[arg-type]
        return float(w @ w)


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


def _swamy_arora(m: _Moments) -> Components:
    ols = m.within
    k = len(m.dims) + 1
    M = np.zeros((k, k))
    q = np.zeros(k)
    q[0] = ols.ssr
    M[0, 0] = m.n - m.n_effects - len(ols.params)
    balanced = m.p.is_balanced if m.p.time_codes is not None else False
    keeps = {}
    for r, dim in enumerate(m.dims, start=1):
        c = m.counts(dim)
        sw = np.sqrt(c)
        between = transformed_ols(
            m.zbar(dim) * sw[:, None], m.ybar(dim) * sw, m.d.x_names, warn=False
        )
        q[r] = float(between.resid @ between.resid)
        G = len(c)
        kb = between.keep
        keeps[dim] = kb
        if balanced:
            M[r, 0] = G - len(between.params)
            M[r, r] = m.n / G * M[r, 0]
        else:
            # plm: N - K - 1 with K the slopes of the full design (= the between rank
            # unless the between regression drops collinear columns, e.g. Mundlak means)
            M[r, 0] = G - len(between.params)
            M[r, r] = m.n - _trace_product(
                inv_psd(m.B(dim)[np.ix_(kb, kb)]), m.S(dim)[np.ix_(kb, kb)]
            )
    if len(m.dims) == 2 and not balanced:
        for r, dim in enumerate(m.dims, start=1):
            kb = keeps[dim]
            a = m.expanded_mean_sums(dim)[:, kb]
            M[r, 3 - r] = len(m.counts(dim)) - _trace_product(
                inv_psd(m.B(dim)[np.ix_(kb, kb)]), a.T @ a
            )
    return _solve(M, q, m.dims)


def _wallace_hussain(m: _Moments) -> Components:
    Z = m.Z
    ols = transformed_ols(Z, m.y, m.d.x_names, warn=False)
    e = ols.resid
    k = len(m.dims) + 1
    M = np.zeros((k, k))
    q = np.zeros(k)
    q[0] = m.within_quad(e)
    for r, dim in enumerate(m.dims, start=1):
        q[r] = m.group_quad(e, dim)
    if m.p.is_balanced and m.p.time_codes is not None:
        M[0, 0] = m.n - m.n_effects
        for r, dim in enumerate(m.dims, start=1):
            M[r, 0] = len(m.counts(dim))
            M[r, r] = m.n
        return _solve(M, q, m.dims)
    Zk = ols.X
    cpzm = inv_psd(Zk.T @ Zk)
    keep = ols.keep
    Zw = m.p.demean(Zk, m.effects)  # type: ignore[arg-type]
    cpzw = Zw.T @ Zw
    A = cpzm @ cpzw
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
            zsum = m.p.group_sums(Zk, other)
            M[r, 3 - r] = (
                len(m.counts(dim))
                - 2 * _trace_product(cpzm, a.T @ zsum)
                + _trace_product(cpzm @ Bm[dim] @ cpzm, S[other])
            )
    return _solve(M, q, m.dims)


def _amemiya(m: _Moments) -> Components:
    ols = m.within
    k = len(m.dims) + 1
    M = np.zeros((k, k))
    q = np.zeros(k)
    q[0] = ols.ssr
    for r, dim in enumerate(m.dims, start=1):
        q[r] = float((m.counts(dim) * m.effect_means(ols, dim) ** 2).sum())
    if m.p.is_balanced and m.p.time_codes is not None:
        M[0, 0] = m.n - m.n_effects
        for r, dim in enumerate(m.dims, start=1):
            M[r, 0] = len(m.counts(dim))
            M[r, r] = m.n
        return _solve(M, q, m.dims)
    M[0, 0] = m.n - m.n_effects - len(ols.params)
    cpxm = ols.bread
    first = m.dims[0]
    xm = np.average(m.zbar(first)[:, ols.cols], axis=0, weights=m.counts(first))
    for r, dim in enumerate(m.dims, start=1):
        c = m.counts(dim)
        dev = m.zbar(dim)[:, ols.cols] - xm
        cpxb = (dev * c[:, None]).T @ dev
        M[r, 0] = len(c) - 1 + _trace_product(cpxm, cpxb)
        M[r, r] = m.n - float((c**2).sum()) / m.n
    if len(m.dims) == 2:
        for r, dim in enumerate(m.dims, start=1):
            c_other = m.counts(m.other(dim))
            M[r, 3 - r] = len(m.counts(dim)) - float((c_other**2).sum()) / m.n
    return _solve(M, q, m.dims)


def _nerlove(m: _Moments) -> Components:
    ols = m.within
    sigma2_e = ols.ssr / m.n
    if len(m.dims) == 1:
        effects = {m.dims[0]: m.effect_means(ols, m.dims[0])}
    else:  # the fixed effects at row level, split into entity and time parts
        X = m.d.X[:, ols.cols]
        total = m.y - X @ ols.params - ols.resid
        total = total - total.mean()
        alpha, gamma = m.p.twoway_effects(total)
        effects = {"entity": alpha - np.average(alpha, weights=m.counts("entity")), "time": gamma}
    comps = {}
    balanced = m.p.is_balanced and m.p.time_codes is not None
    for dim, eff in effects.items():
        c = m.counts(dim)
        G = len(c)
        if balanced:
            comps[dim] = float(eff @ eff) / (G - 1)
        else:
            comps[dim] = float((eff**2 * c).sum()) / m.n * G / (G - 1)
    return Components(sigma2_e, comps)


def _stata_swamy_arora(m: _Moments) -> Components:
    if m.dims != ["entity"]:
        raise InsufficientDataError(
            "convention='stata' covers one-way entity random effects (Stata's xtreg, re)."
        )
    ols = m.within
    sigma2_e = ols.ssr / (m.n - m.n_effects - len(ols.params))
    between = transformed_ols(m.zbar("entity"), m.ybar("entity"), m.d.x_names, warn=False)
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


def estimate_components(design: Design, effects: str, method: str, convention: str) -> Components:
    """Estimate σ²ₑ and the effect variances for ``effects`` by ``method``.

    Parameters
    ----------
    design : Design
    effects : {"entity", "time", "twoway"}
    method : {"swamy-arora", "wallace-hussain", "amemiya", "nerlove"}
    convention : {"plm", "stata"}
    """
    m = _Moments(design, effects)
    for dim in m.dims:
        G = m.p.n_groups(dim)
        if G <= m.K + 1:
            raise InsufficientDataError(
                f"Random effects need more {dim} groups ({G}) than regressors including the "
                f"intercept ({m.K + 1}) to estimate the {dim}-effect variance."
            )
    df_within = m.n - m.n_effects - len(m.within.params)
    if df_within <= 0:
        raise InsufficientDataError(
            f"Random effects need within-group variation to estimate σ²ₑ: {m.n} observations, "
            f"{m.n_effects} {effects} effects and {len(m.within.params)} slopes leave "
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
