"""First-difference estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from panelre._linalg import column_ss
from panelre.estimators._base import PanelModel, row_index, transformed_ols
from panelre.exceptions import InsufficientDataError
from panelre.results import Estimation

__all__ = ["FirstDifference"]


class FirstDifference(PanelModel):
    """OLS on first differences of consecutive observations within each entity.

    As R plm, consecutive *rows* (ordered by time) are differenced even across gaps,
    and an intercept in the formula is kept as the constant of the differenced
    equation (a linear trend in levels); ``- 1`` drops it.

    Examples
    --------
    >>> import panelre as pr
    >>> res = pr.first_difference("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                           entity="firm", time="year")
    >>> res.nobs, res.params.round(4).tolist()
    (200, [-1.8189, 0.0898, 0.2918])
    """

    estimator_name = "first_difference"
    title = "First differences"
    requires_time = True

    def _estimate(self) -> Estimation:
        d = self.design
        p = d.panel
        slope_cols = [j for j, n in enumerate(d.x_names) if n != "Intercept"]
        X = d.X[:, slope_cols]
        names = [d.x_names[j] for j in slope_cols]
        both = np.column_stack([d.y, X])
        diffs, later = p.first_difference(both)
        if diffs.shape[0] == 0:
            raise InsufficientDataError(
                "No entity is observed more than once, so there are no first differences (T = 1)."
            )
        dy, dX = diffs[:, 0], diffs[:, 1:]
        raw_ss = column_ss(X)
        if d.has_intercept:
            dX = np.column_stack([np.ones(len(dy)), dX])
            names = ["Intercept", *names]
            raw_ss = np.concatenate([[float(len(dy))], raw_ss])
        ols = transformed_ols(dX, dy, names, raw_ss=raw_ss, absorbed_by="first-difference")
        idx = row_index(p)[later]
        return Estimation(
            params=ols.params,
            names=ols.names,
            X=ols.X,
            y=dy,
            resid=ols.resid,
            bread=ols.bread,
            df_resid=len(dy) - len(ols.params),
            df_model=len(ols.params) - int("Intercept" in ols.names),
            entity_codes=p.entity_codes[later],
            time_codes=p.time_codes[later] if p.time_codes is not None else None,
            frame=p.frame.iloc[later],
            fitted=pd.Series(dy - ols.resid, index=idx, name="fitted_values"),
            resids=pd.Series(ols.resid, index=idx, name="resids"),
            dropped=ols.dropped,
        )
