"""panelre: panel-data econometrics and random-effects models.

See ``shared/API.md`` for the public contract.
"""

from __future__ import annotations

from panelre import datasets
from panelre.exceptions import (
    AbsorbedVariableError,
    BoundaryWarning,
    ConvergenceError,
    ConvergenceWarning,
    DataError,
    DroppedVariableWarning,
    FormulaError,
    IncompatibleResultsError,
    InsufficientDataError,
    InvalidParameterError,
    MissingValueWarning,
    NonPositiveDefiniteWarning,
    PanelIndexError,
    PanelreError,
    PanelreWarning,
    RankDeficiencyError,
    SingletonWarning,
)

__version__ = "0.1.0"

__all__ = [
    "datasets",
    "PanelreError",
    "PanelreWarning",
    "AbsorbedVariableError",
    "BoundaryWarning",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataError",
    "DroppedVariableWarning",
    "FormulaError",
    "IncompatibleResultsError",
    "InsufficientDataError",
    "InvalidParameterError",
    "MissingValueWarning",
    "NonPositiveDefiniteWarning",
    "PanelIndexError",
    "RankDeficiencyError",
    "SingletonWarning",
]
