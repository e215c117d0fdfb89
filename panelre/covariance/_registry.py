"""String names -> covariance estimator classes (no if/elif dispatch)."""

from __future__ import annotations

from typing import Any

from panelre._typing import COV_ALIASES, COV_TYPES
from panelre._validation import check_option
from panelre.covariance._base import CovarianceEstimator
from panelre.covariance.classic import Unadjusted
from panelre.covariance.clustered import Clustered
from panelre.covariance.driscoll_kraay import DriscollKraay
from panelre.covariance.robust import Robust
from panelre.exceptions import InvalidParameterError

__all__ = ["REGISTRY", "make_covariance"]

REGISTRY: dict[str, type[CovarianceEstimator]] = {
    "unadjusted": Unadjusted,
    "robust": Robust,
    "cluster": Clustered,
    "driscoll-kraay": DriscollKraay,
}
assert set(REGISTRY) == set(COV_TYPES)

_ACCEPTS = {
    "unadjusted": {"small_sample"},
    "robust": {"small_sample"},
    "cluster": {"small_sample", "cluster"},
    "driscoll-kraay": {"small_sample", "bandwidth"},
}


def make_covariance(
    cov: str | CovarianceEstimator = "unadjusted", **options: Any
) -> CovarianceEstimator:
    """Build a covariance estimator from its name and options.

    Examples
    --------
    >>> make_covariance("cluster", cluster="time").describe()
    'Clustered (time)'
    """
    if isinstance(cov, CovarianceEstimator):
        if options:
            raise InvalidParameterError(
                "Options cannot be combined with a ready-made covariance estimator object."
            )
        return cov
    name = check_option("cov", cov, COV_TYPES, COV_ALIASES)
    unknown = sorted(set(options) - _ACCEPTS[name])
    if unknown:
        allowed = ", ".join(sorted(_ACCEPTS[name]))
        raise InvalidParameterError(
            f"cov={name!r} does not take option(s) {unknown}. Allowed: {allowed}."
        )
    return REGISTRY[name](**options)
