"""Type aliases and the option sets used for both typing and validation."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "Array",
    "Effects",
    "EFFECTS",
    "RE_METHODS",
    "RE_METHOD_ALIASES",
    "CONVENTIONS",
    "COV_TYPES",
]

Array = npt.NDArray[np.float64]
Effects = Literal["entity", "time", "twoway"]
EFFECTS = ("entity", "time", "twoway")
EFFECT_ALIASES = {
    "individual": "entity",
    "twoways": "twoway",
    "two-way": "twoway",
    "both": "twoway",
}
RE_METHODS = ("swamy-arora", "wallace-hussain", "amemiya", "nerlove", "ml", "reml")
RE_METHOD_ALIASES = {
    "swar": "swamy-arora",
    "sa": "swamy-arora",
    "walhus": "wallace-hussain",
    "wh": "wallace-hussain",
    "mle": "ml",
}
CONVENTIONS = ("plm", "stata")
COV_TYPES = ("unadjusted", "robust", "cluster", "driscoll-kraay", "cr2")
COV_ALIASES = {
    "homoskedastic": "unadjusted",
    "classic": "unadjusted",
    "heteroskedastic": "robust",
    "white": "robust",
    "clustered": "cluster",
    "kernel": "driscoll-kraay",
    "dk": "driscoll-kraay",
    "scc": "driscoll-kraay",
    "bell-mccaffrey": "cr2",
}
