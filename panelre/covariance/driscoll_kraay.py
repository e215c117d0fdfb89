"""Driscoll–Kraay covariance, robust to cross-sectional and serial correlation."""

from __future__ import annotations

from typing import Any

import numpy as np

from panelre.covariance._base import CovarianceEstimator, CovarianceInputs
from panelre.exceptions import InvalidParameterError

__all__ = ["DriscollKraay"]


class DriscollKraay(CovarianceEstimator):
    """Driscoll–Kraay (1998) covariance, as R plm ``vcovSCC``.

    Scores are summed over entities within each period, ``h_t = Σᵢ xᵢₜ eᵢₜ``; the meat is
    ``Γ₀ + Σⱼ wⱼ (Γⱼ + Γⱼ')`` with ``Γⱼ = Σₜ h_t h_{t-j}'`` and Bartlett weights
    ``wⱼ = 1 - j/(L+1)``; by default ``L = floor(T^(1/4))``.
    """

    name = "driscoll-kraay"

    def __init__(self, *, bandwidth: int | None = None, small_sample: bool | str = False) -> None:
        super().__init__(small_sample=small_sample)
        if bandwidth is not None and (int(bandwidth) != bandwidth or bandwidth < 0):
            raise InvalidParameterError(
                "The 'bandwidth' parameter must be a non-negative integer or None. "
                f"Got {bandwidth!r}."
            )
        self.bandwidth = None if bandwidth is None else int(bandwidth)

    def lags(self, n_periods: int) -> int:
        """The bandwidth L used for ``n_periods`` periods."""
        return int(np.floor(n_periods**0.25)) if self.bandwidth is None else self.bandwidth

    def meat(self, inputs: CovarianceInputs) -> np.ndarray:
        try:
            h = inputs.score_sums("time")  # (T, k) in time order
        except InvalidParameterError as exc:
            if "time" not in str(exc):
                raise
            raise InvalidParameterError(
                "Driscoll–Kraay standard errors need a time identifier: pass time='column'."
            ) from None
        lags = self.lags(h.shape[0])
        meat = h.T @ h
        for j in range(1, min(lags, h.shape[0] - 1) + 1):  # loop over lags
            gamma = h[j:].T @ h[:-j]
            meat += (1 - j / (lags + 1)) * (gamma + gamma.T)
        if self.correction.small_sample:
            t = h.shape[0]
            meat *= t / (t - 1) * (inputs.nobs - 1) / (inputs.nobs - inputs.n_params)
        return meat

    def describe(self) -> str:
        bw = "auto" if self.bandwidth is None else str(self.bandwidth)
        return f"Driscoll-Kraay (bandwidth {bw})"

    def options(self) -> dict[str, Any]:
        opts = super().options()
        opts["bandwidth"] = self.bandwidth
        return opts
