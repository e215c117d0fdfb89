"""Correlated random effects (Mundlak 1978): random effects plus entity means."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from scipy import stats

from panelre._linalg import RANK_TOL, column_ss
from panelre.estimators.random import RandomEffects
from panelre.exceptions import InsufficientDataError, InvalidParameterError
from panelre.formula import Design
from panelre.results import PanelResults

__all__ = ["CorrelatedRandomEffects", "CorrelatedRandomEffectsResults", "mundlak_design"]


def mundlak_design(design: Design) -> tuple[Design, list[str]]:
    """Add the entity means ``mean(x)`` of every time-varying regressor to a design."""
    p = design.panel
    X = design.X
    names = design.x_names
    within = p.demean(X)
    ss_w = column_ss(within)
    ss = column_ss(X)
    varying = [
        j
        for j, n in enumerate(names)
        if n != "Intercept" and ss_w[j] > RANK_TOL * max(ss[j], 1e-300)
    ]
    if not varying:
        raise InsufficientDataError(
            "Correlated random effects need at least one time-varying regressor; every regressor "
            f"in {names} is constant within entities."
        )
    means = p.expand(p.group_means(X[:, varying]))
    mean_names = [f"mean({names[j]})" for j in varying]
    augmented = replace(design, X=np.column_stack([X, means]), x_names=[*names, *mean_names])
    return augmented, mean_names


class CorrelatedRandomEffectsResults(PanelResults):
    """Results of ``CorrelatedRandomEffects``, with the Mundlak test."""

    @property
    def mean_terms(self) -> list[str]:
        """Names of the added entity-mean regressors."""
        return list(self.model.mean_terms)

    @property
    def mundlak_test(self) -> Any:
        """Wald test that every ``mean(x)`` coefficient is zero, with this result's
        covariance: the (robust, if the covariance is) Hausman test of RE against FE."""
        from panelre.specification._base import TestResult

        names = [n for n in self.mean_terms if n in self.params.index]
        b = self.params[names].to_numpy()
        V = self.cov.loc[names, names].to_numpy()
        stat = float(b @ np.linalg.solve(V, b))
        return TestResult(
            name=f"Mundlak test of the entity-mean terms ({self.cov_type})",
            stat=stat,
            df=len(names),
            pvalue=float(stats.chi2.sf(stat, len(names))),
            null="the entity means have no effect (random effects is consistent)",
            alternative="the effects are correlated with the time-varying regressors",
        )


class CorrelatedRandomEffects(RandomEffects):
    """Random effects augmented with the entity means of the time-varying regressors.

    On the time-varying regressors the slopes equal the fixed-effects (within) slopes
    (exactly on balanced panels), while time-invariant regressors keep a coefficient.
    The mean terms are named ``mean(x)``; ``results.mundlak_test`` tests them jointly.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> cre = pr.correlated_random_effects("inv ~ value + capital", g, entity="firm",
    ...                                    time="year")
    >>> cre.params[["value", "capital"]].round(4).tolist()
    [0.1101, 0.3101]
    >>> cre.mean_terms
    ['mean(value)', 'mean(capital)']
    """

    estimator_name = "correlated_random_effects"
    title = "Correlated random effects (Mundlak)"
    results_class = CorrelatedRandomEffectsResults

    def __init__(self, design: Design, **options: Any) -> None:
        if options.get("effects", "entity") not in ("entity", "individual"):
            raise InvalidParameterError(
                "Correlated random effects use entity effects. Got "
                f"effects={options['effects']!r}; add C(time) dummies for time effects."
            )
        augmented, self.mean_terms = mundlak_design(design)
        self.original_design = design
        super().__init__(augmented, **options)
