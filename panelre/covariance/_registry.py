"""String names -> covariance estimator classes (no if/elif dispatch)."""

from __future__ import annotations

from typing import Any

from panelre._typing import COV_ALIASES, COV_TYPES
from panelre._validation import check_option, closest_names
from panelre.covariance._base import CovarianceEstimator
from panelre.covariance.classic import Unadjusted
from panelre.covariance.clustered import Clustered
from panelre.covariance.cr2 import BellMcCaffrey
from panelre.covariance.driscoll_kraay import DriscollKraay
from panelre.covariance.robust import Robust
from panelre.exceptions import InvalidParameterError

__all__ = ["REGISTRY", "make_covariance"]

REGISTRY: dict[str, type[CovarianceEstimator]] = {
    "unadjusted": Unadjusted,
    "robust": Robust,
    "cluster": Clustered,
    "driscoll-kraay": DriscollKraay,
    "cr2": BellMcCaffrey,
}
assert set(REGISTRY) == set(COV_TYPES)

_ACCEPTS = {
    "unadjusted": {"small_sample"},
    "robust": {"small_sample"},
    "cluster": {"small_sample", "cluster"},
    "driscoll-kraay": {"small_sample", "bandwidth"},
    "cr2": {"cluster"},
}


def make_covariance(
    cov: str | CovarianceEstimator = "unadjusted",
    *,
    cluster: Any = None,
    small_sample: Any = None,
    bandwidth: int | None = None,
    **unknown: Any,
) -> CovarianceEstimator:
    """Build a covariance estimator from its name and options.

    Parameters
    ----------
    cov : {"unadjusted", "robust", "cluster", "driscoll-kraay"} or CovarianceEstimator
        The covariance (case-insensitive), or a ready-made estimator object.
    cluster : str, array or list, optional
        With ``"cluster"``: the clustering (default ``"entity"``).
    small_sample : bool or {"stata", "plm"}, optional
        Small-sample factors (default False).
    bandwidth : int, optional
        With ``"driscoll-kraay"``: the lag truncation.

    Returns
    -------
    CovarianceEstimator

    Raises
    ------
    InvalidParameterError
        An unknown covariance or option, or an option the covariance does not take.

    Examples
    --------
    >>> make_covariance("cluster", cluster="time").describe()
    'Clustered (time)'
    """
    if unknown:
        names = ["cluster", "small_sample", "bandwidth"]
        first = sorted(unknown)[0]
        raise InvalidParameterError(
            f"Unknown covariance option(s) {sorted(unknown)}{closest_names(first, names)}. "
            f"Allowed: {', '.join(names)}."
        )
    given = {"cluster": cluster, "small_sample": small_sample, "bandwidth": bandwidth}
    options = {k: v for k, v in given.items() if v is not None}
    if isinstance(cov, CovarianceEstimator):
        if options:
            raise InvalidParameterError(
                "Options cannot be combined with a ready-made covariance estimator object."
            )
        return cov
    name = check_option("cov", cov, COV_TYPES, COV_ALIASES)
    refused = sorted(set(options) - _ACCEPTS[name])
    if refused:
        allowed = ", ".join(sorted(_ACCEPTS[name]))
        raise InvalidParameterError(
            f"cov={name!r} does not take option(s) {refused}. Allowed: {allowed}."
        )
    return REGISTRY[name](**options)
