"""panelre: panel-data econometrics and random-effects models.

See ``shared/API.md`` for the public contract.
"""

from __future__ import annotations

from panelre import datasets
from panelre.api import (
    between,
    correlated_random_effects,
    first_difference,
    fixed_effects,
    hausman_taylor,
    pooled_ols,
    random_effects,
)
from panelre.bootstrap import wild_bootstrap
from panelre.comparison import RegressionTable, compare
from panelre.dynamic import GMMResults, gmm
from panelre.estimators import (
    Between,
    FirstDifference,
    FixedEffects,
    PanelModel,
    PooledOLS,
    RandomEffects,
)
from panelre.estimators.cre import CorrelatedRandomEffects
from panelre.estimators.hausman_taylor import HausmanTaylor
from panelre.exceptions import (
    AbsorbedVariableError,
    ArgumentOrderWarning,
    BoundaryWarning,
    ConvergenceError,
    ConvergenceWarning,
    DataError,
    DroppedVariableWarning,
    FormulaError,
    IdentificationError,
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
    WeakInstrumentWarning,
)
from panelre.margins import margins
from panelre.meta import MetaAnalysisResults, effect_size, meta_analysis
from panelre.mixed import MixedResults, anova, mixed
from panelre.panel import PanelData
from panelre.results import PanelResults
from panelre.specification import (
    Selection,
    TestResult,
    breusch_pagan,
    cross_sectional_dependence,
    f_test_effects,
    hausman,
    hausman_regression,
    select,
    serial_correlation,
    unit_root,
)
from panelre.stats import read_panel

__version__ = "0.1.0"

__all__ = [
    "anova",
    "datasets",
    "PanelData",
    "read_panel",
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
    "correlated_random_effects",
    "hausman_taylor",
    "CorrelatedRandomEffects",
    "HausmanTaylor",
    "IdentificationError",
    "compare",
    "RegressionTable",
    "wild_bootstrap",
    "margins",
    "gmm",
    "GMMResults",
    "effect_size",
    "meta_analysis",
    "MetaAnalysisResults",
    "mixed",
    "MixedResults",
    "hausman",
    "hausman_regression",
    "breusch_pagan",
    "serial_correlation",
    "cross_sectional_dependence",
    "unit_root",
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
    "ArgumentOrderWarning",
    "WeakInstrumentWarning",
    "PanelIndexError",
    "RankDeficiencyError",
    "SingletonWarning",
]
