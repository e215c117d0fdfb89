"""Linear mixed models (lme4's ``lmer``) by ML/REML on per-group sufficient statistics.

Examples
--------
>>> from panelre.datasets import load
>>> from panelre.mixed import mixed
>>> res = mixed("Reaction ~ Days + (1 | Subject)", load("sleepstudy"))
>>> round(res.loglike, 4)
-893.2325
"""

from __future__ import annotations

from panelre.mixed.anova import anova
from panelre.mixed.model import mixed
from panelre.mixed.results import MixedResults, RandomFactor

__all__ = ["mixed", "anova", "MixedResults", "RandomFactor"]
