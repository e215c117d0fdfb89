"""Correlated random effects (Mundlak 1978): random effects plus entity means."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from panelre._linalg import RANK_TOL
from panelre.estimators._transforms import within
from panelre.estimators.random import RandomEffects, RandomEffectsResults
from panelre.exceptions import InsufficientDataError, InvalidParameterError
from panelre.results import TestResult
from panelre.stats import PanelSource, RowMap

__all__ = [
    "CorrelatedRandomEffects",
    "CorrelatedRandomEffectsResults",
    "mundlak_source",
    "time_varying",
]


def time_varying(source: PanelSource) -> list[int]:
    """Positions in z of the regressors that vary within entities (their within sum of
    squares is not negligible next to their raw one)."""
    st = source.stats
    within_ss = np.diag(within(source, "entity")[1])
    raw = np.diag(st.gram)
    return [j for j in source.slope_positions() if within_ss[j] > RANK_TOL * max(raw[j], 1e-300)]


def mundlak_source(source: PanelSource) -> tuple[PanelSource, list[str]]:
    """The source with the entity means ``mean(x)`` of every time-varying regressor added
    as columns (derived from the statistics; no row is rewritten)."""
    varying = time_varying(source)
    if not varying:
        raise InsufficientDataError(
            "Correlated random effects need at least one time-varying regressor; every regressor "
            f"in {source.x_names} is constant within entities."
        )
    st = source.stats
    p, m = st.width, len(varying)
    L = np.hstack([np.eye(p), np.zeros((p, m))])
    O = np.hstack([np.zeros((st.n_entities, p)), -st.entity.means[:, varying]])
    mean_names = [f"mean({source.x_names[j - 1]})" for j in varying]
    augmented = source.derived(RowMap(L, entity_table=O), [*source.x_names, *mean_names])
    return augmented, mean_names


class CorrelatedRandomEffectsResults(RandomEffectsResults):
    """Results of ``CorrelatedRandomEffects``, with the Mundlak test."""

    @property
    def mean_terms(self) -> list[str]:
        """Names of the added entity-mean regressors."""
        return list(self.model.mean_terms)

    @property
    def mundlak_test(self) -> Any:
        """Wald test that every ``mean(x)`` coefficient is zero, with this result's
        covariance: the (robust, if the covariance is) Hausman test of RE against FE."""
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
    supports_instruments = False
    title = "Correlated random effects (Mundlak)"
    results_class = CorrelatedRandomEffectsResults

    def __init__(self, source: PanelSource, **options: Any) -> None:
        if options.get("effects", "entity") not in ("entity", "individual"):
            raise InvalidParameterError(
                "Correlated random effects use entity effects. Got "
                f"effects={options['effects']!r}; add C(time) dummies for time effects."
            )
        augmented, self.mean_terms = mundlak_source(source)
        self.original_source = source
        super().__init__(augmented, **options)
