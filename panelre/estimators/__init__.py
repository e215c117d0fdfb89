"""Panel estimators: each module writes only its own algebra."""

from __future__ import annotations

from panelre.estimators._base import PanelModel
from panelre.estimators.between import Between
from panelre.estimators.first_difference import FirstDifference
from panelre.estimators.pooled import PooledOLS
from panelre.estimators.random import RandomEffects
from panelre.estimators.within import FixedEffects

__all__ = ["PanelModel", "PooledOLS", "Between", "FixedEffects", "FirstDifference", "RandomEffects"]
