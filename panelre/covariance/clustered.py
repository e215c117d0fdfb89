"""Cluster-robust covariance, one-way or two-way (Cameron–Gelbach–Miller)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from panelre.covariance._base import CovarianceEstimator, CovarianceInputs
from panelre.exceptions import InvalidParameterError

__all__ = ["Clustered"]


class Clustered(CovarianceEstimator):
    """Cluster-robust covariance.

    Parameters
    ----------
    cluster : "entity", "time", column name, array, or a list of two of these
        Two clusterings give the two-way estimator ``V₁ + V₂ − V₁∩₂`` (R plm ``vcovDC``).
    small_sample : bool
        Apply Stata's ``G/(G-1)·(N-1)/(N-K)`` factor (each term with its own G).
    """

    name = "cluster"

    def __init__(self, *, cluster: Any = "entity", small_sample: bool = False) -> None:
        super().__init__(small_sample=small_sample)
        if isinstance(cluster, (list, tuple)):
            if len(cluster) not in (1, 2):
                raise InvalidParameterError(
                    "The 'cluster' parameter takes one clustering or a list of two. "
                    f"Got a list of {len(cluster)}."
                )
            self.clusters: Sequence[Any] = list(cluster)
        else:
            self.clusters = [cluster]

    def _one_way(self, inputs: CovarianceInputs, spec: Any) -> np.ndarray:
        if isinstance(spec, tuple) and set(spec) == {"entity", "time"}:
            # each (entity, period) pair is one row: its score sums are the row scores
            return self.correction.cluster(inputs.nobs, inputs) * inputs.score_outer()
        sums = inputs.score_sums(spec)
        return self.correction.cluster(sums.shape[0], inputs) * (sums.T @ sums)

    def meat(self, inputs: CovarianceInputs) -> np.ndarray:
        if len(self.clusters) == 1:
            return self._one_way(inputs, self.clusters[0])
        a, b = self.clusters
        return self._one_way(inputs, a) + self._one_way(inputs, b) - self._one_way(inputs, (a, b))

    def n_clusters(self, inputs: CovarianceInputs) -> Sequence[int]:
        return [inputs.score_sums(c).shape[0] for c in self.clusters]

    def describe(self) -> str:
        names = [c if isinstance(c, str) else "array" for c in self.clusters]
        return "Clustered (" + " & ".join(names) + ")"

    def options(self) -> dict[str, Any]:
        opts = super().options()
        opts["cluster"] = self.clusters if len(self.clusters) > 1 else self.clusters[0]
        return opts
