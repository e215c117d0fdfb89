"""Hausman–Taylor (1981) instrumental-variables random effects."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from panelre._linalg import cholesky_scaled, independent_columns, inv_psd
from panelre._validation import check_option
from panelre._warnings import warn
from panelre.contrast import hausman_contrast
from panelre.estimators._base import PanelModel, index_r2
from panelre.estimators._ols import reliable_ssr
from panelre.estimators._transforms import within_map
from panelre.estimators.cre import time_varying
from panelre.estimators.random import theta_for
from panelre.estimators.variance_components import nonnegative_effect_variance
from panelre.estimators.within import FixedEffects
from panelre.exceptions import (
    BoundaryWarning,
    DroppedVariableWarning,
    IdentificationError,
    InvalidParameterError,
)
from panelre.results import Estimation, PanelResults, TestResult, VarianceComponents
from panelre.stats import RowMap, column_sums, corr2, cross

__all__ = ["HausmanTaylor", "HausmanTaylorResults", "Classification"]


@dataclass(frozen=True)
class Classification:
    """Regressors of a Hausman–Taylor model by time variation and exogeneity."""

    exogenous_varying: list[str]
    endogenous_varying: list[str]
    exogenous_invariant: list[str]
    endogenous_invariant: list[str]


class HausmanTaylorResults(PanelResults):
    """Results of ``HausmanTaylor``, with the over-identification test."""

    @property
    def classification(self) -> Classification:
        """Which regressors are (exogenous/endogenous) x (time-varying/invariant)."""
        return self.model.classification

    @property
    def instruments(self) -> str:
        """The instrument set (``"baltagi"`` or ``"amemiya-macurdy"``)."""
        return str(self.model.instruments)

    @property
    def n_instruments(self) -> int:
        """Number of linearly independent instruments."""
        return int(self._est.n_instruments or 0)

    @property
    def overid_test(self) -> TestResult:
        """Hausman test of Hausman–Taylor against fixed effects on the time-varying
        coefficients, as R plm ``phtest(ht, within)``: a test of the exogeneity assumptions
        (df = number of time-varying coefficients)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DroppedVariableWarning)
            fe = FixedEffects(self.source).fit()
        return hausman_contrast(fe, self.with_cov("unadjusted"), convention="plm")


def _matches(column: str, wanted: str) -> bool:
    return (
        column == wanted
        or re.search(rf"(?<![\w.]){re.escape(wanted)}(?![\w.])", column) is not None
    )


