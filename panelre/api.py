"""Function shortcuts to the estimator classes (the public API of API.md).

Every function takes ``weights=`` (a column name or one value per row) and
``weight_type="analytic" | "frequency"`` (see the Weights page of the docs); random
effects, CRE and Hausman–Taylor raise a clear error with weights.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from panelre.estimators import Between, FirstDifference, FixedEffects, PooledOLS, RandomEffects
from panelre.estimators.cre import CorrelatedRandomEffects
from panelre.estimators.hausman_taylor import HausmanTaylor
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
]

_COV_KEYS = ("small_sample", "cluster", "bandwidth")


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    cov_opts = {k: options.pop(k) for k in list(options) if k in _COV_KEYS}
    return options, cov_opts


def _fit(
    cls: type,
    formula: str,
    data: Any,
    entity: Hashable | None,
    time: Hashable | None,
    cov: str,
    options: dict[str, Any],
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
) -> PanelResults:
    model_opts, cov_opts = _split(dict(options))
    model = cls.from_formula(
        formula, data, entity=entity, time=time, backend=backend, weights=weights,
        weight_type=weight_type, **model_opts,
    )  # fmt: skip
    return model.fit(cov=cov, **cov_opts)


def pooled_ols(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **options: Any,
) -> PanelResults:
    """Pooled OLS. See ``panelre.PooledOLS``.

    Examples
    --------
    >>> import panelre as pr
    >>> pr.pooled_ols("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...               entity="firm").params.round(4).tolist()
    [-42.7144, 0.1156, 0.2307]
    """
    return _fit(PooledOLS, formula, data, entity, time, cov, options, backend, weights, weight_type)


def between(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **options: Any,
) -> PanelResults:
    """Between estimator (OLS on entity means). See ``panelre.Between``."""
    return _fit(Between, formula, data, entity, time, cov, options, backend, weights, weight_type)


def fixed_effects(
    formula: str,
    data: Any,
    *,
    effects: str = "entity",
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **options: Any,
) -> PanelResults:
    """Fixed effects (within): ``effects="entity" | "time" | "twoway"``.
    See ``panelre.FixedEffects``."""
    return _fit(
        FixedEffects, formula, data, entity, time, cov, {"effects": effects, **options}, backend,
        weights, weight_type,
    )  # fmt: skip


def first_difference(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **options: Any,
) -> PanelResults:
    """First-difference estimator. See ``panelre.FirstDifference``."""
    return _fit(
        FirstDifference, formula, data, entity, time, cov, options, backend, weights, weight_type
    )


def random_effects(
    formula: str,
    data: Any,
    *,
    effects: str = "entity",
    method: str = "swamy-arora",
    convention: str = "plm",
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **options: Any,
) -> PanelResults:
    """Random effects (GLS). See ``panelre.RandomEffects``."""
    opts = {"effects": effects, "method": method, "convention": convention, **options}
    return _fit(
        RandomEffects, formula, data, entity, time, cov, opts, backend, weights, weight_type
    )


def correlated_random_effects(
    formula: str,
    data: Any,
    *,
    method: str = "swamy-arora",
    convention: str = "plm",
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **options: Any,
) -> PanelResults:
    """Correlated random effects (Mundlak). See ``panelre.CorrelatedRandomEffects``."""
    opts = {"method": method, "convention": convention, **options}
    return _fit(
        CorrelatedRandomEffects,
        formula,
        data,
        entity,
        time,
        cov,
        opts,
        backend,
        weights,
        weight_type,
    )


def hausman_taylor(
    formula: str,
    data: Any,
    *,
    endogenous: Any = (),
    instruments: str = "baltagi",
    entity: Hashable | None = None,
    time: Hashable | None = None,
    cov: str = "unadjusted",
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
    **options: Any,
) -> PanelResults:
    """Hausman–Taylor IV random effects. See ``panelre.HausmanTaylor``."""
    opts = {"endogenous": endogenous, "instruments": instruments, **options}
    return _fit(
        HausmanTaylor, formula, data, entity, time, cov, opts, backend, weights, weight_type
    )
