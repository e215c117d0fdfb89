"""Pooled OLS."""

from __future__ import annotations

from panelre.estimators._base import PanelModel, transformed_ols
from panelre.results import Estimation

__all__ = ["PooledOLS"]


class PooledOLS(PanelModel):
    """Pooled OLS: ordinary least squares on the stacked panel.

    Examples
    --------
    >>> import panelre as pr
    >>> m = pr.PooledOLS.from_formula("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                               entity="firm", time="year")
    >>> m.fit().params.round(4).tolist()
    [-42.7144, 0.1156, 0.2307]
    """

    estimator_name = "pooled_ols"
    title = "Pooled OLS"

    def _estimate(self) -> Estimation:
        d = self.design
        ols = transformed_ols(d.X, d.y, d.x_names)
        fitted = d.y - ols.resid
        p = d.panel
        return Estimation(
            params=ols.params,
            names=ols.names,
            X=ols.X,
            y=d.y,
            resid=ols.resid,
            bread=ols.bread,
            df_resid=p.nobs - len(ols.params),
            df_model=len(ols.params) - int("Intercept" in ols.names),
            entity_codes=p.entity_codes,
            time_codes=p.time_codes,
            frame=p.frame,
            fitted=self._series(fitted, "fitted_values"),
            resids=self._series(ols.resid, "resids"),
            dropped=ols.dropped,
        )