class HausmanTaylor(PanelModel):
    """Hausman–Taylor IV estimator for models with time-invariant regressors.

    Parameters
    ----------
    source : PanelSource
        The data (use ``from_formula`` or ``pr.hausman_taylor``).
    **options
        The estimator's options, below.

    Other Parameters
    ----------------
    endogenous : list of str
        Regressors correlated with the entity effect: design column names (e.g.
        ``"I(exp ** 2)"``) or variable names (matching every column built from them).
        Which regressors are time-invariant is detected from the data.
    instruments : {"baltagi", "amemiya-macurdy"}
        ``"baltagi"`` (R plm's default): within-transformed time-varying regressors,
        entity means of the exogenous ones and the exogenous time-invariant regressors.
        ``"amemiya-macurdy"`` adds every period's (within-transformed) value of each exogenous
        time-varying regressor.

    Notes
    -----
    Variance components as R plm: σ²ₑ = SSR_within/(n − N); the entity means of the
    within residuals (fixed effects) are regressed on the time-invariant regressors by
    2SLS with the exogenous regressors as instruments, giving σ²₁ = e'e/N and
    σ²ᵤ = (σ²₁ − σ²ₑ)/T. The model is then GLS-transformed (θ as random effects) and
    estimated by 2SLS. Identification needs at least as many exogenous time-varying
    regressors as endogenous time-invariant ones.

    Examples
    --------
    >>> import panelre as pr
    >>> w = pr.datasets.load("wages")
    >>> ht = pr.hausman_taylor(
    ...     "lwage ~ wks + C(south) + C(smsa) + C(married) + exp + I(exp**2) + C(bluecol)"
    ...     " + ind + C(union) + C(sex) + C(black) + ed", w, entity="id", time="time",
    ...     endogenous=["wks", "married", "union", "exp", "ed"])
    >>> round(float(ht.params["ed"]), 4)
    0.1379
    """

    estimator_name = "hausman_taylor"
    title = "Hausman-Taylor (IV random effects)"
    uses_normal = True
    requires_time = True
    option_names = ("endogenous", "instruments")
    results_class = HausmanTaylorResults
    accepts_weights = False
    weights_note = (
        "Hausman-Taylor is a random-effects GLS estimator, and neither Stata's xthtaylor nor "
        "R plm defines it with weights."
    )

    def _configure(
        self, endogenous: Sequence[str] = (), instruments: str = "baltagi", **_: Any
    ) -> None:
        self.instruments = check_option(
            "instruments",
            instruments,
            ["baltagi", "amemiya-macurdy"],
            {"am": "amemiya-macurdy", "amemiya_macurdy": "amemiya-macurdy"},
        )
        if isinstance(endogenous, str):
            endogenous = [endogenous]
        names = [n for n in self.source.x_names if n != "Intercept"]
        unknown = [e for e in endogenous if not any(_matches(n, e) for n in names)]
        if unknown:
            raise InvalidParameterError(
                f"The 'endogenous' regressors {unknown} are not in the model. Regressors: {names}."
            )
        self.endogenous = [n for n in names if any(_matches(n, e) for e in endogenous)]
        self.classification = self._classify()

    def _classify(self) -> Classification:
        src = self.source
        varying = {src.x_names[j - 1] for j in time_varying(src)}
        groups: dict[tuple[bool, bool], list[str]] = {
            (a, b): [] for a in (True, False) for b in (True, False)
        }
        for n in src.x_names:
            if n != "Intercept":
                groups[(n in varying, n in self.endogenous)].append(n)
        c = Classification(
            groups[(True, False)],
            groups[(True, True)],
            groups[(False, False)],
            groups[(False, True)],
        )
        if len(c.exogenous_varying) < len(c.endogenous_invariant):
            raise IdentificationError(
                "Hausman–Taylor is not identified: it needs at least as many exogenous "
                f"time-varying regressors ({len(c.exogenous_varying)}: {c.exogenous_varying}) as "
                f"endogenous time-invariant ones ({len(c.endogenous_invariant)}: "
                f"{c.endogenous_invariant}). Add exogenous time-varying regressors, or treat "
                "some time-invariant regressors as exogenous."
            )
        if not self.endogenous:
            warn(
                "No regressor is declared endogenous: Hausman–Taylor then reduces to an "
                "inefficient random-effects estimator.",
                BoundaryWarning,
            )
        return c

    def _positions(self, names: Sequence[str]) -> list[int]:
        """Positions in z of the named regressors."""
        return [1 + self.source.x_names.index(n) for n in names]

    def _intercept(self) -> list[str]:
        return ["Intercept"] * self.source.has_intercept

    def _components(self) -> tuple[float, float]:
        src = self.source
        st = src.stats
        c = self.classification
        p = st.width
        varying = self._positions(c.exogenous_varying + c.endogenous_varying)
        W = within_map(st, "entity")
        gram = cross(st, W.columns([0, *varying]), W.columns([0, *varying]))
        b = _solve(gram[1:, 1:], gram[1:, 0])
        coef = np.concatenate([[1.0], -b])
        sigma2_e = float(coef @ gram @ coef) / (st.n - st.n_entities)
        # the fixed effects ȳᵢ − x̄ᵢ'b at row level, centred
        effects = st.entity.means[:, [0, *varying]] @ coef
        effects = effects - float(st.entity.counts @ effects) / st.n
        effect_map = RowMap(np.zeros((p, 1)), entity_table=-effects[:, None])
        Z = RowMap.select(
            p, self._positions(self._intercept() + c.exogenous_invariant + c.endogenous_invariant)
        )
        exog = RowMap.select(
            p, self._positions(self._intercept() + c.exogenous_varying + c.exogenous_invariant)
        )
        fit = _two_sls(st, effect_map, Z, exog)
        s21 = fit.ssr / st.n_entities
        sigma2_u = (s21 - sigma2_e) / st.n_periods
        sigma2_u = nonnegative_effect_variance(sigma2_u, "Hausman–Taylor", "")
        return sigma2_e, sigma2_u

    def _instruments(self) -> RowMap:
        src = self.source
        st = src.stats
        c = self.classification
        p = st.width
        means = st.entity.means
        x1 = self._positions(c.exogenous_varying)
        x2 = self._positions(c.endogenous_varying)
        exog = self._positions(self._intercept() + c.exogenous_varying + c.exogenous_invariant)
        parts = [
            RowMap(RowMap.select(p, x1 + x2).L, entity_table=means[:, x1 + x2]),
            RowMap(np.zeros((p, len(exog))), entity_table=-means[:, exog]),
        ]
        if self.instruments == "amemiya-macurdy" and x1:
            within_x1 = RowMap(RowMap.select(p, x1).L, entity_table=means[:, x1])
            wide = src.wide(within_x1).reshape(st.n_entities, -1)
            parts.append(RowMap(np.zeros((p, wide.shape[1])), entity_table=-wide))
        return RowMap.hstack(parts)

    def _estimate(self) -> Estimation:
        src = self.source
        st = src.stats
        p = st.width
        sigma2_e, sigma2_u = self._components()
        theta = theta_for(sigma2_e, sigma2_u, st.entity.counts)
        scale = np.sqrt(sigma2_e)
        gls = RowMap(np.eye(p) / scale, entity_table=theta[:, None] * st.entity.means / scale)
        ys, Xs = gls.columns([0]), gls.columns(range(1, p))
        fit = _two_sls(st, ys, Xs, self._instruments())
        beta = fit.params
        coef = np.concatenate([[1.0], -beta])
        blups = (1 - (1 - theta) ** 2) * (st.entity.means @ coef)
        shrink = sigma2_u / (sigma2_u + sigma2_e / st.entity.counts)
        labels = st.entity.labels
        vc = VarianceComponents(
            sigma2_u=sigma2_u,
            sigma2_e=sigma2_e,
            theta=float(theta[0]) if np.ptp(theta) == 0 else pd.Series(theta, index=labels),
            shrinkage=pd.Series(shrink, index=labels, name="shrinkage"),
            method="hausman-taylor",
        )
        pair = RowMap.hstack([ys, Xs.times(beta)])
        k = len(beta)
        return Estimation(
            params=beta,
            names=list(src.x_names),
            bread=fit.bread,
            df_resid=st.n - k,
            df_model=k - int(src.has_intercept),
            scores=src.scores(fit.projected, fit.resid),
            rows=src,
            fitted=RowMap(np.eye(p)).times(np.eye(p)[0] - coef),
            resid=RowMap(np.eye(p)).times(coef),
            rsquared=corr2(
                cross(st, pair, pair), column_sums(st, pair), st.n, np.eye(2)[0], np.eye(2)[1]
            ),
            index_r2=index_r2(src, src.x_names, beta),
            effects=pd.Series(blups, index=labels, name="effects"),
            variance_components=vc,
            n_instruments=fit.n_instruments,
            ssr=reliable_ssr(fit.ssr, float(cross(st, ys, ys)[0, 0])),
        )


