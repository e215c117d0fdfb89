"""Specification tests on Dask frames (the same statistics as :mod:`panelre.specification`).

``pr.hausman`` needs no Dask version: it reads only coefficients, covariances and the
light design of the two results.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import stats as sps

from panelre._typing import EFFECT_ALIASES, EFFECTS
from panelre._validation import check_option, check_probability
from panelre.covariance import make_covariance
from panelre.dask.algebra import gram_ols
from panelre.dask.estimators import Context, fixed_effects, pooled_ols, prepare, within_transform
from panelre.dask.inputs import DaskCovarianceInputs, Scorer
from panelre.dask.random import check_re_options, random_effects, re_transform
from panelre.dask.results import DaskPanelResults
from panelre.dask.stats import Transform, transformed_gram
from panelre.exceptions import IncompatibleResultsError, PanelreWarning
from panelre.specification._base import TestResult
from panelre.specification.hausman import _ALT, _NULL
from panelre.specification.lagrange import lm_component, lm_test_result
from panelre.specification.poolability import f_test_from_ssr
from panelre.specification.select import Selection, decide

__all__ = ["breusch_pagan", "f_test_effects", "hausman_regression", "select"]


def _context(formula: str, data: Any, entity: Any, time: Any, progress: Any) -> Context:
    from panelre.dask import make_compute

    return prepare(formula, data, entity, time, make_compute(progress))


def _lm(st: Any, coef: np.ndarray, ssr: float, dim: str) -> float:
    sums = st.sums(dim) @ coef
    return lm_component(float(sums @ sums), ssr, st.counts(dim), st.n, dim)


def breusch_pagan(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    effects: str = "entity",
    variant: str = "bp",
    progress: bool | None = None,
) -> TestResult:
    """LM test of no random effects (see :func:`panelre.breusch_pagan`), from pass 1 only."""
    effects = check_option("effects", effects, EFFECTS, EFFECT_ALIASES)
    variant = check_option("variant", variant, ["bp", "honda", "king-wu"], {"kw": "king-wu"})
    st = _context(formula, data, entity, time, progress).stats
    if effects != "entity":
        st.require_time(f"LM tests for {effects} effects")
    names = list(range(1, st.gram.shape[0]))
    ols = gram_ols(st.gram, names, [str(j) for j in names])
    dims = ["entity", "time"] if effects == "twoway" else [effects]
    lm = {dim: _lm(st, ols.coef, ols.ssr, dim) for dim in dims}
    return lm_test_result(lm, {dim: st.counts(dim) for dim in dims}, st.n, effects, variant)


def f_test_effects(fe_result: Any) -> TestResult:
    """Poolability F test (see :func:`panelre.f_test_effects`) from the fit's statistics."""
    if not isinstance(fe_result, DaskPanelResults) or fe_result.estimator != "fixed_effects":
        raise IncompatibleResultsError(
            "f_test_effects() needs a fixed-effects result. Got "
            f"{getattr(fe_result, 'estimator', type(fe_result).__name__)!r}."
        )
    st = fe_result.design.stats
    k = st.gram.shape[0] - 1
    pooled = gram_ols(st.gram, range(1, k + 1), fe_result.design.x_names)
    ssr_w = fe_result.resid_variance * fe_result.df_resid
    return f_test_from_ssr(
        pooled.ssr, ssr_w, st.n - len(pooled.params), fe_result.df_resid, fe_result.model.effects
    )


def _stack(tables: list[np.ndarray | None], widths: list[int]) -> np.ndarray | None:
    if all(t is None for t in tables):
        return None
    rows = next(t.shape[0] for t in tables if t is not None)
    return np.hstack([np.zeros((rows, w)) if t is None else t for t, w in zip(tables, widths)])


def hausman_regression(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    effects: str = "entity",
    method: str = "swamy-arora",
    progress: bool | None = None,
    **cov_options: Any,
) -> TestResult:
    """Regression-based Hausman test (see :func:`panelre.hausman_regression`).

    The auxiliary regression's columns are z columns with different (H, O) tables: the RE
    quasi-demeaned ``[y, x]`` (a plain intercept) and the within-demeaned slopes.
    """
    covariance = make_covariance(cov, **cov_options)
    ctx = _context(formula, data, entity, time, progress)
    return _hausman_regression(ctx, covariance, effects, method)


