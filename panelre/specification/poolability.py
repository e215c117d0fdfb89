"""F test for the presence of fixed effects (poolability)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from scipy import stats

from panelre._validation import check_option
from panelre.estimators import FixedEffects, PooledOLS
from panelre.estimators._ols import least_squares
from panelre.exceptions import (
    IncompatibleResultsError,
    InsufficientDataError,
    InvalidParameterError,
)
from panelre.results import PanelResults, TestResult
from panelre.specification._inputs import tested_source
from panelre.stats import Backend, RowMap

__all__ = ["f_test_effects", "f_test_from_ssr"]


def f_test_effects(
    fe_result: PanelResults | str,
    data: Any = None,
    *,
    convention: str = "plm",
    effects: str = "entity",
    entity: Hashable | None = None,
    time: Hashable | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
) -> TestResult:
    """F test that all fixed effects are zero (R plm ``pFtest``; Stata's "F test that all
    u_i=0").

    ``F = ((SSR_pooled − SSR_FE)/df₁) / (SSR_FE/df₂)`` with ``df₁ = df_pooled − df_FE`` and
    ``df₂ = df_FE``, for entity, time or two-way effects.

    Parameters
    ----------
    fe_result : PanelResults or str
        A result of ``pr.fixed_effects``, or a formula (then fitted with ``effects``).
    data : DataFrame, PanelData or dask DataFrame, optional
        The data of a formula.
    convention : {"plm", "stata"}
        The restricted (pooled OLS) model. ``"plm"`` (``pFtest``): the formula's
        regressors, time-invariant ones included, so df₁ = N − 1 − (number absorbed).
        ``"stata"`` (``xtreg, fe``): only the regressors the fixed-effects model kept and
        a constant, so df₁ = N − 1 for entity effects. The two agree when the effects
        absorb no regressor.
    effects, entity, time, backend, weights, weight_type
        With a formula: as ``pr.fixed_effects``.

    Returns
    -------
    TestResult
        ``stat`` is F with ``df = (df₁, df₂)``.

    Raises
    ------
    IncompatibleResultsError
        When ``fe_result`` is not a fixed-effects result.
    InvalidParameterError
        For an unknown ``convention``.

    Examples
    --------
    >>> import panelre as pr
    >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                       entity="firm", time="year")
    >>> t = pr.f_test_effects(fe)
    >>> round(t.stat, 3), t.df
    (49.177, (9, 188))
    >>> pr.f_test_effects(fe, convention="stata").df   # nothing absorbed: the same test
    (9, 188)
    """
    if isinstance(fe_result, PanelResults) and effects != "entity":
        raise InvalidParameterError(
            "f_test_effects() takes the effects of a fitted result from the result; 'effects' "
            "is for a formula."
        )
    if isinstance(fe_result, PanelResults):  # the data arguments belong to a formula
        tested_source(
            fe_result, data, "f_test_effects", entity=entity, time=time, backend=backend,
            weights=weights, weight_type=weight_type,
        )  # fmt: skip
    if isinstance(fe_result, str):
        source = tested_source(
            fe_result, data, "f_test_effects", entity=entity, time=time, backend=backend,
            weights=weights, weight_type=weight_type,
        )  # fmt: skip
        fe_result = FixedEffects(source, effects=effects).fit()
    if not isinstance(fe_result, PanelResults) or fe_result.estimator != "fixed_effects":
        raise IncompatibleResultsError(
            "f_test_effects() needs the result of pr.fixed_effects(...). Got "
            f"{getattr(fe_result, 'estimator', type(fe_result).__name__)!r}."
        )
    convention = check_option("convention", convention, ("plm", "stata"))
    ssr_w = fe_result.resid_variance * fe_result.df_resid
    if convention == "plm":
        pooled = PooledOLS(fe_result.source).fit()
        ssr_p, df_p = pooled.resid_variance * pooled.df_resid, pooled.df_resid
    else:
        ssr_p, df_p = _pooled_on_kept(fe_result)
    return f_test_from_ssr(ssr_p, ssr_w, df_p, fe_result.df_resid, fe_result.model.effects)


def _pooled_on_kept(fe_result: PanelResults) -> tuple[float, int]:
    """SSR and df of pooled OLS on a constant and the slopes the fixed effects kept
    (Stata's restricted model for "F test that all u_i=0")."""
    src = fe_result.source
    st = src.stats
    slopes = [n for n in fe_result.params.index if n != "Intercept"]
    positions = [src.x_names.index(n) + 1 for n in slopes]
    # outputs: y, the kept slopes, and a constant (an entity table of −1)
    L = np.zeros((st.width, len(positions) + 2))
    L[0, 0] = 1.0
    L[positions, np.arange(1, len(positions) + 1)] = 1.0
    table = np.zeros((st.n_entities, L.shape[1]))
    table[:, -1] = -1.0
    fit = least_squares(
        src,
        RowMap(L, entity_table=table),
        list(range(1, L.shape[1])),
        [*slopes, "_cons"],
        warn=False,
    )
    ssr = fit.reliable_ssr
    if ssr is None:
        ssr = float(src.scores(fit.regressors, fit.resid).resid_ss())
    return ssr, st.n - len(fit.params)


def f_test_from_ssr(ssr_p: float, ssr_w: float, df_p: int, df_w: int, effects: str) -> TestResult:
    """The F test from the pooled and within residual sums of squares and df."""
    df1, df2 = df_p - df_w, df_w
    if df1 <= 0:
        raise InsufficientDataError(
            f"The F test for {effects} effects needs at least two groups; the fixed-effects "
            "model has nothing to test against pooled OLS."
        )
    stat = (ssr_p - ssr_w) / df1 / (ssr_w / df2)
    return TestResult(
        name=f"F test for {effects} effects",
        stat=float(stat),
        df=(int(df1), int(df2)),
        pvalue=float(stats.f.sf(stat, df1, df2)),
        null=f"all {effects} effects are zero (pooled OLS is adequate)",
        alternative=f"some {effects} effects are non-zero",
        distribution="F",
    )
