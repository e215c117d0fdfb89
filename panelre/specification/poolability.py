"""F test for the presence of fixed effects (poolability)."""

from __future__ import annotations

from scipy import stats

from panelre.estimators import PooledOLS
from panelre.exceptions import IncompatibleResultsError, InsufficientDataError
from panelre.results import PanelResults, TestResult

__all__ = ["f_test_effects", "f_test_from_ssr"]


def f_test_effects(fe_result: PanelResults) -> TestResult:
    """F test that all fixed effects are zero (R plm ``pFtest``; Stata's "F test that all
    u_i=0").

    ``F = ((SSR_pooled − SSR_FE)/df₁) / (SSR_FE/df₂)`` with ``df₁ = df_pooled − df_FE`` and
    ``df₂ = df_FE``, for entity, time or two-way effects.

    Examples
    --------
    >>> import panelre as pr
    >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                       entity="firm", time="year")
    >>> t = pr.f_test_effects(fe)
    >>> round(t.stat, 3), t.df
    (49.177, (9, 188))
    """
    if not isinstance(fe_result, PanelResults) or fe_result.estimator != "fixed_effects":
        raise IncompatibleResultsError(
            "f_test_effects() needs the result of pr.fixed_effects(...). Got "
            f"{getattr(fe_result, 'estimator', type(fe_result).__name__)!r}."
        )
    pooled = PooledOLS(fe_result.source).fit()
    ssr_p = pooled.resid_variance * pooled.df_resid
    ssr_w = fe_result.resid_variance * fe_result.df_resid
    return f_test_from_ssr(
        ssr_p, ssr_w, pooled.df_resid, fe_result.df_resid, fe_result.model.effects
    )


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
