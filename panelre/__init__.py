"""panelre: panel-data econometrics and random-effects models.

See ``shared/API.md`` for the public contract.
"""

from __future__ import annotations

from panelre import datasets
from panelre.api import between, first_difference, fixed_effects, pooled_ols, random_effects
from panelre.estimators import (
    Between,
    FirstDifference,
    FixedEffects,
    PanelModel,
    PooledOLS,
    RandomEffects,
)
from panelre.comparison import compare
from panelre.meta import MetaAnalysisResults, effect_size, meta_analysis
from panelre.panel import PanelData
from panelre.results import PanelResults
from panelre.specification import (
    Selection,
    TestResult,
    breusch_pagan,
    f_test_effects,
    hausman,
    hausman_regression,
    select,
)
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
    "PanelData",
    "PanelResults",
    "PanelModel",
    "PooledOLS",
    "Between",
    "FixedEffects",
    "FirstDifference",
    "RandomEffects",
    "pooled_ols",
    "between",
    "fixed_effects",
    "first_difference",
    "random_effects",
    "compare",
    "effect_size",
    "meta_analysis",
    "MetaAnalysisResults",
    "hausman",
    "hausman_regression",
    "breusch_pagan",
    "f_test_effects",
    "select",
    "Selection",
    "TestResult",
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
