"""Random-slope fits on the boundary (issue: a false singular fit reported as converged).

The gradient of the profiled criterion with respect to a diagonal entry of Λ is exactly 0
when that entry is 0 (the criterion depends on it through its square), so a gradient method
that reaches the bound stays there. The optimiser now restarts from inside the bound
whenever a fit ends on it.

200 seeded panels (12 groups × 5, ``y ~ x + w + (x | g)``, made as
tests/reference/mixed/RANDOM_SLOPES.md says) are fitted by REML and ML and compared with
lme4 (bobyqa at rhoend 1e-12; ``random_slope_lme4.json``, R call stored) and statsmodels'
MixedLM (``random_slope_statsmodels.json``): every panelre fit must reach at least their
log-likelihood and declare a singular fit exactly when lme4 does. Before the fix 18 of the
400 fits stopped up to 1.9 log-likelihood units below lme4's, at a false singular fit
reported as converged.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

import panelre as pr

HERE = Path(__file__).parent.parent / "reference" / "mixed"
#: (panel, reml) where the optimiser used to stop at a false boundary fit
FORMERLY_WRONG = [
    (5, True), (9, True), (21, True), (22, True), (55, False), (88, True), (88, False),
    (105, True), (148, True), (148, False), (150, False), (151, True), (151, False),
    (161, True), (177, True), (177, False), (195, True), (195, False),
]  # fmt: skip
#: log-likelihood units. Measured: panelre is never more than 5e-13 below lme4, and above it
#: on 11 of the 400 fits (by up to 1.3 units: lme4's bobyqa stops early there)
TOL = 1e-6
#: statsmodels reports, on two singular REML fits (panels 7 and 32), a log-likelihood 1.4e-6
#: and 1.6e-6 above the boundary optimum that lme4 and panelre agree on to 1e-13 (it does
#: not converge on panel 7): beyond what a better optimum would explain, so its bound is
#: 1e-5 (measured: no other fit is within 1e-6 of exceeding panelre's)
TOL_STATSMODELS = 1e-5


@cache
def _panels() -> pd.DataFrame:
    return pd.read_csv(HERE / "random_slope_panels.csv.gz")


@cache
def _reference(name: str) -> dict[tuple[int, bool], dict]:
    cases = json.loads((HERE / name).read_text())["cases"]
    return {(c["panel"], c["reml"]): c for c in cases}


def _check(panel: int, reml: bool) -> None:
    data = _panels()[lambda d: d["panel"] == panel]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pr.PanelreWarning)
        res = pr.mixed("y ~ x + w + (x | g)", data, reml=reml)
    lme4 = _reference("random_slope_lme4.json")[(panel, reml)]
    statsmodels = _reference("random_slope_statsmodels.json")[(panel, reml)]
    assert res.loglike >= lme4["loglike"] - TOL, (panel, reml, res.loglike, lme4["loglike"])
    assert res.loglike >= statsmodels["loglike"] - TOL_STATSMODELS, (panel, reml, res.loglike)
    assert res.singular == lme4["singular"], (panel, reml)
    assert res.converged


@pytest.mark.parametrize(("panel", "reml"), FORMERLY_WRONG)
def test_former_false_boundary_fits_reach_lme4(panel: int, reml: bool) -> None:
    _check(panel, reml)


@pytest.mark.slow
def test_every_seeded_random_slope_fit_is_at_least_as_high_as_lme4_and_statsmodels() -> None:
    for panel, reml in sorted(_reference("random_slope_lme4.json")):
        _check(panel, reml)
