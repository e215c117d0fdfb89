"""Heteroskedasticity-robust (White / HC0, or HC1 with ``small_sample=True``)."""

from __future__ import annotations

import numpy as np

from panelre.covariance._base import CovarianceEstimator, CovarianceInputs

__all__ = ["Robust"]


class Robust(CovarianceEstimator):
    """``(X'X)^-1 (Σ eᵢ² xᵢxᵢ') (X'X)^-1`` (R plm ``vcovHC(method="white1")``)."""

    name = "robust"

    def meat(self, inputs: CovarianceInputs) -> np.ndarray:
        return self.correction.robust(inputs) * inputs.score_outer()

    def describe(self) -> str:
        return "Robust (HC1)" if self.correction.small_sample else "Robust (HC0)"
