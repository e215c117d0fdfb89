"""Fixed effects (within) estimator: one-way (entity or time) and two-way."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from panelre._linalg import column_ss
from panelre._typing import EFFECT_ALIASES, EFFECTS
from panelre._validation import check_option
from panelre._warnings import warn
from panelre.estimators._base import PanelModel, quasi_demeaned_ols, transformed_ols
from panelre.exceptions import InsufficientDataError, SingletonWarning
from panelre.results import Estimation

__all__ = ["FixedEffects", "absorbed_label"]


def absorbed_label(effects: str) -> str:
    """Words for the effects in messages."""
    return {"entity": "entity", "time": "time", "twoway": "entity and time"}[effects]


class FixedEffects(PanelModel):
    """Within estimator with entity, time or two-way fixed effects.

    The intercept and regressors without variation after demeaning are dropped
    (listed in ``results.dropped``); σ²ₑ uses ``n − G − K`` degrees of freedom
    (``n − N − T + 1 − K`` two-way), as R plm and Stata. Two-way demeaning is exact on
    unbalanced panels.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year",
    ...                  effects="twoway").params.round(4).tolist()
    [0.1177, 0.3579]
    """

    estimator_name = "fixed_effects"
    title = "Fixed effects (within)"
    option_names = ("effects",)

    def _configure(self, effects: str = "entity", **_: Any) -> None:
        self.effects = check_option("effects", effects, EFFECTS, EFFECT_ALIASES)
        if self.effects != "entity":
            self.design.panel._require_time(f"effects={self.effects!r}")
        self.title = {
            "entity": "Fixed effects (within, entity)",
            "time": "Fixed effects (within, time)",
            "twoway": "Fixed effects (within, two-way)",
        }[self.effects]

    def _n_effects(self) -> int:
        p = self.design.panel
        return {
            "entity": p.n_entities,
            "time": p.n_periods,
            "twoway": p.n_entities + p.n_periods - 1,
        }[self.effects]

    def _check_variation(self) -> None:
        p = self.design.panel
        dims = ["entity", "time"] if self.effects == "twoway" else [self.effects]
        for dim in dims:
            counts = p.group_counts(dim)
            if (counts <= 1).all():
                raise InsufficientDataError(
                    f"Every {dim} group has a single observation, so nothing varies within "
                    f"{dim}s and the {dim} fixed-effects estimator is undefined (e.g. T = 1)."
                )
        singles = int((p.group_counts(dims[0]) == 1).sum())
        if singles:
            warn(
                f"{singles} {dims[0]} group(s) have a single observation; they add nothing to "
                "the within estimator but still count in the degrees of freedom (as R plm and "
                "Stata).",
                SingletonWarning,
            )

    def _estimate(self) -> Estimation:
        d = self.design
        p = d.panel
        self._check_variation()
        X, names, cols = d.slopes()
        if not names:
            raise InsufficientDataError(
                "The formula has no regressors besides the intercept, which the fixed effects "
                "absorb. Add time-varying regressors."
            )
        if self.effects == "twoway":
            Xt, yt = p.demean(X, "twoway"), p.demean(d.y, "twoway")
            ols = transformed_ols(
                Xt, yt, names, raw_ss=column_ss(X), absorbed_by=absorbed_label(self.effects)
            )
        else:
            ols = quasi_demeaned_ols(
                d, self.effects, 1.0, cols, absorbed_by=absorbed_label(self.effects)
            )
            yt = ols.y
        full = np.zeros(len(names))
        full[ols.keep] = ols.params
        if self.effects == "twoway":
            effects, extra = self._effects(d.y - X @ full - ols.resid)  # αᵢ + γₜ per row
        else:  # one-way: the group means give the effects without another pass
            ybar, xbar = d.means(self.effects)
            labels = p.entity_labels if self.effects == "entity" else p.time_labels
            effects = pd.Series(ybar - xbar[:, cols] @ full, index=labels, name="effects")
            extra = {}
        extra["absorbed"] = ols.absorbed
        if self.effects != "twoway":
            extra["cluster_shortcut"] = (self.effects, ols.raw_X, ols.means, ols.theta)
        df_resid = p.nobs - self._n_effects() - len(ols.params)
        if df_resid <= 0:
            raise InsufficientDataError(
                f"No residual degrees of freedom: {p.nobs} observations, {self._n_effects()} "
                f"fixed effects and {len(ols.params)} slopes."
            )
        return Estimation(
            params=ols.params,
            names=ols.names,
            X=ols.X,
            y=yt,
            resid=ols.resid,
            bread=ols.bread,
            df_resid=df_resid,
            df_model=len(ols.params),
            entity_codes=p.entity_codes,
            time_codes=p.time_codes,
            frame=p.frame,
            fitted=self._series(d.y - ols.resid, "fitted_values"),
            resids=self._series(ols.resid, "resids"),
            effects=effects,
            dropped=ols.dropped,
            extra=extra,
        )

    def _effects(self, total: np.ndarray) -> tuple[Any, dict[str, Any]]:
        p = self.design.panel
        if self.effects == "entity":
            return pd.Series(p.group_means(total), index=p.entity_labels, name="effects"), {}
        if self.effects == "time":
            return pd.Series(p.group_means(total, "time"), index=p.time_labels, name="effects"), {}
        split = functools.cache(lambda: p.twoway_effects(total))  # only when asked for

        def entity_effects() -> pd.Series:
            return pd.Series(split()[0], index=p.entity_labels, name="effects")

        def time_effects() -> pd.Series:
            return pd.Series(split()[1], index=p.time_labels, name="time_effects")

        return entity_effects, {"time_effects": time_effects}
