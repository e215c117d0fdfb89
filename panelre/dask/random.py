"""Random effects (GLS) on Dask frames: components, θ and the quasi-demeaned regression
as (H, O) tables over the pass-1 statistics."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from panelre._typing import CONVENTIONS, EFFECT_ALIASES, EFFECTS, RE_METHOD_ALIASES, RE_METHODS
from panelre._validation import check_option
from panelre.covariance import make_covariance
from panelre.dask.algebra import gram_ols
from panelre.dask.components import estimate_components, likelihood_components
from panelre.dask.estimators import Context, Fit, finish
from panelre.dask.results import DaskModel, DaskPanelResults
from panelre.dask.stats import PanelStats, Transform, entity_sums_of_a, incidence, transformed_gram
from panelre.estimators.random import RandomEffects, _theta_total, theta_for
from panelre.estimators.variance_components import Components
from panelre.exceptions import BoundaryWarning, InvalidParameterError

__all__ = ["random_effects", "re_transform", "check_re_options"]


def check_re_options(effects: str, method: str, convention: str) -> tuple[str, str, str]:
    """Validate the options as ``panelre.RandomEffects`` does."""
    effects = check_option("effects", effects, EFFECTS, EFFECT_ALIASES)
    method = check_option("method", method, RE_METHODS, RE_METHOD_ALIASES)
    convention = check_option("convention", convention, CONVENTIONS)
    if method in ("ml", "reml") and effects != "entity":
        raise InvalidParameterError(
            f"method={method!r} is available for effects='entity'. Got effects={effects!r}."
        )
    if convention == "stata" and effects != "entity":
        raise InvalidParameterError(
            "convention='stata' reproduces Stata's xtreg, re, which has entity effects only. "
            f"Got effects={effects!r}."
        )
    return effects, method, convention


def re_transform(
    ctx: Context, comps: Components, effects: str
) -> tuple[Context, Transform, dict[str, np.ndarray]]:
    """The quasi-demeaning (or exact unbalanced two-way whitening) as (H, O) tables."""
    st = ctx.stats
    s2e = comps.sigma2_e
    thetas = {dim: theta_for(s2e, comps.sigma2[dim], st.counts(dim)) for dim in comps.sigma2}
    if effects == "entity":
        return ctx, Transform(entity_table=thetas["entity"][:, None] * st.means("entity")), thetas
    if effects == "time":
        return ctx, Transform(time_table=thetas["time"][:, None] * st.means("time")), thetas
    if st.is_balanced:
        th_i, th_t = float(thetas["entity"][0]), float(thetas["time"][0])
        th_total = _theta_total(s2e, comps, _PanelFacts(st))  # type: ignore[arg-type]
        thetas["total"] = np.array([th_total])
        H = th_t * st.means("time") - th_total * (st.total / st.n)
        return ctx, Transform(time_table=H, entity_table=th_i * st.means("entity")), thetas
    ctx = ctx.with_patterns()
    return ctx, _whiten_twoway(ctx.stats, thetas["entity"], comps.sigma2["time"] / s2e), thetas


class _PanelFacts:
    def __init__(self, st: PanelStats) -> None:
        self.n_entities, self.n_periods = st.n_entities, st.n_periods


def _whiten_twoway(st: PanelStats, theta: np.ndarray, phi2: float) -> Transform:
    """Unbalanced two-way GLS whitening (see ``_whiten_twoway_unbalanced``): ``z** =
    (z − H[t]) − θᵢ āᵢ`` with ``H = L D*'z*`` from T x T statistics."""
    means = st.means("entity")
    if phi2 == 0:
        return Transform(entity_table=theta[:, None] * means)
    c_e = st.counts("entity")
    w2 = 2 * theta - theta**2
    ftwf, ftr, _ = incidence(st, weights=w2 / c_e, right=w2[:, None] * means)
    gram = np.diag(st.counts("time")) - ftwf  # type: ignore[operator]
    g, V = np.linalg.eigh((gram + gram.T) / 2)
    g = np.clip(g, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(g > 1e-12, (1 - (1 + phi2 * g) ** -0.5) / np.where(g > 0, g, 1), phi2 / 2)
    H = ((V * lam) @ V.T) @ (st.time_sums - ftr)
    A = entity_sums_of_a(st, Transform(time_table=H))
    return Transform(time_table=H, entity_table=theta[:, None] * A / c_e[:, None])


def _components(ctx: Context, effects: str, method: str, convention: str) -> Components:
    if method not in ("ml", "reml"):
        return estimate_components(ctx, effects, method, convention)
    comps = likelihood_components(ctx, method)
    if comps.clipped:
        warnings.warn(
            f"The {method.upper()} estimate of the entity-effect variance is 0 (a "
            "boundary solution): the data show no entity effect beyond noise, and the "
            "estimates equal pooled OLS.",
            BoundaryWarning,
            stacklevel=5,
        )
    return comps


def random_effects(
    ctx: Context,
    cov: Any,
    cov_options: dict[str, Any],
    effects: str = "entity",
    method: str = "swamy-arora",
    convention: str = "plm",
) -> DaskPanelResults:
    """Random-effects GLS (see ``panelre.RandomEffects``)."""
    make_covariance(cov, **cov_options)
    effects, method, convention = check_re_options(effects, method, convention)
    if effects != "entity":
        ctx.stats.require_time(f"effects={effects!r}")
    if effects == "twoway":
        ctx = ctx.with_patterns()
    comps = _components(ctx, effects, method, convention)
    ctx, tr, thetas = re_transform(ctx, comps, effects)
    st = ctx.stats
    gram, total = transformed_gram(st, tr)
    names = ctx.design.x_names
    ols = gram_ols(gram, range(1, len(names) + 1), names)
    blup_dim = "time" if effects == "time" else "entity"
    th = thetas[blup_dim]
    blups = (1 - (1 - th) ** 2) * (st.means(blup_dim) @ ols.coef)
    model = DaskModel(
        "random_effects", "Random effects (GLS)", ctx.view, True, effects, method, convention
    )
    vc = RandomEffects._variance_components(model, comps, thetas)  # type: ignore[arg-type]
    extra: dict[str, Any] = {"components": comps}
    if comps.loglike is not None:
        extra["loglike"] = comps.loglike
    fit = Fit(
        "random_effects", "Random effects (GLS)", ols, tr, gram, total, st.n,
        st.n - len(ols.params),
        effects=pd.Series(blups, index=st.labels(blup_dim), name="effects"),
        extra=extra, variance_components=vc, uses_normal=True,
        re_stata=convention == "stata",
        model_options={"effects": effects, "method": method, "convention": convention},
    )  # fmt: skip
    return finish(ctx, fit, cov, cov_options)
