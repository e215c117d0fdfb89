"""The panel estimators on Dask frames, from sufficient statistics.

Each estimator runs pass 1 (``panelre.dask.stats.collect_stats``), forms its
transformed cross-products on the client (O(N·k) work), solves, and hands a
``DaskEstimation`` to the shared covariance module, whose
reductions run lazily (``panelre.dask.inputs``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from panelre._typing import EFFECT_ALIASES, EFFECTS
from panelre._validation import check_option
from panelre.covariance import make_covariance
from panelre.dask.algebra import GramOLS, corr2, gram_ols, index_r2
from panelre.dask.design import ENTITY, TIME, DaskDesign, build_dask_design
from panelre.dask.inputs import Scorer
from panelre.dask.results import (
    DaskDesignView,
    DaskEstimation,
    DaskModel,
    DaskPanelResults,
    DaskPanelView,
)
from panelre.dask.stats import (
    PanelStats,
    Transform,
    collect_patterns,
    collect_stats,
    entity_sums_of_a,
    gram_of_rows,
    incidence,
)
from panelre.estimators._base import transformed_ols
from panelre.exceptions import InsufficientDataError, SingletonWarning

__all__ = ["Context", "prepare", "pooled_ols", "fixed_effects", "between", "first_difference"]


@dataclass
class Context:
    """A formula on a Dask frame with its pass-1 statistics."""

    design: DaskDesign
    stats: PanelStats
    compute: Callable[..., Any]

    @property
    def view(self) -> DaskDesignView:
        """The light ``results.design``."""
        d = self.design
        return DaskDesignView(
            y_name=d.y_name,
            x_names=d.x_names,
            formula=d.formula,
            panel=DaskPanelView(self.stats, d.entity, d.time),
            dask_design=d,
            n_missing=self.stats.n_missing,
        )

    @property
    def slope_pos(self) -> list[int]:
        """z positions of the regressors other than the intercept."""
        return [1 + j for j, n in enumerate(self.design.x_names) if n != "Intercept"]

    def with_patterns(self) -> Context:
        """The context with the period patterns of two-way models."""
        return Context(
            self.design, collect_patterns(self.design, self.stats, self.compute), self.compute
        )


def prepare(
    formula: str, data: Any, entity: Hashable, time: Hashable | None, compute: Callable[..., Any]
) -> Context:
    """Build the design and run pass 1."""
    design = build_dask_design(formula, data, entity, time, compute)
    return Context(design, collect_stats(design, compute), compute)


@dataclass(frozen=True)
class Fit:
    """What ``finish`` needs besides the context."""

    name: str
    title: str
    ols: GramOLS
    transform: Transform
    gram: np.ndarray
    total: np.ndarray
    n_rows: int
    df_resid: int
    effects: Any = None
    extra: dict[str, Any] | None = None
    variance_components: Any = None
    uses_normal: bool = False
    re_stata: bool = False
    model_options: dict[str, Any] | None = None


def finish(
    ctx: Context, fit: Fit, cov: Any, cov_options: dict[str, Any], rows: Any = None
) -> DaskPanelResults:
    """Package a fit as ``DaskPanelResults`` with the requested covariance."""
    covariance = make_covariance(cov, **cov_options)
    ols = fit.ols
    v = np.zeros_like(ols.coef)
    v[ols.kept] = ols.params
    e0 = np.zeros_like(v)
    e0[0] = 1.0
    own = corr2(fit.gram, fit.total, fit.n_rows, e0, v)
    within, btw, overall = index_r2(ctx.stats, ctx.design.x_names, ols.names, ols.params)
    d = ctx.design
    scorer = Scorer(
        rows=rows if rows is not None else d.rows,
        cols=d.columns,
        stats=ctx.stats,
        transform=fit.transform,
        coef=ols.coef,
        kept=ols.kept,
        compute=ctx.compute,
        names=(d.entity, d.time, tuple(d.source.columns)),
    )
    est = DaskEstimation(
        params=ols.params,
        names=ols.names,
        X=np.zeros((0, len(ols.params))),
        y=np.zeros(0),
        resid=np.zeros(0),
        bread=ols.bread,
        df_resid=fit.df_resid,
        df_model=len(ols.params) - int("Intercept" in ols.names),
        entity_codes=ctx.stats.entity_counts,
        time_codes=ctx.stats.time_counts,
        frame=None,
        fitted=pd.Series(dtype=float),
        resids=pd.Series(dtype=float),
        effects=fit.effects,
        dropped=ols.dropped,
        variance_components=fit.variance_components,
        re_stata=fit.re_stata,
        extra=fit.extra or {},
        scorer=scorer,
        ssr=ols.ssr,
        n_rows=fit.n_rows,
        r2=(own, within, btw, overall),
    )
    opts = fit.model_options or {}
    model = DaskModel(
        fit.name, fit.title, ctx.view, uses_normal=fit.uses_normal, compute=ctx.compute, **opts
    )
    return DaskPanelResults(
        model=model,
        estimation=est,
        covariance=covariance,
        cov_matrix=covariance.cov(est.covariance_inputs()),
    )


# ---------------------------------------------------------------------- pooled
def pooled_ols(ctx: Context, cov: Any, cov_options: dict[str, Any]) -> DaskPanelResults:
    """Pooled OLS."""
    make_covariance(cov, **cov_options)
    st = ctx.stats
    names = ctx.design.x_names
    ols = gram_ols(st.gram, range(1, len(names) + 1), names)
    fit = Fit(
        "pooled_ols",
        "Pooled OLS",
        ols,
        Transform(),
        st.gram,
        st.total,
        st.n,
        st.n - len(ols.params),
    )
    return finish(ctx, fit, cov, cov_options)


# ---------------------------------------------------------------------- within
def within_transform(ctx: Context, effects: str) -> tuple[Context, Transform]:
    """The (H, O) tables of the within transform for ``effects``."""
    st = ctx.stats
    if effects == "entity":
        return ctx, Transform(entity_table=st.means("entity"))
    if effects == "time":
        return ctx, Transform(time_table=st.means("time"))
    ctx = ctx.with_patterns()
    st = ctx.stats
    c_e, c_t = st.counts("entity"), st.counts("time")
    ftwf, ftr, _ = incidence(st, weights=1.0 / c_e, right=st.means("entity"))
    gram = np.diag(c_t) - ftwf  # type: ignore[operator]
    H = np.linalg.lstsq(gram, st.time_sums - ftr, rcond=None)[0]
    tr = Transform(time_table=H)
    A = entity_sums_of_a(st, tr)
    return ctx, Transform(time_table=H, entity_table=A / c_e[:, None])


def _n_effects(st: PanelStats, effects: str) -> int:
    return {
        "entity": st.n_entities,
        "time": st.n_periods,
        "twoway": st.n_entities + st.n_periods - 1,
    }[effects]


def _check_variation(st: PanelStats, effects: str) -> None:
    dims = ["entity", "time"] if effects == "twoway" else [effects]
    for dim in dims:
        if (st.counts(dim) <= 1).all():
            raise InsufficientDataError(
                f"Every {dim} group has a single observation, so nothing varies within "
                f"{dim}s and the {dim} fixed-effects estimator is undefined (e.g. T = 1)."
            )
    singles = int((st.counts(dims[0]) == 1).sum())
    if singles:
        warnings.warn(
            f"{singles} {dims[0]} group(s) have a single observation; they add nothing to "
            "the within estimator but still count in the degrees of freedom (as R plm and "
            "Stata).",
            SingletonWarning,
            stacklevel=5,
        )


def within_ols(ctx: Context, effects: str, warn: bool = True) -> tuple[Context, GramOLS, Transform]:
    """The within regression of y on the slopes for ``effects``."""
    from panelre.estimators.within import absorbed_label

    ctx, tr = within_transform(ctx, effects)
    gram, _ = _gram_total(ctx.stats, tr)
    pos = ctx.slope_pos
    names = [ctx.design.x_names[j - 1] for j in pos]
    raw = np.diag(ctx.stats.gram)[pos]
    ols = gram_ols(gram, pos, names, raw_ss=raw, absorbed_by=absorbed_label(effects), warn=warn)
    return ctx, ols, tr


def _gram_total(st: PanelStats, tr: Transform) -> tuple[np.ndarray, np.ndarray]:
    from panelre.dask.stats import transformed_gram

    return transformed_gram(st, tr)


def fixed_effects(
    ctx: Context, cov: Any, cov_options: dict[str, Any], effects: str = "entity"
) -> DaskPanelResults:
    """Within estimator with entity, time or two-way effects."""
    make_covariance(cov, **cov_options)
    effects = check_option("effects", effects, EFFECTS, EFFECT_ALIASES)
    if effects != "entity":
        ctx.stats.require_time(f"effects={effects!r}")
    _check_variation(ctx.stats, effects)
    if not ctx.slope_pos:
        raise InsufficientDataError(
            "The formula has no regressors besides the intercept, which the fixed effects "
            "absorb. Add time-varying regressors."
        )
    ctx, ols, tr = within_ols(ctx, effects)
    st = ctx.stats
    df_resid = st.n - _n_effects(st, effects) - len(ols.params)
    if df_resid <= 0:
        raise InsufficientDataError(
            f"No residual degrees of freedom: {st.n} observations, {_n_effects(st, effects)} "
            f"fixed effects and {len(ols.params)} slopes."
        )
    fx, extra = _fe_effects(st, ols, tr, effects)
    extra["absorbed"] = ols.absorbed
    gram, total = _gram_total(st, tr)
    title = {
        "entity": "Fixed effects (within, entity)",
        "time": "Fixed effects (within, time)",
        "twoway": "Fixed effects (within, two-way)",
    }[effects]
    fit = Fit(
        "fixed_effects", title, ols, tr, gram, total, st.n, df_resid, effects=fx, extra=extra,
        model_options={"effects": effects},
    )  # fmt: skip
    return finish(ctx, fit, cov, cov_options)


def _fe_effects(
    st: PanelStats, ols: GramOLS, tr: Transform, effects: str
) -> tuple[pd.Series, dict[str, Any]]:
    c = ols.coef
    if effects in ("entity", "time"):
        vals = st.means(effects) @ c
        return pd.Series(vals, index=st.labels(effects), name="effects"), {}
    # total effect per row = H_u[t] + ā_u,i with u = y − x'b; split as PanelData.twoway_effects
    c_e, c_t = st.counts("entity"), st.counts("time")
    Hu = tr.time_table @ c  # type: ignore[operator]
    au = tr.entity_table @ c  # type: ignore[operator]
    ftwf, _, _ = incidence(st, weights=1.0 / c_e)
    gram = np.diag(c_t) - ftwf  # type: ignore[operator]
    gamma = np.linalg.lstsq(gram, gram @ Hu, rcond=None)[0]
    gamma = gamma - np.average(gamma, weights=c_t)
    _, _, fd = incidence(st, table=(Hu - gamma)[:, None])
    alpha = au + fd[:, 0] / c_e  # type: ignore[index]
    return pd.Series(alpha, index=st.entity_labels, name="effects"), {
        "time_effects": pd.Series(gamma, index=st.time_labels, name="time_effects")
    }


# ---------------------------------------------------------------------- between
def between(ctx: Context, cov: Any, cov_options: dict[str, Any]) -> DaskPanelResults:
    """OLS on entity means (the rows are entities, so the covariance runs in memory)."""
    covariance = make_covariance(cov, **cov_options)
    st = ctx.stats
    means = st.means("entity")
    ybar, xbar = means[:, 0], means[:, 1:]
    if st.n_entities <= xbar.shape[1]:
        raise InsufficientDataError(
            f"The between estimator needs more entities ({st.n_entities}) than "
            f"regressors ({xbar.shape[1]})."
        )
    ols = transformed_ols(xbar, ybar, ctx.design.x_names)
    idx = st.entity_labels
    within, btw, overall = index_r2(st, ctx.design.x_names, ols.names, ols.params)
    from panelre.results import _squared_corr

    est = DaskEstimation(
        params=ols.params,
        names=ols.names,
        X=ols.X,
        y=ybar,
        resid=ols.resid,
        bread=ols.bread,
        df_resid=st.n_entities - len(ols.params),
        df_model=len(ols.params) - int("Intercept" in ols.names),
        entity_codes=np.arange(st.n_entities),
        time_codes=None,
        frame=None,
        fitted=pd.Series(ybar - ols.resid, index=idx, name="fitted_values"),
        resids=pd.Series(ols.resid, index=idx, name="resids"),
        dropped=ols.dropped,
        ssr=float(ols.resid @ ols.resid),
        n_rows=st.n_entities,
        r2=(_squared_corr(ybar, ols.X @ ols.params), within, btw, overall),
    )
    model = DaskModel("between", "Between", ctx.view, compute=ctx.compute)
    return DaskPanelResults(
        model=model,
        estimation=est,
        covariance=covariance,
        cov_matrix=covariance.cov(est.covariance_inputs()),
    )


# ---------------------------------------------------------------------- first difference
def _diff_partition(
    part: pd.DataFrame, cols: list[str], intercept: int | None, extra: list[str]
) -> pd.DataFrame:
    part = part.sort_values([ENTITY, TIME], kind="stable")
    ent = part[ENTITY].to_numpy()
    same = ent[1:] == ent[:-1]
    z = part[cols].to_numpy(dtype=float)
    dz = (z[1:] - z[:-1])[same]
    if intercept is not None:
        dz[:, intercept] = 1.0  # the constant of the differenced equation
    later = part.iloc[1:][same]
    out = pd.DataFrame(dz, columns=cols)
    out.insert(0, TIME, later[TIME].to_numpy())
    out.insert(0, ENTITY, later[ENTITY].to_numpy())
    for c in extra:
        out[c] = later[c].to_numpy()
    return out


def _diff_rows(design: DaskDesign) -> Callable[..., Any]:
    cols = design.columns
    intercept = 1 + design.x_names.index("Intercept") if "Intercept" in design.x_names else None

    def rows(extra: tuple[str, ...] = ()) -> Any:
        src = design.rows(extra).shuffle(ENTITY)
        meta = _diff_partition(src._meta, cols, intercept, list(extra))
        return src.map_partitions(_diff_partition, cols, intercept, list(extra), meta=meta)

    return rows


def first_difference(ctx: Context, cov: Any, cov_options: dict[str, Any]) -> DaskPanelResults:
    """OLS on first differences of consecutive rows within entity.

    The rows are hash-shuffled by entity (one shuffle per pass over the differences) and
    sorted by period inside each partition; the differenced rows then go through the
    pooled machinery (an intercept becomes the constant of the differenced equation).
    """
    make_covariance(cov, **cov_options)
    st = ctx.stats
    st.require_time("First differences")
    d = ctx.design
    rows = _diff_rows(d)
    n, total, gram = gram_of_rows(rows(()), d.columns, ctx.compute)
    if n == 0:
        raise InsufficientDataError(
            "No entity is observed more than once, so there are no first differences (T = 1)."
        )
    raw = np.diag(st.gram)[1:].copy()
    if "Intercept" in d.x_names:
        raw[d.x_names.index("Intercept")] = float(n)
    ols = gram_ols(gram, range(1, d.k + 1), d.x_names, raw_ss=raw, absorbed_by="first-difference")
    fit = Fit(
        "first_difference", "First differences", ols, Transform(), gram, total, n,
        n - len(ols.params),
    )  # fmt: skip
    return finish(ctx, fit, cov, cov_options, rows=rows)
