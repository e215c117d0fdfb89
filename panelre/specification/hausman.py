"""Hausman tests: the classic contrast (Stata's ``hausman``) and the regression-based
(Mundlak/Wooldridge) form that can be made cluster-robust."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from scipy import stats

from panelre._warnings import warn
from panelre.contrast import HAUSMAN_ALTERNATIVE as _ALT
from panelre.contrast import HAUSMAN_NULL as _NULL
from panelre.contrast import hausman_contrast
from panelre.covariance import CovarianceEstimator, CovarianceInputs, make_covariance
from panelre.estimators import FixedEffects, RandomEffects
from panelre.estimators._ols import least_squares
from panelre.estimators._transforms import within
from panelre.estimators.random import gls_map
from panelre.exceptions import ArgumentOrderWarning, InvalidParameterError
from panelre.results import PanelResults, TestDetails, TestResult
from panelre.specification._inputs import tested_source
from panelre.stats import Backend, PanelSource, RowMap

__all__ = ["hausman", "hausman_regression", "regression_hausman"]


def hausman(
    fe_result: PanelResults | str,
    re_result: Any,
    *,
    variant: str = "classic",
    convention: str | None = None,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    method: str = "swamy-arora",
    backend: str | Backend = "auto",
) -> TestResult:
    """Hausman test of fixed against random effects, following Stata's ``hausman``.

    Compares the coefficients the two models share (the intercept excluded):
    ``H = (b_FE − b_RE)' (V_FE − V_RE)⁺ (b_FE − b_RE)``, with the Moore–Penrose inverse
    (eigenvalues below ``k·1e-9·max`` treated as zero) and ``df = rank(V_FE − V_RE)``.

    Parameters
    ----------
    fe_result, re_result : PanelResults
        The consistent (fixed effects) and efficient (random effects) fits, on the same
        data, with unadjusted covariances. Given the other way round (an efficient fit such
        as random effects first, a consistent one such as fixed effects second), they are
        swapped with an ``ArgumentOrderWarning``. Or a formula and its data: both models
        are then fitted (entity effects; random effects by ``method``).
    variant : {"classic", "sigmamore", "sigmaless"}
        ``sigmamore`` bases both covariances on the RE estimate of σₑ² (rescales V_FE by
        (s_RE/s_FE)², with s² each model's residual mean square: the within regression's
        and the GLS regression's), ``sigmaless`` on the FE estimate (rescales V_RE); Stata
        recommends either for FE vs RE because the difference is then positive
        semi-definite.
    convention : {"stata", "plm"} or None
        ``"stata"``: Moore–Penrose inverse, df = rank, invalid flagged. ``"plm"``: R plm's
        ``phtest`` — ordinary inverse, ``|statistic|``, df = number of compared
        coefficients, no rank check (identical when the difference is positive definite).
        None (default): ``"stata"``, except against a Hausman–Taylor result, where the
        test is plm's ``phtest(within, ht)`` — the over-identification test that
        ``HausmanTaylorResults.overid_test`` reports (one path, one number).
    entity, time, method, backend
        With a formula: the identifiers, the random-effects method and the backend.

    Returns
    -------
    TestResult
        ``details`` holds ``rank``, ``positive_definite``, ``eigenvalues`` and the compared
        names. A negative statistic or a difference that is not positive semi-definite is
        returned with ``valid=False``, a ``reason`` and a warning; it is never ``abs()``-ed.

    Raises
    ------
    IncompatibleResultsError
        Results on different data or weights, robust covariances, or no shared
        coefficients.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> re = pr.random_effects("inv ~ value + capital", g, entity="firm", time="year")
    >>> round(pr.hausman(fe, re).stat, 4)
    2.3304
    """
    if not isinstance(fe_result, str) and (
        entity is not None or time is not None or backend != "auto" or method != "swamy-arora"
    ):
        raise InvalidParameterError(
            "hausman() takes 'entity', 'time', 'method' and 'backend' with a formula; fitted "
            "results already carry them."
        )
    if isinstance(fe_result, str):
        source = tested_source(
            fe_result, re_result, "hausman", entity=entity, time=time, backend=backend
        )
        fe_result = FixedEffects(source).fit()
        re_result = RandomEffects(source, method=method).fit()
    consistent, efficient = fe_result, re_result
    if _is_efficient(consistent) and _is_consistent(efficient):
        warn(
            f"hausman() takes the consistent model first and the efficient one second; it was "
            f"given ({consistent.model.title}, {efficient.model.title}), so the test compares "
            f"{efficient.model.title} (consistent) against {consistent.model.title} "
            "(efficient), as if called the other way round.",
            ArgumentOrderWarning,
        )
        consistent, efficient = efficient, consistent
    if convention is None:
        convention = "plm" if getattr(efficient, "estimator", "") == "hausman_taylor" else "stata"
    return hausman_contrast(consistent, efficient, variant=variant, convention=convention)


#: Estimators that stay consistent when the effects are correlated with the regressors, and
#: those that are efficient (but inconsistent then) under the null of the Hausman test.
_CONSISTENT = frozenset({"fixed_effects", "first_difference"})
_EFFICIENT = frozenset({"random_effects", "pooled_ols", "hausman_taylor"})


def _is_consistent(result: Any) -> bool:
    return getattr(result, "estimator", None) in _CONSISTENT


def _is_efficient(result: Any) -> bool:
    return getattr(result, "estimator", None) in _EFFICIENT


def _undefined(reason: str) -> TestResult:
    """A regression-based Hausman test that cannot be computed, with the reason."""
    return TestResult(
        name="Regression-based Hausman test",
        stat=float("nan"),
        df=0,
        pvalue=float("nan"),
        null=_NULL,
        alternative=_ALT,
        valid=False,
        reason=reason,
    )


def hausman_regression(
    formula: str | PanelResults,
    data: Any = None,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    effects: str = "entity",
    method: str = "swamy-arora",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
) -> TestResult:
    """Regression-based (Mundlak/Wooldridge) Hausman test, R plm's ``phtest(method="aux")``.

    Regresses the RE quasi-demeaned response on the RE quasi-demeaned regressors and the
    within-demeaned time-varying regressors, and tests that the latter are jointly zero
    with a Wald test (df = number of time-varying regressors). With ``cov="cluster"``
    (by entity) it is the cluster-robust test Stata users get from ``xtoverid`` or
    ``estat mundlak``. Random effects are not defined with observation weights here, so
    with ``weights`` the result has ``valid=False`` and the reason.

    Parameters
    ----------
    formula : str or PanelResults
        The model, or a fitted panel result whose data and formula are used.
    data : DataFrame, PanelData or dask DataFrame, optional
        The panel (not needed with a fitted result).
    entity, time : hashable, optional
        Identifier columns.
    cov : {"unadjusted", "robust", "cluster", "driscoll-kraay"}
        Covariance of the Wald test; ``"cluster"`` (by entity) is the robust test.
    effects : {"entity", "time", "twoway"}
        The random effects of the auxiliary regression.
    method : str, default "swamy-arora"
        Their variance-component estimator.
    backend : {"auto", "numpy", "dask", "cupy", "torch"}
        Where the statistics are computed.
    weights, weight_type
        Observation weights (the result is then not valid, as above).
    cluster, small_sample, bandwidth
        Options of the covariance, as in ``pr.pooled_ols``.

    Returns
    -------
    TestResult
        χ² with df = number of time-varying regressors; ``valid=False`` with a ``reason``
        when the test is undefined.

    Raises
    ------
    InvalidParameterError
        An unknown option or option value.

    Examples
    --------
    >>> import panelre as pr
    >>> t = pr.hausman_regression("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                           entity="firm", time="year", cov="cluster")
    >>> round(t.stat, 4), t.df
    (8.2998, 2)
    """
    covariance = make_covariance(
        cov, cluster=cluster, small_sample=small_sample, bandwidth=bandwidth
    )
    source = tested_source(
        formula, data, "hausman_regression", entity=entity, time=time, backend=backend,
        weights=weights, weight_type=weight_type,
    )  # fmt: skip
    return regression_hausman(source, covariance, effects=effects, method=method)


def regression_hausman(
    source: PanelSource,
    covariance: CovarianceEstimator,
    *,
    effects: str = "entity",
    method: str = "swamy-arora",
) -> TestResult:
    """The regression-based Hausman test on a bound source (see ``hausman_regression``)."""
    if source.weight_type is not None:
        return _undefined(
            "The regression-based Hausman test quasi-demeans by the random-effects θ, and "
            "random effects are not defined with observation weights (see the weights page "
            "of the docs). Compare weighted fixed effects with f_test_effects()."
        )
    model = RandomEffects(source, effects=effects, method=method)
    st = source.stats
    p = st.width
    W, within_gram = within(source, model.effects)
    within_ss = np.diag(within_gram)
    raw = np.diag(st.gram)
    varying = [
        j
        for j in source.slope_positions()
        if within_ss[j] > 1e-10 * max(raw[j], np.finfo(float).tiny)
    ]
    if not varying:
        return _undefined(
            "The model has no time-varying regressors, so the Hausman test is undefined "
            "(fixed and random effects estimate nothing in common)."
        )
    gls, _ = gls_map(st, model._components(), model.effects)
    re_fit = least_squares(source, gls, range(1, p), source.x_names, warn=False)
    kept = [j for j, k in zip(range(1, p), re_fit.keep) if k]
    # As R plm, the auxiliary regression has a plain intercept (not the quasi-demeaned
    # 1 − θᵢ); on balanced panels the two are the same regression.
    columns = [
        RowMap.select(p, [j]) if source.x_names[j - 1] == "Intercept" else gls.columns([j])
        for j in kept
    ]
    names = [source.x_names[j - 1] + ".tilde" for j in varying]
    aux_columns = RowMap.hstack([gls.columns([0]), *columns, W.columns(varying)])
    aux = least_squares(
        source, aux_columns, range(1, aux_columns.width), [*re_fit.names, *names], warn=False
    )
    k = len(aux.params)
    inputs = CovarianceInputs(
        scores=source.scores(aux.regressors, aux.resid),
        bread=aux.bread,
        df_resid=st.n - k,
        n_params=k,
        ssr=aux.reliable_ssr,
    )
    V = covariance.cov(inputs)
    idx = [aux.names.index(n) for n in names if n in aux.names]
    if not idx:
        return _undefined(
            "The within-demeaned regressors are collinear with the quasi-demeaned ones "
            "(no between-entity variation, e.g. the same design for every entity): fixed and "
            "random effects give the same slopes and the test is undefined."
        )
    b = aux.params[idx]
    stat = float(b @ np.linalg.solve(V[np.ix_(idx, idx)], b))
    df = len(idx)
    return TestResult(
        name=f"Regression-based Hausman test ({covariance.describe()})",
        stat=stat,
        df=df,
        pvalue=float(stats.chi2.sf(stat, df)),
        null=_NULL,
        alternative=_ALT,
        distribution="chi2",
        details=TestDetails(names, coefficients=b),
    )
