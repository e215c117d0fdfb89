"""Covariance estimators as configured strategy objects: each computes only a *meat*.

``sandwich(bread, meat)`` assembles ``bread @ meat @ bread``; small-sample choices are
a frozen ``DfCorrection`` value.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from panelre.stats import ScoreReducer

__all__ = [
    "CovarianceInputs",
    "CovarianceEstimator",
    "DfCorrection",
    "sandwich",
]


@dataclass(frozen=True)
class CovarianceInputs:
    """What every covariance estimator may use, from one fitted estimator.

    Attributes
    ----------
    scores : ScoreReducer
        The regression's row reductions (``resid_ss``, ``score_outer``, ``score_sums``),
        computed by the backend where the rows are.
    bread : ndarray (k, k)
        ``(X'X)^-1`` of the (transformed) regression.
    df_resid : int
        Residual degrees of freedom for the unadjusted variance ``s² = e'e/df_resid``.
    n_params : int
        Number of estimated coefficients K for small-sample factors.
    re_stata : bool
        Random effects under ``convention="stata"`` (cluster factor G/(G-1) only).
    ssr : float or None
        ``e'e`` when the estimator knows it from cross-products (else the rows give it).
    """

    scores: ScoreReducer
    bread: np.ndarray
    df_resid: int
    n_params: int
    re_stata: bool = False
    ssr: float | None = None

    @property
    def nobs(self) -> int:
        """Rows of the (transformed) regression."""
        return int(self.scores.nobs)

    def resid_ss(self) -> float:
        """Residual sum of squares ``e'e``."""
        return float(self.scores.resid_ss()) if self.ssr is None else float(self.ssr)

    def score_outer(self) -> np.ndarray:
        """``Σᵢ (xᵢeᵢ)(xᵢeᵢ)'``."""
        return self.scores.score_outer()

    def score_sums(self, spec: Any) -> np.ndarray:
        """Score sums per cluster (G, k): one clustering, or the intersection of a pair
        ``(a, b)``; periods in time order for ``"time"``."""
        return self.scores.score_sums(spec)


@dataclass(frozen=True)
class DfCorrection:
    """Small-sample factors.

    ``small_sample=False`` gives the plain (HC0-type) estimators of R plm; ``True`` gives
    Stata's factors: ``G/(G-1)·(N-1)/(N-K)`` for clusters (only ``G/(G-1)`` for random
    effects under ``convention="stata"``), ``N/(N-K)`` for heteroskedasticity-robust.
    """

    small_sample: bool = False

    def cluster(self, n_groups: int, inputs: CovarianceInputs) -> float:
        """Factor for a clustered meat with ``n_groups`` clusters."""
        if not self.small_sample:
            return 1.0
        g = n_groups / (n_groups - 1) if n_groups > 1 else 1.0
        if inputs.re_stata:
            return g
        n, k = inputs.nobs, inputs.n_params
        return g * (n - 1) / (n - k)

    def robust(self, inputs: CovarianceInputs) -> float:
        """Factor for the heteroskedasticity-robust meat."""
        if not self.small_sample:
            return 1.0
        return inputs.nobs / (inputs.nobs - inputs.n_params)


def sandwich(bread: np.ndarray, meat: np.ndarray) -> np.ndarray:
    """``bread @ meat @ bread``, symmetrised."""
    v = bread @ meat @ bread
    return (v + v.T) / 2


class CovarianceEstimator(ABC):
    """A configured covariance estimator; subclasses implement ``meat``."""

    #: Name used in summaries and in the registry.
    name: str = ""

    def __init__(self, *, small_sample: bool = False) -> None:
        self.correction = DfCorrection(bool(small_sample))

    @abstractmethod
    def meat(self, inputs: CovarianceInputs) -> np.ndarray:
        """The middle matrix of the sandwich."""

    def cov(self, inputs: CovarianceInputs) -> np.ndarray:
        """The parameter covariance matrix."""
        return sandwich(inputs.bread, self.meat(inputs))

    def describe(self) -> str:
        """Short label for summaries."""
        return self.name

    def options(self) -> dict[str, Any]:
        """The options that recreate this estimator (for ``with_cov``)."""
        return {"small_sample": self.correction.small_sample}

    def n_clusters(self, inputs: CovarianceInputs) -> Sequence[int]:
        """Cluster counts (empty for non-clustered estimators)."""
        return ()
