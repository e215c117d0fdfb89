"""Ordinary panelre results for fits on Dask frames.

``DaskPanelResults`` is a ``PanelResults``; only what needs the
rows is different: R² values are computed from the sufficient statistics at fit time,
``resids``/``fitted_values`` are not held (``predict(data)`` works on pandas or Dask
frames), and ``design`` is a light ``DaskDesignView`` with the panel counts.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from panelre.covariance import CovarianceInputs
from panelre.dask.design import DaskDesign
from panelre.dask.inputs import DaskCovarianceInputs
from panelre.dask.stats import PanelStats
from panelre.exceptions import DataError
from panelre.results import Estimation, PanelResults

__all__ = ["DaskEstimation", "DaskPanelResults", "DaskDesignView", "DaskPanelView", "DaskModel"]


@dataclass(frozen=True)
class DaskPanelView:
    """Panel facts of a Dask fit (what summaries and tests read from ``design.panel``).

    ``entity_codes`` is a fingerprint (the counts per entity), not one code per row.
    """

    stats: PanelStats
    entity: Hashable
    time: Hashable | None

    @property
    def nobs(self) -> int:
        """Rows used."""
        return self.stats.n

    @property
    def n_entities(self) -> int:
        """N."""
        return self.stats.n_entities

    @property
    def n_periods(self) -> int:
        """T."""
        return self.stats.n_periods

    @property
    def is_balanced(self) -> bool:
        """Balanced panel."""
        return self.stats.is_balanced

    @property
    def entity_labels(self) -> pd.Index:
        """Entity labels (sorted)."""
        return self.stats.entity_labels

    @property
    def time_labels(self) -> pd.Index | None:
        """Period labels (sorted)."""
        return self.stats.time_labels

    @cached_property
    def counts(self) -> pd.Series:
        """Observations per entity."""
        return pd.Series(self.stats.entity_counts, index=self.entity_labels, name="nobs")

    @property
    def entity_codes(self) -> np.ndarray:
        """Fingerprint of the entity structure (counts per entity)."""
        return self.stats.entity_counts

    @property
    def time_codes(self) -> np.ndarray | None:
        """Fingerprint of the period structure (counts per period)."""
        return self.stats.time_counts

    def group_counts(self, effect: str) -> np.ndarray:
        """Observations per group of ``effect``."""
        return self.stats.entity_counts if effect == "entity" else self.stats.time_counts  # type: ignore[return-value]


@dataclass(frozen=True)
class DaskDesignView:
    """The ``results.design`` of a Dask fit: names, formula and panel facts.

    ``y`` is a fingerprint ``(n, Σy, Σy²)`` so that two fits on the same data compare equal.
    """

    y_name: str
    x_names: list[str]
    formula: str
    panel: DaskPanelView
    dask_design: DaskDesign
    n_missing: int = 0

    @property
    def stats(self) -> PanelStats:
        """Pass-1 statistics."""
        return self.panel.stats

    @property
    def y(self) -> np.ndarray:
        """Fingerprint of the response."""
        s = self.panel.stats
        return np.array([s.n, s.total[0], s.gram[0, 0]])

    @property
    def has_intercept(self) -> bool:
        """True when the formula has an ``Intercept`` column."""
        return "Intercept" in self.x_names

    def regressors_for(self, data: pd.DataFrame) -> pd.DataFrame:
        """The formula's right-hand side on new in-memory data."""
        return self.dask_design.regressors_for(data)


@dataclass
class DaskModel:
    """The model behind Dask results (names used by results, tables and tests)."""

    estimator_name: str
    title: str
    design: DaskDesignView
    uses_normal: bool = False
    effects: str = "entity"
    method: str | None = None
    convention: str = "plm"
    compute: Any = None


@dataclass(frozen=True)
class DaskEstimation(Estimation):
    """An ``Estimation`` whose covariance inputs are reduced lazily with Dask.

    ``ssr`` is ``e'e`` of the transformed regression, ``n_rows`` its rows, ``r2`` the
    (own, within, between, overall) R² values.
    """

    scorer: Any = None
    ssr: float = 0.0
    n_rows: int = 0
    r2: tuple[float, float, float, float] = (np.nan, np.nan, np.nan, np.nan)

    def covariance_inputs(self) -> CovarianceInputs:
        """Dask-backed inputs (in-memory ones when the regression rows are entities)."""
        if self.scorer is None:
            return super().covariance_inputs()
        k = len(self.params)
        return DaskCovarianceInputs(
            X=np.zeros((0, k)),
            resid=np.zeros(0),
            bread=self.bread,
            df_resid=self.df_resid,
            entity_codes=self.entity_codes,
            time_codes=self.time_codes,
            frame=None,
            n_params=k,
            re_stata=self.re_stata,
            scorer=self.scorer,
            n_rows=self.n_rows,
            ssr=self.ssr,
        )


class DaskPanelResults(PanelResults):
    """Results of a panel estimator fitted on a Dask frame.

    Everything of ``PanelResults`` is available except the
    row-level ``resids`` and ``fitted_values`` (use ``predict(ddf)`` for a lazy x'b).
    """

    @property
    def rsquared(self) -> float:  # type: ignore[override]
        """R² of the estimator's own (transformed) regression."""
        return float(self._est.r2[0])  # type: ignore[attr-defined]

    @property
    def _index_r2(self) -> tuple[float, float, float]:  # type: ignore[override]
        r2 = self._est.r2  # type: ignore[attr-defined]
        return float(r2[1]), float(r2[2]), float(r2[3])

    @property
    def resid_variance(self) -> float:
        """``s² = e'e / df_resid`` of the transformed regression."""
        return float(self._est.ssr) / self._est.df_resid  # type: ignore[attr-defined]

    @property
    def resids(self) -> pd.Series:
        """Not held for Dask data (it would collect the rows)."""
        raise DataError(
            "Residuals per row are not collected for Dask data. Use results.predict(ddf) for "
            "a lazy x'b and compute y - x'b (plus effects) where you need it."
        )

    @property
    def fitted_values(self) -> pd.Series:
        """Not held for Dask data (see ``resids``)."""
        raise DataError(
            "Fitted values per row are not collected for Dask data. Use results.predict(ddf), "
            "which returns a lazy Dask series of x'b."
        )

    def predict(self, data: Any = None) -> Any:
        """``x'b`` on new data: a pandas Series for pandas data, a lazy Dask Series for a
        Dask frame."""
        if data is None:
            return self.fitted_values
        if type(data).__module__.startswith("dask"):
            meta = pd.Series([], dtype=float, name="predicted")
            return data.map_partitions(super().predict, meta=meta)
        return super().predict(data)
