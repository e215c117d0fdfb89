"""The between estimator: OLS on entity means."""

from __future__ import annotations

from typing import Any

import numpy as np

from panelre.estimators._base import PanelModel
from panelre.estimators.pooled import pooled_estimation
from panelre.exceptions import InsufficientDataError, InvalidParameterError
from panelre.results import Estimation
from panelre.stats import PanelSource, RowMap, host_source

__all__ = ["Between"]


class Between(PanelModel):
    """OLS of entity means ``ȳᵢ`` on ``x̄ᵢ`` (one row per entity, unweighted, as R plm).

    The entity means come from the statistics of any backend; the regression on them
    (N rows) runs in memory.

    ``wls=True`` weights each entity mean by its number of observations Tᵢ (Stata's
    ``xtreg, be wls``). With observation weights an entity's mean is the weighted mean
    of its rows; it is weighted by the mean of its row weights (analytic weights;
    ``Σw`` with ``wls=True``), or by 1 with frequency weights (``Σw``, its expanded
    Tᵢ, with ``wls=True``), so that frequency weights equal repeated rows.

    Examples
    --------
    >>> import panelre as pr
    >>> res = pr.between("inv ~ value + capital", pr.datasets.load("grunfeld"), entity="firm")
    >>> res.params.round(4).tolist()
    [-8.5271, 0.1346, 0.032]
    """

    estimator_name = "between"
    supports_instruments = True
    title = "Between"
    option_names = ("wls",)

    def _configure(self, wls: bool = False, **_: Any) -> None:
        if not isinstance(wls, (bool, np.bool_)):
            raise InvalidParameterError(f"The 'wls' parameter must be True or False. Got {wls!r}.")
        self.wls = bool(wls)

    def entity_weights(self) -> np.ndarray | None:
        """The weight of each entity mean in the between regression (None: equal)."""
        st = self.source.stats
        kind = self.source.weight_type
        if kind is None:
            return st.entity.counts.copy() if self.wls else None
        if self.wls:
            return st.entity.weights.copy()
        if kind == "frequency":
            return None
        return st.entity.weights / st.entity.counts

    def _estimate(self) -> Estimation:
        return pooled_estimation(self._mean_rows(), self.source)

    def _estimate_iv(self) -> Estimation:
        """Between 2SLS: 2SLS on the entity means."""
        from panelre.estimators.iv import iv_columns, two_stage_estimation

        rows = self._mean_rows()
        assert self.instrument_spec is not None
        estimation, self.iv_fit = two_stage_estimation(
            rows,
            self.source,
            RowMap.identity(rows.width),
            iv_columns(rows, self.instrument_spec),
            raw_ss=np.diag(rows.stats.gram)[1:],
        )
        return estimation

    def _mean_rows(self) -> PanelSource:
        """The entity means as the rows of a regression."""
        src = self.source
        st = src.stats
        means = st.entity.means
        if st.n_entities <= means.shape[1] - 1:
            raise InsufficientDataError(
                f"The between estimator needs more entities ({st.n_entities}) than "
                f"regressors ({means.shape[1] - 1})."
            )
        return host_source(
            means[:, 0],
            means[:, 1:],
            y_name=src.y_name,
            x_names=src.x_names,
            entity_labels=st.entity.labels,
            entity_name=src.entity_name,
            formula=src.formula,
            weights=self.entity_weights(),
        )
