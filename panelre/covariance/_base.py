"""Covariance estimators as configured strategy objects: each computes only a *meat*.

``sandwich(bread, meat)`` assembles ``bread @ meat @ bread``; small-sample choices are
a frozen ``DfCorrection`` value.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from panelre.exceptions import InvalidParameterError
from panelre.stats import ScoreReducer

__all__ = [
    "WorkingRows",
    "CovarianceInputs",
    "CovarianceEstimator",
    "DfCorrection",
    "ParameterCovariance",
    "sandwich",
]


@dataclass(frozen=True)
class WorkingRows:
    """The untransformed rows of a one-way random-effects fit, for CR2 with the
    random-effects working covariance ``Φᵢ = I + (σ²ᵤ/σ²ₑ)11'`` (R clubSandwich).

    Attributes
    ----------
    regressors : ndarray (n, k)
    resid : ndarray (n,)
        ``y − Xb`` in levels.
    groups : ndarray of int (n,)
        The entity of each row, 0..N-1.
    ratio : float
        σ²ᵤ/σ²ₑ.
    """

    regressors: np.ndarray
    resid: np.ndarray
    groups: np.ndarray
    ratio: float


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
        Number of estimated coefficients.
    ssr : float or None
        ``e'e`` when the estimator knows it from cross-products (else the rows give it).
    absorbed_levels : tuple of (str, int)
        The fixed effects the estimator absorbed, as ``(dimension, number of levels)``
        (``("entity", N)``, ``("time", T)``); empty for estimators without absorbed effects.
        Stata counts an absorbed factor in the cluster factor's K (``levels − 1``) unless it
        nests within the clusters, and adds the constant it reports as ``_cons``.
    constant_in_params : bool
        The estimator reports that constant among its coefficients (fixed effects with
        ``constant=True``), so it is already in ``n_params``.
    likelihood_cov : ndarray (k, k) or None
        The inverse observed information of a likelihood estimator for its coefficients
        (random effects by ML under ``convention="stata"``, as ``xtreg, mle``); the
        unadjusted covariance then is this matrix.
    cluster_gram : callable or None
        ``cluster -> (G, k, k)``: the regressors' cross-products ``X_g'X_g`` per cluster,
        in the order of ``score_sums`` (the bias-reduced CR2 covariance needs them); None
        when the estimator's regression does not provide them, and then
        ``cluster_gram_unavailable`` says why.
    working_rows : callable or None
        For one-way random effects: the untransformed rows and the variance ratio
        (CR2 with the working covariance of the model); None otherwise.
    weighted : bool
        The regression has observation weights.
    """

    scores: ScoreReducer
    bread: np.ndarray
    df_resid: int
    n_params: int
    ssr: float | None = None
    absorbed_levels: tuple[tuple[str, int], ...] = ()
    constant_in_params: bool = False
    likelihood_cov: np.ndarray | None = None
    cluster_gram: Callable[[Any], np.ndarray] | None = None
    cluster_gram_unavailable: str = ""
    working_rows: Callable[[], WorkingRows] | None = None
    weighted: bool = False

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

    def nests_in(self, dimension: str, cluster: Any) -> bool:
        """True when every level of the absorbed ``dimension`` lies within one cluster."""
        if isinstance(cluster, str) and cluster in ("entity", "time"):
            return cluster == dimension
        if isinstance(cluster, tuple):  # an intersection of two clusterings
            return False
        levels = dict(self.absorbed_levels)[dimension]
        return int(self.score_sums((dimension, cluster)).shape[0]) == levels

    def cluster_k(self, cluster: Any) -> int:
        """K of Stata's cluster factor: the coefficients, plus for absorbed effects the
        ``_cons`` Stata reports and ``levels − 1`` for each factor not nested in the
        clusters (Stata ``xtreg, fe`` / ``areg``, ``reghdfe``)."""
        if not self.absorbed_levels:
            return self.n_params
        k = self.n_params + (0 if self.constant_in_params else 1)
        for dimension, levels in self.absorbed_levels:
            if not self.nests_in(dimension, cluster):
                k += levels - 1
        return k


