"""Cluster-robust covariance, one-way or two-way (Cameron–Gelbach–Miller)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from panelre.covariance._base import (
    CovarianceEstimator,
    CovarianceInputs,
    ParameterCovariance,
    sandwich,
)
from panelre.exceptions import InvalidParameterError

__all__ = ["Clustered"]


class Clustered(CovarianceEstimator):
    """Cluster-robust covariance.

    Parameters
    ----------
    cluster : "entity", "time", column name, array, or a list of two of these
        Two clusterings give the two-way estimator ``V₁ + V₂ − V₁∩₂`` (R plm ``vcovDC``).
    small_sample : bool or {"stata", "plm"}
        True (``"stata"``): Stata's ``G/(G-1)·(N-1)/(N-K)`` factor (each term with its own
        G), and t statistics referred to t(G − 1), Wald tests to F(q, G − 1) (the smallest
        G of a two-way clustering, as ``reghdfe``/``cgmreg``). ``"plm"``: R plm's
        ``type="sss"`` (K without the constant fixed effects absorb; t(df_resid)).
    """

    name = "cluster"

    def __init__(self, *, cluster: Any = "entity", small_sample: bool | str = False) -> None:
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

    def _one_way(self, inputs: CovarianceInputs, spec: Any) -> tuple[int, np.ndarray]:
        if isinstance(spec, tuple) and set(spec) == {"entity", "time"}:
            # each (entity, period) pair is one row: its score sums are the row scores
            n = inputs.nobs
            return n, self.correction.cluster(n, inputs, spec) * inputs.score_outer()
        sums = inputs.score_sums(spec)
        g = int(sums.shape[0])
        return g, self.correction.cluster(g, inputs, spec) * (sums.T @ sums)

    def _meat_and_counts(self, inputs: CovarianceInputs) -> tuple[np.ndarray, list[int]]:
        if len(self.clusters) == 1:
            g, meat = self._one_way(inputs, self.clusters[0])
            return meat, [g]
        a, b = self.clusters
        (ga, va), (gb, vb) = self._one_way(inputs, a), self._one_way(inputs, b)
        return va + vb - self._one_way(inputs, (a, b))[1], [ga, gb]

    def meat(self, inputs: CovarianceInputs) -> np.ndarray:
        return self._meat_and_counts(inputs)[0]

    def compute(self, inputs: CovarianceInputs) -> ParameterCovariance:
        meat, counts = self._meat_and_counts(inputs)
        df = min(counts) - 1 if self.correction.stata_inference else None
        return ParameterCovariance(sandwich(inputs.bread, meat), df)

    def describe(self) -> str:
        names = [c if isinstance(c, str) else "array" for c in self.clusters]
        return "Clustered (" + " & ".join(names) + ")"

    def options(self) -> dict[str, Any]:
        opts = super().options()
        opts["cluster"] = self.clusters if len(self.clusters) > 1 else self.clusters[0]
        return opts
