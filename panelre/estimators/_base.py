"""The model -> results template shared by every panel estimator.

A model binds validated data at construction and estimates nothing. ``from_formula``
is written once, here. ``fit()`` validates the covariance options, calls the
estimator's ``_estimate()`` hook (which returns an ``Estimation``)
and applies the shared covariance module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from panelre._columns import select_columns
from panelre._linalg import RANK_TOL, inv_psd, solve_with_residuals
from panelre.covariance import CovarianceEstimator, make_covariance
from panelre.exceptions import (
    InsufficientDataError,
    InvalidParameterError,
)
from panelre.formula import Design, build_design
from panelre.panel import PanelData, as_panel
from panelre.results import PanelResults

__all__ = [
    "PanelModel",
    "TransformedOLS",
    "transformed_ols",
    "QuasiDemeanedOLS",
    "quasi_demeaned_ols",
    "row_index",
]


@dataclass(frozen=True)
class TransformedOLS:
    """OLS on transformed data after dropping absorbed and collinear columns."""

    params: np.ndarray
    names: list[str]
    X: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    keep: np.ndarray
    dropped: list[str]
    absorbed: list[str]


def transformed_ols(
    Xt: np.ndarray,
    yt: np.ndarray,
    names: Sequence[str],
    *,
    raw_ss: np.ndarray | None = None,
    absorbed_by: str | None = None,
    tol: float = RANK_TOL,
    warn: bool = True,
) -> TransformedOLS:
    """OLS of ``yt`` on ``Xt`` with absorbed/collinear columns detected, dropped and named.

    A column is *absorbed* when its transformed sum of squares is below ``tol`` times
    its raw sum of squares ``raw_ss`` (e.g. a time-invariant regressor under entity
    demeaning); it is *collinear* when it is a combination of earlier kept columns.
    """
    names = list(names)
    xtx = Xt.T @ Xt
    sel = select_columns(xtx, names, raw_ss=raw_ss, absorbed_by=absorbed_by, tol=tol, warn=warn)
    keep = sel.keep
    kidx = np.flatnonzero(keep)
    Xk = Xt if keep.all() else Xt[:, kidx]
    xtx_k = xtx[np.ix_(kidx, kidx)]
    beta, resid = solve_with_residuals(Xk, yt, xtx_k)
    return TransformedOLS(
        params=beta,
        names=[names[i] for i in kidx],
        X=Xk,
        resid=resid,
        bread=inv_psd(xtx_k),
        keep=keep,
        dropped=sel.dropped,
        absorbed=sel.absorbed,
    )


@dataclass(frozen=True)
class QuasiDemeanedOLS:
    """OLS of ``y − θ_g ȳ_g`` on ``X − θ_g x̄_g`` (θ = 1: the within estimator)."""

    params: np.ndarray
    names: list[str]
    keep: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    dropped: list[str]
    absorbed: list[str]
    y: np.ndarray
    X: Any  # zero-argument callable: the transformed regressors, built on demand
    raw_X: np.ndarray
    means: np.ndarray
    theta: np.ndarray


def quasi_demeaned_ols(
    design: Design,
    dim: str,
    theta: float | np.ndarray,
    cols: list[int],
    *,
    absorbed_by: str | None = None,
) -> QuasiDemeanedOLS:
    """OLS on quasi-demeaned data from cross-products and the design's cached group means.

    ``X*'X* = X'X − Σ_g c_g(2θ_g − θ_g²) x̄_g x̄_g'`` (likewise ``X*'y*``), so the
    transformed regressors are never formed unless a covariance needs them; the residuals
    ``e* = (y − Xb) − θ_g(ȳ_g − x̄_g b)`` take one pass, and one refinement step with them
    (``X*'e* = X'e* − Σ_g θ_g x̄_g Σ_t e*``) is taken when the cross-products are
    ill-conditioned. With ``absorbed_by`` (fixed effects, θ = 1) regressors without
    variation after the transform are dropped as absorbed.
    """
    p = design.panel
    X = design.X[:, cols] if cols != list(range(1, design.X.shape[1])) else design.X[:, 1:]
    if cols == list(range(design.X.shape[1])):
        X = design.X
    names = [design.x_names[j] for j in cols]
    ybar, xbar_all = design.means(dim)
    xbar = xbar_all[:, cols]
    c = p.group_counts(dim).astype(float)
    th = np.broadcast_to(np.asarray(theta, dtype=float), c.shape)
    w = c * (2 * th - th**2)
    xtx = X.T @ X
    wxx = xtx - (xbar * w[:, None]).T @ xbar
    wxy = X.T @ design.y - (xbar * w[:, None]).T @ ybar
    raw_ss = np.diag(xtx).copy() if absorbed_by is not None else None
    sel = select_columns(wxx, names, raw_ss=raw_ss, absorbed_by=absorbed_by)
    kk = np.flatnonzero(sel.keep)
    Xk = X if sel.keep.all() else X[:, kk]
    xbar_k, wk = xbar[:, kk], wxx[np.ix_(kk, kk)]
    bread = inv_psd(wk)
    scalar = float(th[0]) if np.ptp(th) == 0 else th  # balanced: one θ

    def residuals(b: np.ndarray) -> np.ndarray:
        return p.subtract_group_values(design.y - Xk @ b, ybar - xbar_k @ b, dim, scalar)

    b = bread @ wxy[kk]
    resid = residuals(b)
    scale = np.sqrt(np.diag(wk))
    if np.linalg.cond(wk / np.outer(scale, scale)) > 1e6:
        xte = Xk.T @ resid - xbar_k.T @ (th * p.group_sums(resid, dim))
        b = b + bread @ xte
        resid = residuals(b)
    return QuasiDemeanedOLS(
        params=b,
        names=[names[i] for i in kk],
        keep=sel.keep,
        resid=resid,
        bread=bread,
        dropped=sel.dropped,
        absorbed=sel.absorbed,
        y=p.subtract_group_values(design.y, ybar, dim, scalar),
        X=lambda: p.subtract_group_values(Xk, xbar_k, dim, scalar),
        raw_X=Xk,
        means=xbar_k,
        theta=np.array(th),
    )


def row_index(panel: PanelData) -> pd.Index:
    """Labels for the rows of a panel: (entity, time) MultiIndex, or entity labels."""
    if panel.time_labels is not None:
        return pd.MultiIndex.from_arrays(
            [panel.entity_labels[panel.entity_codes], panel.time_labels[panel.time_codes]],
            names=[str(panel.entity), str(panel.time)],
        )
    return pd.Index(panel.entity_labels[panel.entity_codes], name=str(panel.entity))


class PanelModel(ABC):
    """Base class of the panel estimators.

    Subclasses set ``estimator_name`` and ``title`` and implement ``_estimate()``.
    """

    estimator_name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    uses_normal: ClassVar[bool] = False
    requires_time: ClassVar[bool] = False
    option_names: ClassVar[tuple[str, ...]] = ()
    results_class: ClassVar[type[PanelResults]] = PanelResults

    def __init__(self, design: Design, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            allowed = ", ".join(self.option_names) or "none"
            raise InvalidParameterError(
                f"{type(self).__name__} got unexpected option(s) {unknown}. Allowed: {allowed}."
            )
        if self.requires_time:
            design.panel._require_time(self.title)
        self.design = design
        self._configure(**options)

    def _configure(self, **options: Any) -> None:
        """Validate and store estimator options (subclasses override)."""

    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: Any,
        *,
        entity: Hashable | None = None,
        time: Hashable | None = None,
        **options: Any,
    ) -> PanelModel:
        """Build the model from a formula and any accepted form of panel data."""
        panel = as_panel(data, entity, time)
        return cls(build_design(formula, panel), **options)

    def fit(
        self, cov: str | CovarianceEstimator = "unadjusted", **cov_options: Any
    ) -> PanelResults:
        """Estimate the model and its covariance (see ``panelre.covariance``)."""
        covariance = make_covariance(cov, **cov_options)
        estimation = self._estimate()
        if estimation.df_resid <= 0:
            raise InsufficientDataError(
                f"{self.title} has no residual degrees of freedom: {len(estimation.resid)} "
                f"observations in its regression for {len(estimation.params)} coefficients."
            )
        return self.results_class(
            model=self,
            estimation=estimation,
            covariance=covariance,
            cov_matrix=covariance.cov(estimation.covariance_inputs()),
        )

    @abstractmethod
    def _estimate(self) -> Any:
        """Compute the estimator's algebra; return an ``Estimation``."""

    # helpers shared by subclasses --------------------------------------------------
    def _lazy_rows(self, compute: Callable[[], np.ndarray], name: str) -> Callable[[], pd.Series]:
        """Like ``_series`` but the values themselves are computed only when asked for."""
        panel = self.design.panel
        return lambda: pd.Series(compute(), index=row_index(panel), name=name)

    def _series(self, values: np.ndarray, name: str) -> Callable[[], pd.Series]:
        """A per-row Series, built only when asked for (the (entity, time) index of a
        10⁷-row panel costs more than the fit)."""
        panel = self.design.panel
        return lambda: pd.Series(values, index=row_index(panel), name=name)
