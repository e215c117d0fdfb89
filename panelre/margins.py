"""Average marginal effects with delta-method standard errors (``pr.margins``), with
Stata's ``margins, dydx()`` semantics for linear panel models.

The prediction is ``x'b`` (Stata's ``xb``; fixed effects and their constant do not depend
on x). For a continuous variable the effect of each row is the derivative of its design
row with respect to the variable, ``J_i = ∂x_i/∂v``, taken by a central difference
(exact for the polynomials and interactions of a formula up to degree two, and accurate
to O(h²) beyond); the average ``ĝ = mean_i J_i`` gives the effect ``ĝ'b`` and, being
linear in b, the exact delta-method variance ``ĝ'Vĝ``. A categorical variable (a
``C(...)`` term, or a non-numeric column) gets the average discrete change from its base
level, as Stata reports factor variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre.exceptions import InvalidParameterError
from panelre.results import PanelResults

__all__ = ["margins"]


def _is_categorical(variable: str, formula: str, column: pd.Series) -> bool:
    if re.search(rf"C\(\s*{re.escape(variable)}\s*[,)]", formula):
        return True
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _step(values: np.ndarray) -> float:
    scale = float(np.nanmean(np.abs(values))) if values.size else 1.0
    return 1e-5 * max(scale, 1.0)


def margins(
    result: PanelResults,
    dydx: str | Sequence[str] | None = None,
    at: Mapping[str, Any] | None = None,
    *,
    data: pd.DataFrame | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Average marginal effects of the prediction ``x'b`` (Stata ``margins, dydx()``).

    Parameters
    ----------
    result : PanelResults
        A fitted panel model.
    dydx : str or sequence of str, optional
        The variables (data columns of the formula's right-hand side); default all of
        them (Stata's ``dydx(*)``).
    at : mapping of column -> value or list of values, optional
        Set these columns to the value for every row before averaging (Stata's ``at()``);
        a list gives one row of effects per value (several lists: every combination).
    data : DataFrame, optional
        The rows to average over; default the estimation rows (needed with Dask or GPU
        data, whose rows are not in memory).
    level : float, default 0.95

    Returns
    -------
    DataFrame
        One row per effect (and ``at`` value): ``term``, the ``at`` columns, ``estimate``,
        ``std_error``, ``statistic``, ``pvalue``, ``lower``, ``upper``, ``df``. The
        statistic is t with the result's inference degrees of freedom (normal for the
        random-effects family), as Stata ≥ 14 prints after ``regress`` and ``xtreg``.
        Categorical variables give one row per non-base level, named ``"level.variable"``.

    Raises
    ------
    InvalidParameterError
        An unknown variable (with the closest name), an ``at`` column the formula does
        not use, or estimation rows that are not in memory and no ``data``.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> fit = pr.pooled_ols("inv ~ value + capital + I(value**2) + value:capital", g,
    ...                     entity="firm", time="year")
    >>> ame = pr.margins(fit, "value")
    >>> round(float(ame["estimate"].iloc[0]), 6), round(float(ame["std_error"].iloc[0]), 6)
    (0.115998, 0.008645)
    """
    from panelre._validation import check_probability, closest_names

    level = check_probability("level", level)
    source = result.source
    frame = data if data is not None else source.estimation_data()
    if frame is None:
        raise InvalidParameterError(
            "pr.margins needs the estimation rows in memory; with Dask or GPU data pass "
            "data= (an in-memory pandas frame of the rows to average over)."
        )
    variables = source.required_variables()
    chosen = list(variables) if dydx is None else [dydx] if isinstance(dydx, str) else list(dydx)
    for v in chosen + list(at or {}):
        if v not in variables:
            raise InvalidParameterError(
                f"{v!r} is not a variable of the formula's right-hand side"
                f"{closest_names(v, variables)}. Its variables: {', '.join(variables)}."
            )
    names = list(result.params.index)
    b = result.params.to_numpy()
    V = result.cov.loc[names, names].to_numpy()
    df = result.df_inference
    q = (1 + level) / 2
    crit = stats.norm.ppf(q) if df is None else stats.t.ppf(q, df)
    formula = source.formula

    at_items = {
        k: (list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v])
        for k, v in (at or {}).items()
    }
    grid = [dict(zip(at_items, combo)) for combo in _product(list(at_items.values()))]

    def design(frame_: pd.DataFrame) -> np.ndarray:
        return source.regressors_for(frame_)[names].to_numpy(dtype=float)

    rows: list[dict[str, Any]] = []
    for point in grid:
        base = frame.assign(**point) if point else frame
        for variable in chosen:
            column = base[variable]
            if _is_categorical(variable, formula, frame[variable]):
                levels = sorted(pd.unique(frame[variable].dropna()))
                reference = design(base.assign(**{variable: levels[0]}))
                contrasts = [
                    (f"{lev}.{variable}", design(base.assign(**{variable: lev})) - reference)
                    for lev in levels[1:]
                ]
            else:
                values = column.to_numpy(dtype=float)
                h = _step(values)
                plus = design(base.assign(**{variable: values + h}))
                minus = design(base.assign(**{variable: values - h}))
                contrasts = [(variable, (plus - minus) / (2 * h))]
            for term, rows_change in contrasts:
                gradient = np.nanmean(rows_change, axis=0)
                estimate = float(gradient @ b)
                se = float(np.sqrt(gradient @ V @ gradient))
                stat = estimate / se if se > 0 else np.nan
                p = 2 * (stats.norm.sf(abs(stat)) if df is None else stats.t.sf(abs(stat), df))
                rows.append(
                    {
                        "term": term,
                        **point,
                        "estimate": estimate,
                        "std_error": se,
                        "statistic": stat,
                        "pvalue": float(p),
                        "lower": estimate - crit * se,
                        "upper": estimate + crit * se,
                        "df": np.nan if df is None else float(df),
                    }
                )
    return pd.DataFrame(rows)


def _product(values: list[list[Any]]) -> list[tuple[Any, ...]]:
    import itertools

    return list(itertools.product(*values)) if values else [()]
