"""The between estimator: OLS on entity means."""

from __future__ import annotations

import numpy as np
import pandas as pd

from panelre.estimators._base import PanelModel, transformed_ols
from panelre.exceptions import InsufficientDataError
from panelre.results import Estimation

__all__ = ["Between"]


class Between(PanelModel):
    """OLS of entity means ``ȳᵢ`` on ``x̄ᵢ`` (one row per entity, unweighted, as R plm).

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
        d = self.design
        p = d.panel
        ybar = p.group_means(d.y)
        xbar = p.group_means(d.X)
        if p.n_entities <= xbar.shape[1]:
            raise InsufficientDataError(
                f"The between estimator needs more entities ({p.n_entities}) than "
                f"regressors ({xbar.shape[1]})."
            )
        ols = transformed_ols(xbar, ybar, d.x_names)
        idx = pd.Index(p.entity_labels, name=str(p.entity))
        return Estimation(
            params=ols.params,
            names=ols.names,
            X=ols.X,
            y=ybar,
            resid=ols.resid,
            bread=ols.bread,
            df_resid=p.n_entities - len(ols.params),
            df_model=len(ols.params) - int("Intercept" in ols.names),
            entity_codes=np.arange(p.n_entities),
            time_codes=None,
            frame=None,
            fitted=pd.Series(ybar - ols.resid, index=idx, name="fitted_values"),
            resids=pd.Series(ols.resid, index=idx, name="resids"),
            dropped=ols.dropped,
        )
