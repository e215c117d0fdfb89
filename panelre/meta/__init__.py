"""Random-effects meta-analysis and meta-regression that reproduce R's metafor.

- ``effect_size`` -- effect sizes and sampling variances (metafor's ``escalc``).
- ``meta_analysis`` -- the model fit (metafor's ``rma``) returning
  ``MetaAnalysisResults`` with ``leave_one_out()``, ``summary``, ``forest_plot()`` and
  ``funnel_plot()``.
- ``TAU2_ESTIMATORS`` -- the registry of tau^2 estimators (FE, DL, REML, ML, PM, HE,
  SJ, EB, HS).

Examples
--------
>>> from panelre.datasets import load
>>> from panelre.meta import effect_size, meta_analysis
>>> es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load("bcg"))
>>> m = meta_analysis(es.yi, es.vi, method="DL")
>>> round(m.estimate, 4), round(m.tau2, 4)
(-0.7141, 0.3088)
"""

from __future__ import annotations

from panelre.meta.combine import METHODS, TESTS, meta_analysis
from panelre.meta.effect_sizes import MEASURES, effect_size
from panelre.meta.results import MetaAnalysisResults
from panelre.meta.tau2 import TAU2_ESTIMATORS

__all__ = [
    "effect_size",
    "meta_analysis",
    "MetaAnalysisResults",
    "TAU2_ESTIMATORS",
    "MEASURES",
    "METHODS",
    "TESTS",
]
