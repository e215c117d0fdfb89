"""Lagrange-multiplier tests for random effects (Breusch–Pagan, Honda, King–Wu)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from scipy import stats

from panelre._typing import EFFECT_ALIASES, EFFECTS
from panelre._validation import check_option
from panelre.estimators._ols import least_squares
from panelre.exceptions import InsufficientDataError
from panelre.results import PanelResults, TestResult
from panelre.specification._inputs import tested_source
from panelre.stats import Backend, PanelSource, RowMap, require_time

__all__ = ["breusch_pagan", "lm_test", "lm_component", "lm_test_result"]


def lm_component(
    sum_sq_group_sums: float, ssr: float, counts: np.ndarray, n: int, dim: str
) -> float:
    """``n / sqrt(2(Σc² − n)) · (Σ_g(Σ e)² / e'e − 1)`` for one effect dimension."""
    denom = 2.0 * (float((counts.astype(float) ** 2).sum()) - n)
    if denom <= 0:
        raise InsufficientDataError(
            f"The LM test for {dim} effects needs some {dim} group observed more than once; "
            f"every one of the {len(counts)} groups has a single observation."
        )
    if not ssr > 0:
        raise InsufficientDataError(
            "The LM test needs pooled OLS residuals, but the regression fits the data exactly "
            "(residual sum of squares 0)."
        )
    return n / np.sqrt(denom) * (sum_sq_group_sums / ssr - 1.0)


def lm_test_result(
    lm: dict[str, float], counts: dict[str, np.ndarray], n: int, effects: str, variant: str
) -> TestResult:
    """Combine the per-dimension LM components into the requested test."""
    if effects == "twoway":
        m11 = float((counts["entity"].astype(float) ** 2).sum())
        m22 = float((counts["time"].astype(float) ** 2).sum())
        lm1, lm2 = lm["entity"], lm["time"]
        stat_by = {
            "bp": lm1**2 + lm2**2,
            "honda": (lm1 + lm2) / np.sqrt(2),
            "king-wu": (np.sqrt(m11 - n) * lm1 + np.sqrt(m22 - n) * lm2)
            / np.sqrt(m11 + m22 - 2 * n),
        }
    else:
        one = lm[effects]
        stat_by = {"bp": one**2, "honda": one, "king-wu": one}
    stat = float(stat_by[variant])
    if variant == "bp":
        df: int | None = 2 if effects == "twoway" else 1
        pvalue = float(stats.chi2.sf(stat, df))
        dist = "chi2"
    else:
        df, pvalue, dist = None, float(stats.norm.sf(stat)), "normal"
    label = {"bp": "Breusch-Pagan", "honda": "Honda", "king-wu": "King-Wu"}[variant]
    return TestResult(
        name=f"Lagrange multiplier test for {effects} effects ({label})",
        stat=stat,
        df=df,
        pvalue=pvalue,
        null=f"no {effects} effects (variance of the {effects} effect is zero)",
        alternative=f"{effects} effects are present (positive variance)",
        distribution=dist,
    )


def breusch_pagan(
    formula: str | PanelResults,
    data: Any = None,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    effects: str = "entity",
    variant: str = "bp",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
) -> TestResult:
    """LM test of no random effects (σ²ᵤ = 0) from pooled OLS residuals (R plm ``plmtest``).

    ``LMᵢ = n / sqrt(2(ΣTᵢ² − n)) · (Σᵢ(Σₜ eᵢₜ)² / e'e − 1)`` is the Baltagi–Li (1990) form,
    exact for unbalanced panels; likewise for time effects with the period counts.

    Parameters
    ----------
    formula : str or PanelResults
        The model, or a fitted panel result whose data and formula are used.
    data : DataFrame, PanelData or dask DataFrame, optional
        The panel (not needed with a fitted result).
    entity, time : hashable, optional
        Identifier columns.
    backend : {"auto", "numpy", "dask", "cupy", "torch"}
        Where the statistics are computed.
    effects : {"entity", "time", "twoway"}
    variant : {"bp", "honda", "king-wu"}
        ``bp``: Breusch–Pagan χ² (df 1, or 2 two-way); ``honda``: one-sided normal
        (``(LM₁+LM₂)/√2`` two-way); ``king-wu``: one-sided normal (a weighted combination
        two-way; equal to Honda one-way).
    weights, weight_type
        Observation weights (see ``pr.pooled_ols``). The LM statistics are derived for
        equal weights (homoskedastic errors), so a weighted call returns a result with
        ``valid=False`` and the reason, not a number.

    Returns
    -------
    TestResult
        χ² (``bp``) or one-sided normal (``honda``, ``king-wu``).

    Raises
    ------
    InvalidParameterError
        An unknown ``effects`` or ``variant``.
    InsufficientDataError
        One observation per group.

    Examples
    --------
    >>> import panelre as pr
    >>> t = pr.breusch_pagan("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                      entity="firm", time="year")
    >>> round(t.stat, 3), t.df
    (798.162, 1)
    """
    source = tested_source(
        formula, data, "breusch_pagan", entity=entity, time=time, backend=backend,
        weights=weights, weight_type=weight_type,
    )  # fmt: skip
    return lm_test(source, effects=effects, variant=variant)


def lm_test(source: PanelSource, *, effects: str = "entity", variant: str = "bp") -> TestResult:
    """The LM test on a bound source (see ``breusch_pagan``): pooled OLS residual sums per
    group come from the statistics, ``Σ_g (Σ e)² = Σ_g (S_g·c)²``."""
    effects = check_option("effects", effects, EFFECTS, EFFECT_ALIASES)
    variant = check_option("variant", variant, ["bp", "honda", "king-wu"], {"kw": "king-wu"})
    if effects != "entity":
        require_time(source.time_name is not None, f"LM tests for {effects} effects")
    if source.weight_type is not None:
        return TestResult(
            name=f"LM test for {effects} effects ({variant})",
            stat=float("nan"),
            df=0,
            pvalue=float("nan"),
            null=f"no {effects} effects (variance of the {effects} effect is zero)",
            alternative=f"{effects} effects are present (positive variance)",
            valid=False,
            reason=(
                "The Breusch-Pagan/Honda LM tests are derived for unweighted pooled OLS "
                "with homoskedastic errors; they are not defined with observation weights. "
                "Test the effects with f_test_effects() on a weighted fixed-effects fit."
            ),
        )
    st = source.stats
    p = st.width
    fit = least_squares(
        source, RowMap.identity(p), range(1, p), source.x_names, gram=st.gram, warn=False
    )
    coef = fit.coef
    ssr = fit.ssr
    dims = ["entity", "time"] if effects == "twoway" else [effects]
    counts = {dim: st.groups(dim).counts for dim in dims}
    lm = {}
    for dim in dims:
        sums = st.groups(dim).sums @ coef
        lm[dim] = lm_component(float(sums @ sums), ssr, counts[dim], st.n, dim)
    return lm_test_result(lm, counts, st.n, effects, variant)
