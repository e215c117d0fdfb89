"""The between estimator: OLS on entity means."""

from __future__ import annotations

from panelre.estimators._base import PanelModel
from panelre.estimators.pooled import pooled_estimation
from panelre.exceptions import InsufficientDataError
from panelre.results import Estimation
from panelre.stats import host_source

__all__ = ["Between"]


class Between(PanelModel):
    """OLS of entity means ``ȳᵢ`` on ``x̄ᵢ`` (one row per entity, unweighted, as R plm).

    The entity means come from the statistics of any backend; the regression on them
    (N rows) runs in memory.

    Examples
    --------
    >>> import panelre as pr
    >>> res = pr.between("inv ~ value + capital", pr.datasets.load("grunfeld"), entity="firm")
    >>> res.params.round(4).tolist()
    [-8.5271, 0.1346, 0.032]
    """

    estimator_name = "between"
    title = "Between"

    def _estimate(self) -> Estimation:
        src = self.source
        st = src.stats
        means = st.entity.means
        if st.n_entities <= means.shape[1] - 1:
            raise InsufficientDataError(
                f"The between estimator needs more entities ({st.n_entities}) than "
                f"regressors ({means.shape[1] - 1})."
            )
        rows = host_source(
            means[:, 0],
            means[:, 1:],
            y_name=src.y_name,
            x_names=src.x_names,
            entity_labels=st.entity.labels,
            entity_name=src.entity_name,
            formula=src.formula,
        )
        return pooled_estimation(rows, src)
