"""The classic (homoskedastic) covariance ``s² (X'X)^-1``."""

from __future__ import annotations

import numpy as np

from panelre.covariance._base import CovarianceEstimator, CovarianceInputs

__all__ = ["Unadjusted"]


class Unadjusted(CovarianceEstimator):
    """``s² (X'X)^-1`` with ``s² = e'e / df_resid`` (the estimator's own df); for a
    likelihood estimator that supplies it, the inverse observed information."""

    name = "unadjusted"

    def meat(self, inputs: CovarianceInputs) -> np.ndarray:
        s2 = inputs.resid_ss() / inputs.df_resid
        return s2 * np.linalg.inv(inputs.bread)

    def cov(self, inputs: CovarianceInputs) -> np.ndarray:
        if inputs.likelihood_cov is not None:
            return inputs.likelihood_cov
        return inputs.resid_ss() / inputs.df_resid * inputs.bread

    def describe(self) -> str:
        return "Unadjusted"