@dataclass(frozen=True)
class DfCorrection:
    """Small-sample factors.

    ``small_sample=False`` gives the plain (HC0-type) estimators of R plm. ``True`` (or
    ``"stata"``) gives Stata's: ``G/(G-1)·(N-1)/(N-K)`` for clusters, for every estimator
    (random effects included), with K as ``CovarianceInputs.cluster_k`` (the ``_cons``
    Stata reports for fixed effects counts), and t(G − 1) / F(q, G − 1) inference;
    ``N/(N-K)`` for heteroskedasticity-robust. ``"plm"`` gives R plm's ``type="sss"``: the
    same cluster factor with K the coefficients of the estimated (transformed) regression,
    and t(df_resid) inference.
    """

    small_sample: bool = False
    style: str = "stata"

    @classmethod
    def from_option(cls, small_sample: Any) -> DfCorrection:
        """Parse the ``small_sample`` option: False, True, ``"stata"`` or ``"plm"``."""
        if small_sample is None or small_sample is False:
            return cls(False)
        if small_sample is True:
            return cls(True, "stata")
        if isinstance(small_sample, str) and small_sample.lower() in ("stata", "plm"):
            return cls(True, small_sample.lower())
        raise InvalidParameterError(
            "The 'small_sample' parameter must be False, True (Stata's factors), 'stata' or "
            f"'plm' (R plm's type='sss'). Got {small_sample!r}."
        )

    @property
    def option(self) -> bool | str:
        """The value of ``small_sample`` that recreates this correction."""
        if not self.small_sample:
            return False
        return True if self.style == "stata" else self.style

    @property
    def stata_inference(self) -> bool:
        """True when clustered inference uses t(G − 1) / F(q, G − 1), as Stata."""
        return self.small_sample and self.style == "stata"

    def cluster(self, n_groups: int, inputs: CovarianceInputs, cluster: Any) -> float:
        """Factor for a clustered meat with ``n_groups`` clusters of the clustering
        ``cluster``."""
        if not self.small_sample:
            return 1.0
        g = n_groups / (n_groups - 1) if n_groups > 1 else 1.0
        k = inputs.cluster_k(cluster) if self.style == "stata" else inputs.n_params
        n = inputs.nobs
        return g * (n - 1) / (n - k)

    def robust(self, inputs: CovarianceInputs) -> float:
        """Factor for the heteroskedasticity-robust meat."""
        if not self.small_sample:
            return 1.0
        return inputs.nobs / (inputs.nobs - inputs.n_params)


@dataclass(frozen=True)
class ParameterCovariance:
    """A parameter covariance matrix and the reference distribution it implies.

    Attributes
    ----------
    matrix : ndarray (k, k)
    inference_df : int or None
        Denominator degrees of freedom Stata uses with this covariance (G − 1 for clustered
        covariances with ``small_sample=True``; the smallest G of a two-way clustering);
        None: the estimator's own (``df_resid`` for t-based estimators).
    coefficient_df : ndarray (k,) or None
        Degrees of freedom of each coefficient's t statistic when they differ by
        coefficient (the Satterthwaite approximation of CR2); None: ``inference_df``.
    """

    matrix: np.ndarray
    inference_df: int | None = None
    coefficient_df: np.ndarray | None = None


def sandwich(bread: np.ndarray, meat: np.ndarray) -> np.ndarray:
    """``bread @ meat @ bread``, symmetrised."""
    v = bread @ meat @ bread
    return (v + v.T) / 2


class CovarianceEstimator(ABC):
    """A configured covariance estimator; subclasses implement ``meat``."""

    #: Name used in summaries and in the registry.
    name: str = ""

    def __init__(self, *, small_sample: bool | str = False) -> None:
        self.correction = DfCorrection.from_option(small_sample)

    @abstractmethod
    def meat(self, inputs: CovarianceInputs) -> np.ndarray:
        """The middle matrix of the sandwich."""

    def cov(self, inputs: CovarianceInputs) -> np.ndarray:
        """The parameter covariance matrix."""
        return sandwich(inputs.bread, self.meat(inputs))

    def compute(self, inputs: CovarianceInputs) -> ParameterCovariance:
        """The covariance matrix with its reference distribution's degrees of freedom."""
        return ParameterCovariance(self.cov(inputs))

    def describe(self) -> str:
        """Short label for summaries."""
        return self.name

    def options(self) -> dict[str, Any]:
        """The options that recreate this estimator (for ``with_cov``)."""
        return {"small_sample": self.correction.option}
