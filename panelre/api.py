"""Function shortcuts to the estimator classes (the public API of API.md).

Every panel estimator takes the same keywords for the data (``entity``, ``time``,
``backend``), the observation weights (``weights``, ``weight_type``) and the covariance
(``cov``, ``cluster``, ``small_sample``, ``bandwidth``); ``tests/test_signatures.py``
keeps them identical. Random effects, CRE and Hausman–Taylor raise a clear error with
weights (see the Weights page of the docs).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from panelre._validation import closest_names
from panelre.estimators import Between, FirstDifference, FixedEffects, PooledOLS, RandomEffects
from panelre.estimators._base import PanelModel
from panelre.estimators.cre import CorrelatedRandomEffects
from panelre.estimators.hausman_taylor import HausmanTaylor
from panelre.exceptions import InvalidParameterError
from panelre.results import PanelResults
from panelre.stats import Backend

__all__ = [
    "pooled_ols",
    "between",
    "fixed_effects",
    "first_difference",
    "random_effects",
    "correlated_random_effects",
    "hausman_taylor",
    "COMMON_KEYWORDS",
]

#: The keywords every panel estimator function takes, in this order.
COMMON_KEYWORDS = (
    "entity",
    "time",
    "cov",
    "cluster",
    "small_sample",
    "bandwidth",
    "backend",
    "weights",
    "weight_type",
)


def _common(*values: Any) -> dict[str, Any]:
    """The common keywords by name (``values`` in the order of ``COMMON_KEYWORDS``)."""
    return dict(zip(COMMON_KEYWORDS, values, strict=True))


def _fit(
    cls: type[PanelModel],
    formula: str,
    data: Any,
    common: dict[str, Any],
    model_options: dict[str, Any],
    unknown: dict[str, Any],
) -> PanelResults:
    if unknown:
        name = sorted(unknown)[0]
        allowed = [*COMMON_KEYWORDS, *model_options]
        raise InvalidParameterError(
            f"{cls.__name__} got unexpected option(s) {sorted(unknown)}"
            f"{closest_names(name, allowed)}. Allowed: {', '.join(allowed)}."
        )
    model = cls.from_formula(
        formula, data, entity=common["entity"], time=common["time"], backend=common["backend"],
        weights=common["weights"], weight_type=common["weight_type"], **model_options,
    )  # fmt: skip
    return model.fit(
        cov=common["cov"], cluster=common["cluster"], small_sample=common["small_sample"],
        bandwidth=common["bandwidth"],
    )  # fmt: skip


def pooled_ols(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **unknown: Any,
) -> PanelResults:
    """Pooled OLS: least squares on the stacked panel (``PooledOLS``).

    Parameters
    ----------
    formula : str
        Wilkinson formula, e.g. ``"inv ~ value + capital"`` (``Intercept`` by default).
    data : DataFrame, polars DataFrame, PanelData or dask DataFrame
        The panel; never modified.
    entity, time : hashable, optional
        Identifier columns (not needed for a two-level (entity, time) MultiIndex).
    cov : {"unadjusted", "robust", "cluster", "driscoll-kraay"}
        The covariance (case-insensitive; see the Covariance page).
    cluster : str, array or list, optional
        With ``cov="cluster"``: ``"entity"`` (default), ``"time"``, a column, an array
        with one value per row, or two of these (two-way clustering).
    small_sample : bool or {"stata", "plm"}, optional
        Small-sample factors (default False: R plm's plain estimators).
    bandwidth : int, optional
        Driscoll–Kraay lag truncation (default ``floor(T**(1/4))``).
    backend : {"auto", "numpy", "dask", "cupy", "torch"}
        Where the sufficient statistics are computed.
    weights : str or array, optional
        Observation weights: a column or one value per row.
    weight_type : {"analytic", "frequency"}
        Stata's ``aweight`` or ``fweight``.

    Returns
    -------
    PanelResults

    Raises
    ------
    InvalidParameterError
        An unknown option or option value (the message lists the allowed ones).
    FormulaError, DataError, PanelIndexError, InsufficientDataError
        A formula, data or panel index that cannot be used.

    Examples
    --------
    >>> import panelre as pr
    >>> pr.pooled_ols("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...               entity="firm").params.round(4).tolist()
    [-42.7144, 0.1156, 0.2307]
    """
    common = _common(entity, time, cov, cluster, small_sample, bandwidth, backend, weights,
                     weight_type)  # fmt: skip
    return _fit(PooledOLS, formula, data, common, {}, unknown)


def between(
    formula: str,
    data: Any,
    *,
    wls: bool = False,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **unknown: Any,
) -> PanelResults:
    """Between estimator: OLS on the entity means (``Between``).

    Parameters
    ----------
    formula, data, entity, time, cov, cluster, small_sample, bandwidth, backend
        As ``pooled_ols``.
    wls : bool, default False
        Weight each entity mean by its number of observations (Stata's ``xtreg, be wls``).
    weights, weight_type
        As ``pooled_ols``: weighted entity means, each weighted by its mean weight.

    Returns
    -------
    PanelResults

    Raises
    ------
    InvalidParameterError
        An unknown option or option value.
    InsufficientDataError
        No more entities than regressors.

    Examples
    --------
    >>> import panelre as pr
    >>> pr.between("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...            entity="firm").params.round(4).tolist()
    [-8.5271, 0.1346, 0.032]
    """
    common = _common(entity, time, cov, cluster, small_sample, bandwidth, backend, weights,
                     weight_type)  # fmt: skip
    return _fit(Between, formula, data, common, {"wls": wls}, unknown)


def fixed_effects(
    formula: str,
    data: Any,
    *,
    effects: str = "entity",
    constant: bool = False,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **unknown: Any,
) -> PanelResults:
    """Fixed effects (within) estimator (``FixedEffects``).

    Parameters
    ----------
    formula, data, entity, time, cov, cluster, small_sample, bandwidth, backend
        As ``pooled_ols``.
    effects : {"entity", "time", "twoway"}
        The absorbed effects (two-way is exact on unbalanced panels).
    constant : bool, default False
        Report Stata's ``_cons`` of ``xtreg, fe`` (the average effect) as ``Intercept``.
    weights, weight_type
        As ``pooled_ols``: demeaning by weighted means (the weighted LSDV).

    Returns
    -------
    PanelResults
        With the estimated ``effects`` (and ``time_effects`` two-way).

    Raises
    ------
    InvalidParameterError
        An unknown option or option value.
    InsufficientDataError
        No within variation or no residual degrees of freedom.

    Examples
    --------
    >>> import panelre as pr
    >>> pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                  entity="firm").params.round(4).tolist()
    [0.1101, 0.3101]
    """
    common = _common(entity, time, cov, cluster, small_sample, bandwidth, backend, weights,
                     weight_type)  # fmt: skip
    options = {"effects": effects, "constant": constant}
    return _fit(FixedEffects, formula, data, common, options, unknown)


def first_difference(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **unknown: Any,
) -> PanelResults:
    """First-difference estimator (``FirstDifference``).

    Parameters
    ----------
    formula, data, entity, time, cov, cluster, small_sample, bandwidth, backend
        As ``pooled_ols``; ``time`` is required.
    weights, weight_type
        As ``pooled_ols`` (analytic only): a difference weighs ``1/(1/wₜ + 1/wₜ₋₁)``.

    Returns
    -------
    PanelResults
        ``nobs`` counts the differences, ``nobs_data`` the rows.

    Raises
    ------
    InvalidParameterError
        An unknown option or option value, or frequency weights.
    PanelIndexError
        No time identifier.

    Examples
    --------
    >>> import panelre as pr
    >>> pr.first_difference("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                     entity="firm", time="year").params.round(4).tolist()
    [-1.8189, 0.0898, 0.2918]
    """
    common = _common(entity, time, cov, cluster, small_sample, bandwidth, backend, weights,
                     weight_type)  # fmt: skip
    return _fit(FirstDifference, formula, data, common, {}, unknown)


def random_effects(
    formula: str,
    data: Any,
    *,
    effects: str = "entity",
    method: str = "swamy-arora",
    convention: str = "plm",
    iv_method: str = "g2sls",
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **unknown: Any,
) -> PanelResults:
    """Random-effects GLS estimator (``RandomEffects``).

    Parameters
    ----------
    formula, data, entity, time, cov, cluster, small_sample, bandwidth, backend
        As ``pooled_ols``.
    effects : {"entity", "time", "twoway"}
    method : {"swamy-arora", "wallace-hussain", "amemiya", "nerlove", "ml", "reml"}
        Variance-component estimator (R plm's ``"swar"``, ``"walhus"`` accepted).
    convention : {"plm", "stata"}
        R plm's formulas (default) or Stata's ``xtreg, re`` / ``xtreg, mle``.
    iv_method : {"g2sls", "ec2sls"}
        With instruments in the formula: Balestra–Varadharajan-Krishnakumar G2SLS
        (Stata ``xtivreg, re``; plm ``inst.method="bvk"``) or Baltagi's EC2SLS (Stata
        ``xtivreg, ec2sls``; plm ``"baltagi"``).
    weights, weight_type
        Not defined for random effects: passing weights raises.

    Returns
    -------
    RandomEffectsResults

    Raises
    ------
    InvalidParameterError
        An unknown option or value, or weights.

    Examples
    --------
    >>> import panelre as pr
    >>> pr.random_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                   entity="firm", time="year").params.round(4).tolist()
    [-57.8344, 0.1098, 0.3081]
    """
    common = _common(entity, time, cov, cluster, small_sample, bandwidth, backend, weights,
                     weight_type)  # fmt: skip
    options = {"effects": effects, "method": method, "convention": convention}
    if iv_method != "g2sls":
        options["iv_method"] = iv_method
    return _fit(RandomEffects, formula, data, common, options, unknown)


def correlated_random_effects(
    formula: str,
    data: Any,
    *,
    method: str = "swamy-arora",
    convention: str = "plm",
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **unknown: Any,
) -> PanelResults:
    """Correlated random effects (Mundlak): random effects with the entity means of the
    time-varying regressors added (``CorrelatedRandomEffects``).

    Parameters
    ----------
    formula, data, entity, time, cov, cluster, small_sample, bandwidth, backend
        As ``pooled_ols``.
    method, convention
        As ``random_effects``.
    weights, weight_type
        Not defined: passing weights raises.

    Returns
    -------
    CorrelatedRandomEffectsResults
        With ``mean_terms`` and the ``mundlak_test`` of the means.

    Raises
    ------
    InvalidParameterError
        An unknown option or value, or weights.

    Examples
    --------
    >>> import panelre as pr
    >>> cre = pr.correlated_random_effects("inv ~ value + capital",
    ...                                    pr.datasets.load("grunfeld"), entity="firm")
    >>> cre.params[["value", "capital"]].round(4).tolist()
    [0.1101, 0.3101]
    """
    common = _common(entity, time, cov, cluster, small_sample, bandwidth, backend, weights,
                     weight_type)  # fmt: skip
    options = {"method": method, "convention": convention}
    return _fit(CorrelatedRandomEffects, formula, data, common, options, unknown)


def hausman_taylor(
    formula: str,
    data: Any,
    *,
    endogenous: Sequence[str] = (),
    instruments: str = "baltagi",
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **unknown: Any,
) -> PanelResults:
    """Hausman–Taylor IV random effects for time-invariant regressors (``HausmanTaylor``).

    Parameters
    ----------
    formula, data, entity, time, cov, cluster, small_sample, bandwidth, backend
        As ``pooled_ols``; ``time`` is required.
    endogenous : list of str
        Regressors correlated with the entity effect (design column or variable names).
    instruments : {"baltagi", "amemiya-macurdy"}
        R plm's default instrument set, or Amemiya–MaCurdy's.
    weights, weight_type
        Not defined: passing weights raises.

    Returns
    -------
    HausmanTaylorResults
        With the ``overid_test``.

    Raises
    ------
    InvalidParameterError
        An unknown option or value, or weights.
    IdentificationError
        Fewer exogenous time-varying regressors than endogenous time-invariant ones.

    Examples
    --------
    >>> import panelre as pr
    >>> ht = pr.hausman_taylor("lwage ~ wks + exp + ed", pr.datasets.load("wages"),
    ...                        entity="id", time="time", endogenous=["exp", "ed"])
    >>> sorted(ht.params.index)
    ['Intercept', 'ed', 'exp', 'wks']
    """
    common = _common(entity, time, cov, cluster, small_sample, bandwidth, backend, weights,
                     weight_type)  # fmt: skip
    options = {"endogenous": endogenous, "instruments": instruments}
    return _fit(HausmanTaylor, formula, data, common, options, unknown)
