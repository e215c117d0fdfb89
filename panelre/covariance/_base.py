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
import pandas as pd

from panelre.exceptions import InvalidParameterError
from panelre.panel import sorted_run_starts

__all__ = [
    "CovarianceInputs",
    "CovarianceEstimator",
    "DfCorrection",
    "sandwich",
    "group_score_sums",
]


@dataclass(frozen=True)
class CovarianceInputs:
    """What every covariance estimator may use, from one fitted estimator.

    Attributes
    ----------
    X : ndarray (m, k)
        Regressors as the estimator used them (transformed: demeaned, quasi-demeaned,
        differenced or averaged).
    resid : ndarray (m,)
        Residuals of the transformed regression.
    bread : ndarray (k, k)
        ``(X'X)^-1`` of the transformed regression.
    df_resid : int
        Residual degrees of freedom for the unadjusted variance ``s² = e'e/df_resid``.
    entity_codes, time_codes : ndarray (m,) or None
        Group codes of each transformed row.
    frame : DataFrame or None
        Data rows behind the transformed rows (for clustering by a column name).
    n_params : int
        Number of estimated coefficients K for small-sample factors.
    re_stata : bool
        Random effects under ``convention="stata"`` (cluster factor G/(G-1) only).
    """

    X: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    df_resid: int
    entity_codes: np.ndarray | None
    time_codes: np.ndarray | None
    frame: pd.DataFrame | None
    n_params: int
    re_stata: bool = False
    #: (dimension, raw X, group means x̄_g, θ_g) of a quasi-demeaned regression: score sums
    #: over that dimension's groups are Σ_t x e − θ_g x̄_g Σ_t e, with no transformed copy
    cluster_shortcut: tuple[str, np.ndarray, np.ndarray, np.ndarray] | None = None

    # ``X`` may be a zero-argument callable (built on first use): the one-way within
    # estimator only materialises the demeaned regressors when a covariance needs them.
    def regressors(self) -> np.ndarray:
        """The transformed regressors (computed on first use when given lazily)."""
        if callable(self.X):
            object.__setattr__(self, "X", self.X())
        return self.X

    @property
    def nobs(self) -> int:
        """Rows of the transformed regression."""
        return int(self.resid.shape[0])

    @property
    def scores(self) -> np.ndarray:
        """Per-row scores ``x_i e_i``."""
        return self.regressors() * self.resid[:, None]

    # The three reductions every covariance estimator is built from. A backend that
    # cannot hold the rows (e.g. Dask) provides these instead of ``X`` and ``resid``.
    def resid_ss(self) -> float:
        """Residual sum of squares ``e'e``."""
        return float(self.resid @ self.resid)

    def score_outer(self) -> np.ndarray:
        """``Σᵢ (xᵢeᵢ)(xᵢeᵢ)'``."""
        X = self.regressors()
        return (X.T * self.resid**2) @ X

    def score_sums(self, spec: Any) -> np.ndarray:
        """Score sums per cluster, shape (G, k): one clustering, or the intersection of
        a pair ``(a, b)`` of clusterings. Period order is kept for ``"time"``."""
        if isinstance(spec, tuple):
            a, b = (self.cluster_codes(c) for c in spec)
            codes = np.unique(a * (int(b.max()) + 1) + b, return_inverse=True)[1]
        else:
            codes = self.cluster_codes(spec)
        short = self.cluster_shortcut
        use_short = isinstance(spec, str) and short is not None and spec == short[0]
        X = short[1] if use_short else self.regressors()  # type: ignore[index]
        n_groups = int(codes.max()) + 1 if codes.size else 0
        out = np.empty((n_groups, X.shape[1]))
        buffer = np.empty(self.resid.shape[0])
        starts = None
        if codes.size and bool((codes[1:] >= codes[:-1]).all()):
            starts = sorted_run_starts(codes)
            present = codes[starts]
        for j in range(X.shape[1]):  # column by column: no n x k score matrix
            np.multiply(X[:, j], self.resid, out=buffer)
            if starts is None:
                out[:, j] = np.bincount(codes, weights=buffer, minlength=n_groups)
            else:  # rows sorted by cluster: sums over contiguous runs
                out[:, j] = 0.0
                out[present, j] = np.add.reduceat(buffer, starts)
        if use_short:
            _, _, means, theta = short  # type: ignore[misc]
            e_sums = np.bincount(codes, weights=self.resid, minlength=n_groups)
            out -= means * (theta * e_sums)[:, None]
        return out

    def cluster_codes(self, spec: Any) -> np.ndarray:
        """Integer cluster codes per transformed row for ``"entity"``, ``"time"``, a
        column name or an array with one value per row used in estimation."""
        if isinstance(spec, str) and spec in ("entity", "time"):
            codes = self.entity_codes if spec == "entity" else self.time_codes
            if codes is None:
                raise InvalidParameterError(
                    f"Clustering by {spec!r} needs {spec} identifiers for this estimator's rows; "
                    "pass time='column' when you build the panel."
                )
            return codes
        if isinstance(spec, str):
            if self.frame is None or spec not in self.frame.columns:
                raise InvalidParameterError(
                    f"The 'cluster' parameter must be 'entity', 'time', a column name or an "
                    f"array. Got {spec!r}, which is not a column of the data."
                )
            values = self.frame[spec]
        else:
            values = pd.Series(np.asarray(spec))
            if len(values) != self.nobs:
                raise InvalidParameterError(
                    "A 'cluster' array needs one value per observation used in estimation "
                    f"({self.nobs}). Got {len(values)} values."
                )
        if values.isna().any():
            raise InvalidParameterError("The cluster variable has missing values.")
        return pd.factorize(values)[0].astype(np.int64)


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


def group_score_sums(scores: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Sums of the score rows within each code: shape (G, k), by ``np.bincount``."""
    n_groups = int(codes.max()) + 1 if codes.size else 0
    out = np.empty((n_groups, scores.shape[1]))
    for j in range(scores.shape[1]):  # loop over columns, not groups
        out[:, j] = np.bincount(codes, weights=scores[:, j], minlength=n_groups)
    return out


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
