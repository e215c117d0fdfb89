"""One covariance module shared by every estimator."""

from __future__ import annotations

from panelre.covariance._base import (
    CovarianceEstimator,
    CovarianceInputs,
    DfCorrection,
    ParameterCovariance,
    WorkingRows,
    sandwich,
)
from panelre.covariance._registry import REGISTRY, make_covariance
from panelre.covariance.classic import Unadjusted
from panelre.covariance.clustered import Clustered
from panelre.covariance.cr2 import BellMcCaffrey
from panelre.covariance.driscoll_kraay import DriscollKraay
from panelre.covariance.robust import Robust

__all__ = [
    "CovarianceEstimator",
    "CovarianceInputs",
    "DfCorrection",
    "ParameterCovariance",
    "REGISTRY",
    "make_covariance",
    "sandwich",
    "Unadjusted",
    "Robust",
    "Clustered",
    "DriscollKraay",
    "BellMcCaffrey",
    "WorkingRows",
]
