"""Predictions of a fitted mixed model on new data, with lme4's ``re.form`` and new levels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from panelre.exceptions import DataError, FormulaError, InvalidParameterError
from panelre.mixed.design import as_frame, factor_levels
from panelre.mixed.formula import parse_mixed_formula

if TYPE_CHECKING:
    from panelre.mixed.results import MixedResults, RandomFactor

__all__ = ["predict"]

_NO_RANDOM = {"~0", "0", "na", "~-1", "-1"}


def _matrix(spec, data: pd.DataFrame, what: str) -> np.ndarray:
    try:
        return np.asarray(spec.get_model_matrix(data, na_action="ignore"), dtype=float)
    except Exception as exc:
        raise FormulaError(f"Cannot build the {what} for prediction: {exc}") from exc


def _chosen_factors(res: MixedResults, re_form: str | None) -> list[RandomFactor]:
    """The grouping factors whose effects ``re_form`` asks for."""
    if re_form is None:
        return list(res.factors)
    if not isinstance(re_form, str):
        raise InvalidParameterError(
            f"'re_form' must be None, '~0' or a formula of random terms such as "
            f"'~(1 | g)'. Got {re_form!r}."
        )
    text = re_form.replace(" ", "").lower()
    if text in _NO_RANDOM:
        return []
    try:
        parsed = parse_mixed_formula("_ " + (re_form if "~" in re_form else "~" + re_form))
    except FormulaError as exc:
        raise InvalidParameterError(
            f"'re_form' must name random terms of the model, e.g. '~(1 | g)'. Got {re_form!r}: "
            f"{exc}"
        ) from None
    names = [f.name for f in res.factors]
    unknown = [g for g in parsed.factors if g not in names]
    if unknown:
        raise InvalidParameterError(
            f"'re_form' names the grouping factor {unknown[0]!r}, which is not in the model. "
            f"Allowed: {names}."
        )
    chosen = [f for f in res.factors if f.name in parsed.factors]
    for factor in chosen:  # whole factors only: their terms as fitted
        asked = {_plain(str(t)) for t in parsed.random if t.group == factor.name}
        if asked != {_plain(t) for t in factor.terms}:
            raise InvalidParameterError(
                f"'re_form' must repeat the fitted random terms of {factor.name!r}, "
                f"{' + '.join(factor.terms)}, to include them. Got {re_form!r}."
            )
    return chosen


def _plain(term: str) -> str:
    return "".join(term.split())


def _effects(factor: RandomFactor, frame: pd.DataFrame, allow_new_levels: bool) -> np.ndarray:
    """:math:`Z_k\\hat b_k` on the rows of ``frame`` (0 for new levels when allowed)."""
    columns = factor.columns or (factor.name,)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"Predicting with the random effects of {factor.name!r} needs the column "
            f"{missing[0]!r} in data. Got columns {list(frame.columns)}; or leave that factor "
            "out with re_form, or use include_random=False."
        )
    levels = factor_levels(frame, factor.name, columns)
    codes = factor.labels.get_indexer(pd.Index(levels))
    new = codes < 0
    if new.any() and not allow_new_levels:
        shown = pd.unique(levels[new].astype(object))[:5].tolist()
        raise DataError(
            f"data has {int(new.sum())} row(s) with levels of {factor.name!r} that were not "
            f"in the estimation sample (e.g. {shown}). Pass allow_new_levels=True to predict "
            "them at the population level (random effects 0), as lme4's allow.new.levels."
        )
    z = np.column_stack([_matrix(s, frame, "random part") for s in factor.specs])
    effects = np.where(new[:, None], 0.0, factor.blups[np.maximum(codes, 0)])
    return (z * effects).sum(axis=1)


def predict(
    res: MixedResults,
    data: pd.DataFrame | None,
    include_random: bool,
    re_form: str | None = None,
    allow_new_levels: bool = False,
    interval: str | None = None,
    level: float = 0.95,
) -> pd.Series | pd.DataFrame:
    """:math:`X\\hat\\beta` plus the chosen factors' :math:`Z_k\\hat b_k`; with ``interval``
    also its standard error and interval (the fixed part's :math:`x'V_\\beta x`, the
    included effects treated as known; ``"prediction"`` adds :math:`\\sigma^2` and
    :math:`z'\\Sigma_k z` of every factor left out or at a new level)."""
    if not include_random and re_form is not None:
        raise InvalidParameterError(
            "Give either include_random=False or re_form, not both: re_form='~0' is the "
            "population-level prediction."
        )
    chosen = _chosen_factors(res, re_form) if include_random else []
    names = [f.name for f in chosen]
    if data is None:  # the estimation rows, from the fitted design
        out = np.array(res.fitted_fixed, dtype=float)
        x = res.design.x
        unexplained = np.zeros(out.size)
        for factor, estimate in zip(res.design.factors, res.factors, strict=True):
            if factor.name in names:
                out += (factor.z * estimate.blups[factor.codes]).sum(axis=1)
            else:
                unexplained += np.einsum("ij,jk,ik->i", factor.z, estimate.cov, factor.z)
        index = res.row_index
    else:
        frame = as_frame(data)
        x_full = _matrix(res.fixed_spec, frame, "fixed part")
        columns = [str(c) for c in res.fixed_spec.column_names]
        x = x_full[:, [columns.index(n) for n in res.fixed_names]]
        out = x @ res.params.to_numpy()
        unexplained = np.zeros(out.size)
        for factor in res.factors:  # a loop over grouping factors
            if factor.name in names:
                out = out + _effects(factor, frame, allow_new_levels)
            if interval == "prediction":
                unexplained += _left_out_variance(factor, frame, factor.name in names)
        index = frame.index
    predicted = pd.Series(out, index=index, name="predicted")
    if interval is None:
        return predicted
    from scipy import stats

    cov = np.asarray(res.cov.to_numpy(), dtype=float)
    se = np.sqrt(np.einsum("ij,jk,ik->i", x, cov, x))
    if interval == "prediction":
        se = np.sqrt(se**2 + res.sigma2 + unexplained)
    crit = stats.norm.ppf(0.5 + level / 2)
    return pd.DataFrame(
        {"predicted": out, "se": se, "lower": out - crit * se, "upper": out + crit * se},
        index=index,
    )


def _left_out_variance(factor: RandomFactor, frame: pd.DataFrame, included: bool) -> np.ndarray:
    """:math:`z'\\Sigma z` of a factor on the rows where its effect is not predicted (all
    rows when the factor is left out, the rows of new levels when it is included)."""
    z = np.column_stack([_matrix(s, frame, "random part") for s in factor.specs])
    variance = np.einsum("ij,jk,ik->i", z, factor.cov, z)
    if not included:
        return variance
    levels = factor_levels(frame, factor.name, factor.columns or (factor.name,))
    new = factor.labels.get_indexer(pd.Index(levels)) < 0
    return np.where(new, variance, 0.0)
