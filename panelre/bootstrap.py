"""Wild cluster bootstrap t-tests and confidence intervals (``pr.wild_bootstrap``), as
Stata's ``boottest`` and R's ``fwildclusterboot`` (Roodman, MacKinnon, Nielsen and Webb
2019, "Fast and wild", Stata Journal 19(1)).

Every bootstrap sample is evaluated from per-cluster sufficient statistics: with the
bread M = (X'X)⁻¹, the cross-products C_g = X_g'X_g and the score sums s_g = X_g'u_g of
the (restricted or unrestricted) residuals u, a draw v (one weight per cluster) gives

    β* − β₀ = M S'v,     X_g'u*_g = v_g s_g − C_g M S'v,

so the bootstrap coefficient and its cluster-robust variance are linear and quadratic
forms in v: no regression is refitted and no row is touched after the statistics. The
restricted residuals are linear in the null value r, so the confidence interval (the
null values the test does not reject) is found by bisection on the same draws.

The weights are drawn with numpy's ``Generator`` (Rademacher ±1; Webb's six points
±√(1/2), ±1, ±√(3/2)); with Rademacher weights and 2^G ≤ B every one of the 2^G sign
vectors is enumerated instead, as boottest does, so the result is exact.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from panelre.exceptions import InvalidParameterError
from panelre.results import BootstrapDetails, PanelResults, TestResult

__all__ = ["wild_bootstrap"]

WEIGHTS = ("rademacher", "webb")
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass(frozen=True)
class _ClusterStatistics:
    bread: np.ndarray  # M (k, k)
    params: np.ndarray  # β̂ (k,)
    sums: np.ndarray  # X_g'û_g (G, k), unrestricted residuals
    gram: np.ndarray  # X_g'X_g (G, k, k)
    factor: float  # the small-sample factor of the CR1 variance


def _draws(
    weights: str, n_clusters: int, B: int, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """(G, B) weights, and whether they enumerate every weight vector (when there are at
    most B of them: 2^G Rademacher, 6^G Webb)."""
    points = np.array([-1.0, 1.0]) if weights == "rademacher" else _WEBB
    if len(points) ** n_clusters <= B:
        return np.array(list(itertools.product(points, repeat=n_clusters))).T, True
    return rng.choice(points, size=(n_clusters, B)), False


def _t_statistics(
    stats: _ClusterStatistics, j: int, residual_sums: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """Bootstrap numerators ``(M S'v)_j`` and CR1 standard errors for the draws v (G, B)."""
    M = stats.bread
    m = M[:, j]
    a = residual_sums @ m  # (G,): s_g'M e_j
    # K[g, h] = m' C_g M s_h: the change of cluster g's score from draw weight h
    K = np.einsum("i,gik,kl,hl->gh", m, stats.gram, M, residual_sums)
    numerator = a @ v  # (B,)
    terms = a[:, None] * v - K @ v  # (G, B)
    se = np.sqrt(stats.factor * np.sum(terms**2, axis=0))
    return numerator / se


def _pvalues(t: float, t_star: np.ndarray) -> tuple[float, float]:
    """Symmetric and equal-tail p-values with boottest's conventions: the share of
    bootstrap t beyond the original, ties (equal to 1e-9 relative) not counted."""
    tol = 1e-9 * max(1.0, abs(t))
    symmetric = float(np.mean(np.abs(t_star) > abs(t) + tol))
    below, above = np.mean(t_star < t - tol), np.mean(t_star > t + tol)
    return symmetric, float(2 * min(below, above))


def wild_bootstrap(
    result: PanelResults,
    param: str,
    *,
    B: int = 9999,
    weights: Literal["rademacher", "webb"] = "rademacher",
    impose_null: bool = True,
    null_value: float = 0.0,
    cluster: Any = "entity",
    level: float = 0.95,
    seed: int | None = None,
) -> TestResult:
    """Wild cluster bootstrap test of ``param = null_value`` with its confidence interval
    (Stata ``boottest``, R ``fwildclusterboot::boottest``).

    Parameters
    ----------
    result : PanelResults
        A pooled OLS, first-difference, between or fixed-effects fit (the effects must
        nest within the clusters).
    param : str
        The coefficient tested.
    B : int, default 9999
        Bootstrap samples. When 2^G ≤ B (Rademacher) or 6^G ≤ B (Webb), every weight
        vector is used once instead (exact).
    weights : {"rademacher", "webb"}
        Rademacher (±1) or Webb's six-point weights (better with fewer than ~12 clusters).
    impose_null : bool, default True
        WCR (residuals of the fit under the null, recommended) or WCU.
    null_value : float, default 0
    cluster : "entity", "time", column name or array, default "entity"
        The bootstrap (and covariance) clusters.
    level : float, default 0.95
        Level of the confidence interval (inverting the test over null values).
    seed : int, optional
        Seed of the weights (the result does not depend on it when enumerated).

    Returns
    -------
    TestResult
        ``stat`` is the t statistic with Stata's CR1 cluster-robust standard error,
        ``pvalue`` the symmetric bootstrap p-value; ``details`` a ``BootstrapDetails``
        with the interval ``ci``, the equal-tail p-value and the draws.

    Raises
    ------
    InvalidParameterError
        An unknown coefficient or weight type, B < 1, fewer than 2 clusters, a fit the
        bootstrap does not cover (random effects, weights, effects not nested in the
        clusters).

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> test = pr.wild_bootstrap(fe, "value")  # 10 clusters: all 1,024 sign vectors
    >>> test.details.enumerated, round(test.pvalue, 4)
    (True, 0.002)
    """
    if param not in result.params.index:
        from panelre._validation import closest_names

        names = list(result.params.index)
        raise InvalidParameterError(
            f"Unknown coefficient {param!r}{closest_names(param, names)}. "
            f"The coefficients are: {', '.join(names)}."
        )
    if weights not in WEIGHTS:
        raise InvalidParameterError(
            f"weights must be one of {', '.join(WEIGHTS)}. Got {weights!r}."
        )
    if int(B) < 1:
        raise InvalidParameterError(f"B must be a positive number of draws. Got {B!r}.")
    clustered = result.with_cov(cov="cluster", cluster=cluster, small_sample=True)
    inputs = result.covariance_inputs()
    if inputs.cluster_gram is None:
        raise InvalidParameterError(
            "pr.wild_bootstrap covers pooled OLS, between, first differences and fixed "
            f"effects (least squares on their own rows); not the {result.estimator} fit given."
        )
    if inputs.weighted:
        raise InvalidParameterError(
            "pr.wild_bootstrap does not support observation weights; use cov='cluster'."
        )
    for dimension, _ in inputs.absorbed_levels:
        if not inputs.nests_in(dimension, cluster):
            raise InvalidParameterError(
                f"pr.wild_bootstrap needs the absorbed {dimension} effects to nest within the "
                f"clusters (cluster={cluster!r}); add the periods as regressors instead "
                "(e.g. '+ C(year)') for two-way effects clustered by entity."
            )
    sums = inputs.score_sums(cluster)
    n_clusters = int(sums.shape[0])
    if n_clusters < 2:
        raise InvalidParameterError(
            f"The wild cluster bootstrap needs at least 2 clusters; got {n_clusters}."
        )
    j = list(result.params.index).index(param)
    estimate = float(result.params.iloc[j])
    se = float(clustered.std_errors.iloc[j])
    factor = se**2 / float(
        (inputs.bread @ (sums.T @ sums) @ inputs.bread)[j, j]
    )  # the CR1 factor of the reported covariance
    stats = _ClusterStatistics(
        inputs.bread, result.params.to_numpy(), sums, inputs.cluster_gram(cluster), factor
    )
    v, enumerated = _draws(weights, n_clusters, int(B), np.random.default_rng(seed))

    def residual_sums(r: float) -> np.ndarray:
        if not impose_null:
            return stats.sums
        m = stats.bread[:, j]
        shift = m * (estimate - r) / m[j]  # β̂ − β̃ of the fit restricted to β_j = r
        return stats.sums + stats.gram @ shift

    def pvalue(r: float) -> tuple[float, float, float]:
        t = (estimate - r) / se
        t_star = _t_statistics(stats, j, residual_sums(r), v)
        return (t, *_pvalues(t, t_star))

    t, p_sym, p_eq = pvalue(null_value)
    ci = _invert(lambda r: pvalue(r)[1], estimate, se, 1 - level)
    details = BootstrapDetails(
        param=param,
        null_value=float(null_value),
        estimate=estimate,
        ci=ci,
        level=level,
        draws=int(v.shape[1]),
        enumerated=enumerated,
        weights=weights,
        impose_null=impose_null,
        n_clusters=n_clusters,
        pvalue_equal_tail=p_eq,
    )
    kind = "WCR" if impose_null else "WCU"
    return TestResult(
        name=f"Wild cluster bootstrap ({kind}, {weights})",
        stat=float(t),
        df=n_clusters - 1,
        pvalue=p_sym,
        null=f"{param} = {null_value:g}",
        alternative=f"{param} != {null_value:g}",
        distribution="bootstrap",
        details=details,
    )


def _invert(p_of: Any, estimate: float, se: float, alpha: float) -> tuple[float, float]:
    """The ends of {r : p(r) ≥ alpha} around the estimate, by bracketing and bisection."""

    def end(direction: float) -> float:
        inside, step = estimate, 2.0 * se
        outside = estimate + direction * step
        for _ in range(60):  # widen until the test rejects
            if p_of(outside) < alpha:
                break
            inside, step = outside, 2 * step
            outside = estimate + direction * step
        else:
            return float(direction * np.inf)
        for _ in range(60):  # bisect to machine precision of r
            middle = (inside + outside) / 2
            if middle in (inside, outside):
                break
            if p_of(middle) >= alpha:
                inside = middle
            else:
                outside = middle
        return (inside + outside) / 2

    return end(-1.0), end(1.0)
