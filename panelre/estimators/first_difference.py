"""First-difference estimator."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from panelre.estimators._base import PanelModel
from panelre.estimators.pooled import pooled_estimation
from panelre.exceptions import InsufficientDataError, InvalidParameterError
from panelre.results import Estimation
from panelre.stats import PanelSource, RowMap

__all__ = ["FirstDifference"]


class FirstDifference(PanelModel):
    """OLS on first differences of consecutive observations within each entity.

    As R plm, consecutive *rows* (ordered by time) are differenced even across gaps,
    and an intercept in the formula is kept as the constant of the differenced
    equation (a linear trend in levels); ``- 1`` drops it. The differences are rows of
    their own on the backend; the regression on them is pooled OLS. With analytic
    weights (``var(eᵢₜ) = σ²/wᵢₜ``) a difference is weighted by the precision of
    ``eᵢₜ − eᵢₜ₋₁``, ``1/(1/wᵢₜ + 1/wᵢₜ₋₁)`` (as linearmodels).

    Examples
    --------
    >>> import panelre as pr
    >>> res = pr.first_difference("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                           entity="firm", time="year")
    >>> res.nobs, res.nobs_data, res.params.round(4).tolist()   # 190 differences of 200 rows
    (190, 200, [-1.8189, 0.0898, 0.2918])
    """

    estimator_name = "first_difference"
    supports_instruments = True
    title = "First differences"
    requires_time = True

    def _configure(self, **_: Any) -> None:
        if self.source.weight_type == "frequency":
            raise InvalidParameterError(
                "First differences take analytic weights only: frequency weights stand for "
                "repeated rows, and repeated (entity, time) rows have no first differences. "
                "Use weight_type='analytic'."
            )

    def _differences(self) -> tuple[PanelSource, np.ndarray]:
        """The first differences as rows, and the raw sums of squares of the regressors
        (for the absorbed-column rule; the constant's is Σw of the differences)."""
        src = self.source
        if (src.stats.entity.counts <= 1).all():
            raise InsufficientDataError(
                "No entity is observed more than once, so there are no first differences (T = 1)."
            )
        diffs = src.first_differences()
        raw_ss = np.diag(src.stats.gram)[1:].copy()
        if src.has_intercept:
            raw_ss[src.x_names.index("Intercept")] = diffs.stats.mass  # Σw of the constant
        return diffs, raw_ss

    def _estimate(self) -> Estimation:
        diffs, raw_ss = self._differences()
        estimation = pooled_estimation(
            diffs, self.source, raw_ss=raw_ss, absorbed_by="first-difference"
        )
        return replace(estimation, nobs=diffs.stats.n)

    def _estimate_iv(self) -> Estimation:
        """FD-2SLS: 2SLS on the first differences (instruments differenced too, as Stata's
        ``xtivreg, fd`` and R plm)."""
        from panelre.estimators.iv import iv_columns, two_stage_estimation

        diffs, raw_ss = self._differences()
        assert self.instrument_spec is not None
        estimation, self.iv_fit = two_stage_estimation(
            diffs,
            self.source,
            RowMap.identity(diffs.width),
            iv_columns(diffs, self.instrument_spec),
            raw_ss=raw_ss,
            absorbed_by="first-difference",
        )
        return replace(estimation, nobs=diffs.stats.n)
