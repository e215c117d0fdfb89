"""Fixed effects (within) estimator: one-way (entity or time) and two-way."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from panelre._typing import EFFECT_ALIASES, EFFECTS
from panelre._validation import check_option
from panelre._warnings import warn
from panelre.estimators._base import PanelModel, index_r2
from panelre.estimators._ols import LeastSquares, least_squares
from panelre.estimators._transforms import (
    effect_dims,
    n_effects,
    twoway_effects,
    twoway_gram,
    within,
)
from panelre.exceptions import InsufficientDataError, InvalidParameterError, SingletonWarning
from panelre.results import Estimation
from panelre.stats import PanelSource, PanelStats, RowMap, require_time

__all__ = ["FixedEffects", "absorbed_label", "check_within_variation"]


def absorbed_label(effects: str) -> str:
    """Words for the effects in messages."""
    return {"entity": "entity", "time": "time", "twoway": "entity and time"}[effects]


def check_within_variation(stats: PanelStats, effects: str) -> None:
    """Raise when no group has two observations; warn about singleton groups."""
    dims = effect_dims(effects)
    for dim in dims:
        if (stats.groups(dim).counts <= 1).all():
            raise InsufficientDataError(
                f"Every {dim} group has a single observation, so nothing varies within "
                f"{dim}s and the {dim} fixed-effects estimator is undefined (e.g. T = 1)."
            )
    singles = int((stats.groups(dims[0]).counts == 1).sum())
    if singles:
        warn(
            f"{singles} {dims[0]} group(s) have a single observation; they add nothing to "
            "the within estimator but still count in the degrees of freedom (as R plm and "
            "Stata).",
            SingletonWarning,
        )


class FixedEffects(PanelModel):
    """Within estimator with entity, time or two-way fixed effects.

    The intercept and regressors without variation after demeaning are dropped
    (listed in ``results.dropped``); σ²ₑ uses ``n − G − K`` degrees of freedom
    (``n − N − T + 1 − K`` two-way), as R plm and Stata. Two-way demeaning is exact on
    unbalanced panels.

    ``constant=True`` reports Stata's ``_cons`` of ``xtreg, fe`` as ``Intercept``: the
    regression of ``y − ȳᵢ + ȳ`` on ``x − x̄ᵢ + x̄`` and a constant, so that the constant is
    ``ȳ − x̄'b`` (the average effect) with its standard error under any covariance; the
    slopes, residuals and degrees of freedom are those of the within regression.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year",
    ...                  effects="twoway").params.round(4).tolist()
    [0.1177, 0.3579]
    >>> pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year",
    ...                  constant=True).params.round(4).to_dict()   # Stata xtreg, fe
    {'value': 0.1101, 'capital': 0.3101, 'Intercept': -58.7439}
    """

    estimator_name = "fixed_effects"
    supports_instruments = True
    title = "Fixed effects (within)"
    option_names = ("effects", "constant")

    def _configure(self, effects: str = "entity", constant: bool = False, **_: Any) -> None:
        self.effects = check_option("effects", effects, EFFECTS, EFFECT_ALIASES)
        if not isinstance(constant, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'constant' parameter must be True or False. Got {constant!r}."
            )
        self.constant = bool(constant)
        if self.effects != "entity":
            require_time(self.source.time_name is not None, f"effects={self.effects!r}")
        self.title = {  # type: ignore[misc]
            "entity": "Fixed effects (within, entity)",
            "time": "Fixed effects (within, time)",
            "twoway": "Fixed effects (within, two-way)",
        }[self.effects]

    def _estimate_iv(self, drop_absorbed: bool = False) -> Estimation:
        return _estimate_iv(self, drop_absorbed)

    def _estimate(self) -> Estimation:
        src = self.source
        st = src.stats
        check_within_variation(st, self.effects)
        slopes = src.slope_positions()
        if not slopes:
            raise InsufficientDataError(
                "The formula has no regressors besides the intercept, which the fixed effects "
                "absorb. Add time-varying regressors."
            )
        transform, gram = within(src, self.effects)
        fit = least_squares(
            src,
            transform,
            slopes,
            [src.x_names[j - 1] for j in slopes],
            gram=gram,
            raw_ss=np.diag(st.gram)[slopes],
            absorbed_by=absorbed_label(self.effects),
        )
        k = len(fit.params)
        df_resid = st.n - n_effects(st, self.effects) - k
        if df_resid <= 0:
            raise InsufficientDataError(
                f"No residual degrees of freedom: {st.n} observations, "
                f"{n_effects(st, self.effects)} fixed effects and {k} slopes."
            )
        reported = fit
        if self.constant:
            kept = [slopes[i] for i in np.flatnonzero(fit.keep)]
            reported = _with_average_effect(src, transform, kept, fit)
        coef = fit.coef
        time_effects = None
        if self.effects == "twoway":
            effects, time_effects = twoway_effects(st, transform, coef, twoway_gram(src))
        else:
            g = st.groups(self.effects)
            effects = pd.Series(g.means @ coef, index=g.labels, name="effects")
        fitted = RowMap.hstack([RowMap.select(st.width, [0]), fit.resid]).times([1.0, -1.0])
        return Estimation(
            params=reported.params,
            names=reported.names,
            bread=reported.bread,
            df_resid=df_resid,
            df_model=k,
            scores=src.scores(reported.regressors, reported.resid),
            regressors=fit.regressors,
            regression_resid=fit.resid,
            rows=src,
            fitted=fitted,
            resid=fit.resid,
            rsquared=fit.rsquared,
            index_r2=partial(index_r2, src, fit.names, fit.params),
            effects=effects,
            time_effects=time_effects,
            dropped=fit.dropped,
            absorbed=fit.absorbed,
            ssr=fit.reliable_ssr,
            absorbed_levels=tuple((d, st.groups(d).size) for d in effect_dims(self.effects)),
            constant_in_params=self.constant,
        )


def _estimate_iv(model: FixedEffects, drop_absorbed: bool = False) -> Estimation:
    """FE-2SLS: 2SLS on the within-transformed columns (instruments transformed too);
    ``drop_absorbed`` drops time-invariant instruments instead of refusing them."""
    from panelre.estimators.iv import iv_columns, two_stage_estimation

    src = model.source
    st = src.stats
    check_within_variation(st, model.effects)
    if model.constant:
        raise InvalidParameterError(
            "constant=True is not available with instruments; the effects are absorbed."
        )
    transform, _ = within(src, model.effects)
    assert model.instrument_spec is not None
    columns = iv_columns(src, model.instrument_spec)
    if src.has_intercept:  # the effects absorb the constant, as in the OLS form
        intercept = 1 + src.x_names.index("Intercept")
        columns = replace(columns, exogenous=[p for p in columns.exogenous if p != intercept])
    estimation, model.iv_fit = two_stage_estimation(
        src,
        src,
        transform,
        columns,
        absorbed_df=n_effects(st, model.effects),
        absorbed_by=absorbed_label(model.effects),
        raw_ss=np.diag(st.gram)[1:],
        drop_absorbed=drop_absorbed,
    )
    kept = model.iv_fit.columns.regressors
    coef = np.zeros(st.width)
    coef[0] = 1.0
    coef[kept] = -estimation.params
    effects = None
    if model.effects != "twoway":
        g = st.groups(model.effects)
        effects = pd.Series(g.means @ coef, index=g.labels, name="effects")
    fitted = RowMap.hstack([RowMap.select(st.width, [0]), estimation.resid]).times([1.0, -1.0])
    return replace(
        estimation,
        fitted=fitted,
        effects=effects,
        absorbed_levels=tuple((d, st.groups(d).size) for d in effect_dims(model.effects)),
    )


def _with_average_effect(
    source: PanelSource, transform: RowMap, kept: list[int], fit: LeastSquares
) -> LeastSquares:
    """Stata's ``xtreg, fe`` regression with ``_cons``: y and the kept regressors (positions
    ``kept`` of z) within-transformed plus their grand means, and a constant."""
    st = source.stats
    columns = [0, *kept]
    grand = st.total[columns] / st.mass
    tables: dict[str, np.ndarray] = {}
    # the entity (or, for time effects, the period) table becomes O − z̄, which adds the
    # grand means back; its extra column of −1 is the constant
    shifted = "entity_table" if transform.entity_table is not None else "time_table"
    for side in ("entity_table", "time_table"):
        table = getattr(transform, side)
        if table is None:
            continue
        t = table[:, columns]
        extra = np.zeros((t.shape[0], 1))
        if side == shifted:
            t, extra = t - grand, extra - 1.0
        tables[side] = np.hstack([t, extra])
    L = np.hstack([transform.L[:, columns], np.zeros((st.width, 1))])
    augmented = RowMap(L, **tables)
    k = len(fit.names)
    return least_squares(
        source, augmented, list(range(1, k + 2)), [*fit.names, "Intercept"], warn=False
    )