def _hausman_regression(ctx: Context, covariance: Any, effects: str, method: str) -> TestResult:
    from panelre.dask.random import _components

    effects, method, _ = check_re_options(effects, method, "plm")
    if effects == "twoway":
        ctx = ctx.with_patterns()
    ctx, tr_w = within_transform(ctx, effects)
    st = ctx.stats
    d = ctx.design
    slopes = ctx.slope_pos
    wdiag = np.diag(transformed_gram(st, tr_w)[0])
    raw = np.diag(st.gram)
    varying = [j for j in slopes if wdiag[j] > 1e-10 * max(raw[j], np.finfo(float).tiny)]
    names = [d.x_names[j - 1] + ".tilde" for j in varying]
    if not names:
        return TestResult(
            name="Regression-based Hausman test",
            stat=float("nan"), df=0, pvalue=float("nan"), null=_NULL, alternative=_ALT,
            valid=False,
            reason="The model has no time-varying regressors, so the Hausman test is undefined "
            "(fixed and random effects estimate nothing in common).",
        )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelreWarning)
        comps = _components(ctx, effects, method, "plm")
    ctx, tr_re, _ = re_transform(ctx, comps, effects)
    st = ctx.stats
    p = st.gram.shape[0]
    re_ols = gram_ols(transformed_gram(st, tr_re)[0], range(1, p), d.x_names, warn=False)
    sel = [0, *re_ols.kept, *varying]
    w1 = 1 + len(re_ols.kept)
    tables = []
    for re_t, w_t in ((tr_re.time_table, tr_w.time_table), (tr_re.entity_table, tr_w.entity_table)):
        block = None if re_t is None else re_t[:, [0, *re_ols.kept]].copy()
        if block is not None and "Intercept" in re_ols.names:
            block[:, 1 + re_ols.names.index("Intercept")] = 0.0  # a plain intercept (as plm)
        tables.append(_stack([block, None if w_t is None else w_t[:, varying]], [w1, len(varying)]))
    aux_tr = Transform(time_table=tables[0], entity_table=tables[1])
    aux_st = replace(
        st,
        gram=st.gram[np.ix_(sel, sel)],
        total=st.total[sel],
        entity_sums=st.entity_sums[:, sel],
        time_sums=None if st.time_sums is None else st.time_sums[:, sel],
    )
    aux_names = [*re_ols.names, *names]
    ols = gram_ols(transformed_gram(aux_st, aux_tr)[0], range(1, len(sel)), aux_names, warn=False)
    cols = [d.columns[j] for j in sel]
    scorer = Scorer(
        d.rows, cols, aux_st, aux_tr, ols.coef, ols.kept, ctx.compute,
        names=(d.entity, d.time, tuple(d.source.columns)),
    )  # fmt: skip
    k = len(ols.params)
    inputs = DaskCovarianceInputs(
        X=np.zeros((0, k)), resid=np.zeros(0), bread=ols.bread, df_resid=st.n - k,
        entity_codes=st.entity_counts, time_codes=st.time_counts, frame=None, n_params=k,
        scorer=scorer, n_rows=st.n, ssr=ols.ssr,
    )  # fmt: skip
    V = covariance.cov(inputs)
    idx = [ols.names.index(n) for n in names if n in ols.names]
    b = ols.params[idx]
    stat = float(b @ np.linalg.solve(V[np.ix_(idx, idx)], b))
    return TestResult(
        name=f"Regression-based Hausman test ({covariance.describe()})",
        stat=stat, df=len(idx), pvalue=float(sps.chi2.sf(stat, len(idx))), null=_NULL,
        alternative=_ALT, distribution="chi2", extra={"names": names, "coefficients": b},
    )  # fmt: skip


def select(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    alpha: float = 0.05,
    method: str = "swamy-arora",
    progress: bool | None = None,
) -> Selection:
    """:func:`panelre.select` on a Dask frame (pass 1 is shared by every model and test).

    When correlated random effects would be recommended, the CRE model itself is not
    fitted (it is not available for Dask data); the recommendation is unchanged.
    """
    alpha = check_probability("alpha", alpha)
    ctx = _context(formula, data, entity, time, progress)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PanelreWarning)
        pooled = pooled_ols(ctx, "unadjusted", {})
        fe = fixed_effects(ctx, "unadjusted", {}, effects="entity")
        re = random_effects(ctx, "unadjusted", {}, method=method)
    tests: dict[str, TestResult] = {
        "f_test": f_test_effects(fe),
        "breusch_pagan": breusch_pagan(formula, data, entity=entity, time=time, progress=progress),
        "hausman_robust": _hausman_regression(ctx, make_covariance("cluster"), "entity", method),
    }
    return decide(
        tests,
        {"Pooled": pooled, "FE": fe, "RE": re},
        [str(w.message) for w in caught],
        alpha,
        list(fe.extra.get("absorbed", [])),
        ctx.stats.n_entities,
        lambda: None,
    )
