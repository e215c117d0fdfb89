"""Every error and warning class that panelre raises.

All errors derive from ``PanelreError`` and from the matching built-in
(``ValueError`` or ``RuntimeError``), so ``except ValueError`` keeps working.
All warnings derive from ``PanelreWarning`` (a ``UserWarning``).
"""

from __future__ import annotations

__all__ = [
    "PanelreError",
    "ArgumentOrderWarning",
    "WeakInstrumentWarning",
    "InvalidParameterError",
    "PanelIndexError",
    "DataError",
    "FormulaError",
    "RankDeficiencyError",
    "AbsorbedVariableError",
    "InsufficientDataError",
    "IncompatibleResultsError",
    "ConvergenceError",
    "IdentificationError",
    "PanelreWarning",
    "MissingValueWarning",
    "SingletonWarning",
    "BoundaryWarning",
    "ConvergenceWarning",
    "NonPositiveDefiniteWarning",
    "DroppedVariableWarning",
]


class PanelreError(Exception):
    """Root of every error raised by panelre."""


class InvalidParameterError(PanelreError, ValueError):
    """An option has a value outside its allowed set or range."""


class PanelIndexError(PanelreError, ValueError):
    """The entity/time index is missing, duplicated or otherwise unusable."""


class DataError(PanelreError, ValueError):
    """The data cannot be used as given (inf values, wrong types, empty, ...)."""


class FormulaError(PanelreError, ValueError):
    """A formula cannot be parsed or refers to unknown columns."""


class RankDeficiencyError(PanelreError, ValueError):
    """The design matrix has no full-rank subset that can be estimated."""


class AbsorbedVariableError(PanelreError, ValueError):
    """Every regressor is absorbed by the effects, so nothing can be estimated."""


class InsufficientDataError(PanelreError, ValueError):
    """Too few entities, periods or observations for the requested estimator."""


class IncompatibleResultsError(PanelreError, ValueError):
    """Two fitted results cannot be compared (different data, regressors or covariance)."""


class IdentificationError(PanelreError, ValueError):
    """A model is not identified (e.g. too few instruments for Hausman–Taylor)."""


class ConvergenceError(PanelreError, RuntimeError):
    """An iterative estimator did not converge and no usable answer exists."""


class PanelreWarning(UserWarning):
    """Root of every warning issued by panelre."""


class MissingValueWarning(PanelreWarning):
    """Rows with missing values were dropped."""


class SingletonWarning(PanelreWarning):
    """Entities observed only once carry no within-entity information."""


class BoundaryWarning(PanelreWarning):
    """A variance component was estimated at (or clipped to) zero."""


class ConvergenceWarning(PanelreWarning):
    """An optimiser stopped before its convergence criterion was met."""


class NonPositiveDefiniteWarning(PanelreWarning):
    """A matrix that should be positive (semi-)definite is not."""


class DroppedVariableWarning(PanelreWarning):
    """Regressors were dropped because they are absorbed by the effects or collinear."""


class WeakInstrumentWarning(PanelreWarning):
    """The excluded instruments barely predict an endogenous regressor (first-stage F
    below 10)."""


class ArgumentOrderWarning(PanelreWarning):
    """Arguments were given in the other order than the function expects and were swapped
    (e.g. ``hausman(random_effects, fixed_effects)``)."""
