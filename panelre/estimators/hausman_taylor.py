"""Hausman–Taylor (1981) instrumental-variables random effects."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from panelre._linalg import RANK_TOL, column_ss, inv_psd, solve_least_squares
from panelre._validation import check_option
from panelre._warnings import warn
from panelre.estimators._base import PanelModel, transformed_ols
from panelre.estimators.random import theta_for
from panelre.exceptions import (
    BoundaryWarning,
    DroppedVariableWarning,
    IdentificationError,
    InvalidParameterError,
)
from panelre.panel import PanelData
from panelre.results import Estimation, PanelResults, VarianceComponents

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
        return self.extra["classification"]

    @property
    def overid_test(self) -> Any:
        """Hausman test of Hausman–Taylor against fixed effects on the time-varying
        coefficients, as R plm ``phtest(ht, within)``: a test of the exogeneity assumptions
        (df = number of time-varying coefficients)."""
        from panelre.estimators.within import FixedEffects
        from panelre.specification.hausman import hausman

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DroppedVariableWarning)
            fe = FixedEffects(self.design).fit()
        return hausman(fe, self.with_cov("unadjusted"), convention="plm")


def _matches(column: str, wanted: str) -> bool:
    return (
        column == wanted
        or re.search(rf"(?<![\w.]){re.escape(wanted)}(?![\w.])", column) is not None
    )


class HausmanTaylor(PanelModel):
    """Hausman–Taylor IV estimator for models with time-invariant regressors.

    Parameters
    ----------
    design : Design
        The data (use ``from_formula`` or ``pr.hausman_taylor``).
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
    option_names = ("endogenous", "instruments")
    results_class = HausmanTaylorResults

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
        names = [n for n in self.design.x_names if n != "Intercept"]
        unknown = [e for e in endogenous if not any(_matches(n, e) for n in names)]
        if unknown:
            raise InvalidParameterError(
                f"The 'endogenous' regressors {unknown} are not in the model. Regressors: {names}."
            )
        self.endogenous = [n for n in names if any(_matches(n, e) for e in endogenous)]
        self.classification = self._classify()

    def _classify(self) -> Classification:
        d = self.design
        X = d.X
        within = d.panel.demean(X)
        ss_w = column_ss(within)
        ss = column_ss(X)
        groups: dict[tuple[bool, bool], list[str]] = {
            (a, b): [] for a in (True, False) for b in (True, False)
        }
        for j, n in enumerate(d.x_names):
            if n == "Intercept":
                continue
            varying = bool(ss_w[j] > RANK_TOL * max(ss[j], 1e-300))
            groups[(varying, n in self.endogenous)].append(n)
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

    def _cols(self, names: Sequence[str]) -> np.ndarray:
        idx = [self.design.x_names.index(n) for n in names]
        return self.design.X[:, idx]

    def _components(self) -> tuple[float, float]:
        d = self.design
        p = d.panel
        c = self.classification
        varying = c.exogenous_varying + c.endogenous_varying
        Xv = self._cols(varying)
        fe = transformed_ols(p.demean(Xv), p.demean(d.y), varying, warn=False)
        sigma2_e = float(fe.resid @ fe.resid) / (p.nobs - p.n_entities)
        effects = d.y - Xv[:, fe.keep] @ fe.params - fe.resid
        effects = effects - effects.mean()
        invariant = (
            ["Intercept"] * ("Intercept" in d.x_names)
            + c.exogenous_invariant
            + c.endogenous_invariant
        )
        exog = (
            ["Intercept"] * ("Intercept" in d.x_names) + c.exogenous_varying + c.exogenous_invariant
        )
        Z, W = self._cols(invariant), self._cols(exog)
        resid = effects - Z @ _two_sls(effects, Z, W)[0]
        s21 = float(resid @ resid) / p.n_entities
        sigma2_u = (s21 - sigma2_e) / p.n_periods
        if sigma2_u < 0:
            warn(
                f"The Hausman–Taylor estimate of the entity-effect variance was negative "
                f"({sigma2_u:.4g}) and is set to 0 (θ = 0).",
                BoundaryWarning,
            )
            sigma2_u = 0.0
        return sigma2_e, sigma2_u

    def _instruments(self) -> np.ndarray:
        d = self.design
        p = d.panel
        c = self.classification
        exog = (
            ["Intercept"] * ("Intercept" in d.x_names) + c.exogenous_varying + c.exogenous_invariant
        )
        X1, X2 = self._cols(c.exogenous_varying), self._cols(c.endogenous_varying)
        parts = [p.demean(X1), p.demean(X2), p.expand(p.group_means(self._cols(exog)))]
        if self.instruments == "amemiya-macurdy" and X1.shape[1]:
            parts.append(_every_period(p, p.demean(X1)))
        return np.column_stack(parts)

    def _estimate(self) -> Estimation:
        d = self.design
        p = d.panel
        sigma2_e, sigma2_u = self._components()
        theta = theta_for(sigma2_e, sigma2_u, p.counts.to_numpy().astype(float))
        scale = np.sqrt(sigma2_e)
        Xs = p.quasi_demean(d.X, theta) / scale
        ys = p.quasi_demean(d.y, theta) / scale
        W = self._instruments()
        beta, Xhat = _two_sls(ys, Xs, W)
        resid = ys - Xs @ beta
        xb = d.X @ beta
        composite = d.y - xb
        blups = (1 - (1 - theta) ** 2) * p.group_means(composite)
        shrink = sigma2_u / (sigma2_u + sigma2_e / p.counts.to_numpy())
        vc = VarianceComponents(
            sigma2_u=sigma2_u,
            sigma2_e=sigma2_e,
            theta=float(theta[0])
            if np.ptp(theta) == 0
            else pd.Series(theta, index=p.entity_labels),
            shrinkage=pd.Series(shrink, index=p.entity_labels, name="shrinkage"),
            method="hausman-taylor",
        )
        return Estimation(
            params=beta,
            names=list(d.x_names),
            X=Xhat,
            y=ys,
            resid=resid,
            bread=inv_psd(Xhat.T @ Xhat),
            df_resid=p.nobs - len(beta),
            df_model=len(beta) - int(d.has_intercept),
            entity_codes=p.entity_codes,
            time_codes=p.time_codes,
            frame=p.frame,
            fitted=self._series(xb, "fitted_values"),
            resids=self._series(composite, "resids"),
            effects=pd.Series(blups, index=p.entity_labels, name="effects"),
            variance_components=vc,
            extra={
                "classification": self.classification,
                "instruments": self.instruments,
                "n_instruments": int(np.linalg.matrix_rank(W)),
            },
        )


def _project(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Fitted values of ``X`` regressed on ``W`` (rank-deficient ``W`` allowed)."""
    keep = _independent(W)
    Wk = W[:, keep]
    coef = np.linalg.lstsq(Wk, X, rcond=None)[0]
    return Wk @ coef


def _independent(W: np.ndarray) -> np.ndarray:
    from panelre._linalg import independent_columns

    return independent_columns(W.T @ W)


def _two_sls(y: np.ndarray, X: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2SLS coefficients (and the first-stage fitted regressors)."""
    Xhat = _project(W, X)
    return solve_least_squares(Xhat, y), Xhat


def _every_period(p: PanelData, X: np.ndarray) -> np.ndarray:
    """Amemiya–MaCurdy instruments: for each row, entity i's value of each column in every
    period (0 where unobserved), as plm's ``starX``."""
    p._require_time("Amemiya–MaCurdy instruments")
    T = p.n_periods
    wide = np.zeros((p.n_entities, T, X.shape[1]))
    wide[p.entity_codes, p.time_codes] = X
    return wide.reshape(p.n_entities, T * X.shape[1])[p.entity_codes]
