"""Pooled OLS."""

from __future__ import annotations

from functools import partial

import numpy as np

from panelre.estimators._base import PanelModel, index_r2
from panelre.estimators._ols import least_squares
from panelre.results import Estimation
from panelre.stats import PanelSource, RowMap

__all__ = ["PooledOLS", "pooled_estimation"]


def pooled_estimation(
    rows: PanelSource, levels: PanelSource, *, raw_ss: np.ndarray | None = None,
    absorbed_by: str | None = None,
) -> Estimation:  # fmt: skip
    """OLS of z's first column on the others over ``rows``; ``levels`` is the data in
    levels (for Stata's R², which differ from ``rows`` for first differences and between)."""
    p = rows.width
    fit = least_squares(
        rows, RowMap.identity(p), range(1, p), rows.x_names, gram=rows.stats.gram,
        raw_ss=raw_ss, absorbed_by=absorbed_by,
    )  # fmt: skip
    k = len(fit.params)
    return Estimation(
        params=fit.params,
        names=fit.names,
        bread=fit.bread,
        df_resid=rows.stats.n - k,
        df_model=k - int("Intercept" in fit.names),
        scores=rows.scores(fit.regressors, fit.resid),
        regressors=fit.regressors,
        regression_resid=fit.resid,
        rows=rows,
        fitted=fit.regressors.times(fit.params),
        resid=fit.resid,
        rsquared=fit.rsquared,
        index_r2=partial(index_r2, levels, fit.names, fit.params),
        dropped=fit.dropped,
        absorbed=fit.absorbed,
        ssr=fit.reliable_ssr,
    )


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
    supports_instruments = True
    title = "Pooled OLS"

    def _estimate(self) -> Estimation:
        return pooled_estimation(self.source, self.source)

    def _estimate_iv(self) -> Estimation:
        """Pooled 2SLS."""
        from panelre.estimators.iv import iv_columns, two_stage_estimation

        src = self.source
        assert self.instrument_spec is not None
        estimation, self.iv_fit = two_stage_estimation(
            src,
            src,
            RowMap.identity(src.width),
            iv_columns(src, self.instrument_spec),
            raw_ss=np.diag(src.stats.gram)[1:],
        )
        return estimation