@dataclass(frozen=True)
class _TwoStage:
    """2SLS from cross-products: coefficients, the projected regressors and residuals."""

    params: np.ndarray
    bread: np.ndarray
    projected: RowMap
    resid: RowMap
    ssr: float
    n_instruments: int


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a⁻¹ b`` for symmetric positive definite ``a`` (scaled Cholesky)."""
    factor, d, _ = cholesky_scaled(a)
    scale = d[:, None] if b.ndim == 2 else d
    return linalg.cho_solve(factor, b / scale, check_finite=False) / scale


def _two_sls(st: Any, y: RowMap, X: RowMap, W: RowMap) -> _TwoStage:
    """2SLS of ``y`` on ``X`` with instruments ``W`` (linearly dependent instruments are
    dropped), all from the statistics."""
    keep = independent_columns(cross(st, W, W))
    Wk = W.columns(np.flatnonzero(keep))
    wx = cross(st, Wk, X)
    Pi = _solve(cross(st, Wk, Wk), wx)
    Xhat = Wk.times(Pi)
    xx = Pi.T @ wx
    xx = (xx + xx.T) / 2
    beta = _solve(xx, cross(st, Xhat, y)[:, 0])
    resid = RowMap.hstack([y, X]).times(np.concatenate([[1.0], -beta]))
    ssr = float(cross(st, resid, resid)[0, 0])
    return _TwoStage(beta, inv_psd(xx), Xhat, resid, ssr, int(keep.sum()))
