"""Immutable results of a linear mixed model fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from panelre._validation import check_probability
from panelre.exceptions import InvalidParameterError
from panelre.results import tidy_coefficients
from panelre.tables import Summary

__all__ = ["MixedResults"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class MixedResults:
    """Results of ``panelre.mixed.mixed``; every attribute is read-only.

    Standard errors come from :math:`\\hat\\sigma^2 A^{-1}` (lme4's ``vcov``); t statistics are
    referred to the standard normal distribution (as statsmodels ``MixedLM``), since the
    degrees of freedom of a mixed model are not well defined.
    """

    formula: str
    reml: bool
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]
    group_name: str
    group_labels: pd.Index
    blocks: tuple[tuple[int, ...], ...]
    _beta: np.ndarray
    _cov_beta: np.ndarray
    theta: np.ndarray
    sigma2: float
    cov_re_matrix: np.ndarray
    loglike: float
    reml_criterion: float
    deviance: float
    nobs: int
    n_groups: int
    blups: np.ndarray
    blup_cov: np.ndarray
    converged: bool
    gradient: np.ndarray
    n_iter: int
    singular: bool
    counts: np.ndarray
    group_mean_resid: np.ndarray
    _fitted: np.ndarray
    fitted_fixed: np.ndarray
    row_index: pd.Index
    response: str
    fixed_spec: Any = field(repr=False)
    random_specs: tuple[object, ...] = field(repr=False)
    dropped_columns: tuple[str, ...] = ()
    optimizer_message: str = ""
    weight_sums: np.ndarray | None = None
    response_values: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    def __post_init__(self) -> None:
        for name in (
            "_beta",
            "_cov_beta",
            "theta",
            "cov_re_matrix",
            "blups",
            "blup_cov",
            "gradient",
            "counts",
            "group_mean_resid",
            "_fitted",
            "fitted_fixed",
        ):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    # ------------------------------------------------------------------ fixed effects
    @property
    def params(self) -> pd.Series:
        """Fixed-effect estimates."""
        return pd.Series(self._beta, index=list(self.fixed_names), name="params")

    @property
    def cov(self) -> pd.DataFrame:
        """Covariance of the fixed-effect estimates (lme4's ``vcov``)."""
        names = list(self.fixed_names)
        return pd.DataFrame(self._cov_beta, index=names, columns=names)

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(
            np.sqrt(np.diag(self._cov_beta)), index=list(self.fixed_names), name="std_errors"
        )

    @property
    def tstats(self) -> pd.Series:
        return (self.params / self.std_errors).rename("tstats")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from the standard normal distribution."""
        return pd.Series(
            2 * sps.norm.sf(np.abs(self.tstats.to_numpy())),
            index=list(self.fixed_names),
            name="pvalues",
        )

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Normal-based (Wald) confidence intervals with columns ``lower`` and ``upper``."""
        level = check_probability("level", level)
        z = sps.norm.ppf(0.5 + level / 2)
        se = self.std_errors
        return pd.DataFrame({"lower": self.params - z * se, "upper": self.params + z * se})

    # ------------------------------------------------------------------ variance components
    @property
    def cov_re(self) -> pd.DataFrame:
        """Covariance matrix of the random effects, :math:`\\sigma^2\\Lambda\\Lambda'`."""
        names = list(self.random_names)
        return pd.DataFrame(self.cov_re_matrix, index=names, columns=names)

    @property
    def corr_re(self) -> pd.DataFrame:
        """Correlation matrix of the random effects (NaN where a variance is 0)."""
        sd = np.sqrt(np.diag(self.cov_re_matrix))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.cov_re_matrix / np.outer(sd, sd)
        names = list(self.random_names)
        return pd.DataFrame(corr, index=names, columns=names)

    @property
    def n_params(self) -> int:
        """Fixed effects + covariance parameters + residual variance (lme4's df)."""
        return len(self.fixed_names) + self.theta.size + 1

    @property
    def aic(self) -> float:
        """``-2 loglike + 2 n_params``; for REML fits the REML log-likelihood, as lme4."""
        return -2.0 * self.loglike + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.loglike + np.log(self.nobs) * self.n_params

    @property
    def gradient_norm(self) -> float:
        """Euclidean norm of the projected gradient of the criterion at the optimum."""
        return float(np.linalg.norm(self.gradient))

    # ------------------------------------------------------------------ random effects
    @property
    def random_effects(self) -> pd.DataFrame:
        """BLUPs (conditional modes): one row per group, one column per random term."""
        index = self.group_labels.copy()
        index.name = self.group_name
        return pd.DataFrame(self.blups, index=index, columns=list(self.random_names))

    @property
    def random_effects_se(self) -> pd.DataFrame:
        """Conditional standard deviations of the BLUPs (square roots of lme4's ``condVar``)."""
        sd = np.sqrt(np.einsum("gjj->gj", self.blup_cov))
        return pd.DataFrame(sd, index=self.random_effects.index, columns=list(self.random_names))

    @property
    def random_effects_cov(self) -> dict[object, pd.DataFrame]:
        """Conditional covariance matrix of each group's random effects, by group label."""
        names = list(self.random_names)
        return {
            label: pd.DataFrame(self.blup_cov[i], index=names, columns=names)
            for i, label in enumerate(self.group_labels)
        }

    @property
    def fitted_values(self) -> pd.Series:
        """:math:`X\\hat\\beta + Z\\hat b` on the estimation rows."""
        return pd.Series(self._fitted, index=self.row_index, name="fitted_values")

    @property
    def resids(self) -> pd.Series:
        """Conditional residuals :math:`y - X\\hat\\beta - Z\\hat b` (lme4's ``resid``)."""
        return pd.Series(self.response_values - self._fitted, index=self.row_index, name="resids")

    def predict(self, data: pd.DataFrame | None = None, include_random: bool = True) -> pd.Series:
        """Predictions :math:`X\\hat\\beta` (+ :math:`Z\\hat b` with ``include_random``).

        Groups in ``data`` that were not in the estimation sample get random effects 0
        (population-level prediction).
        """
        from panelre.mixed._predict import predict

        return predict(self, data, include_random)

    # ------------------------------------------------------------------ shrinkage
    def _require_intercept_only(self, what: str) -> None:
        if self.random_names != ("Intercept",):
            raise InvalidParameterError(
                f"{what} is defined for random-intercept models, (1 | g). Got random terms "
                f"{list(self.random_names)}."
            )

    def shrinkage(self) -> pd.DataFrame:
        """No-pooling estimate, BLUP and shrinkage factor per group (random intercept only).

        The no-pooling estimate of group i is its mean residual from the fixed part,
        :math:`\\bar y_i - \\bar x_i'\\hat\\beta`; the BLUP shrinks it towards 0 by the factor
        :math:`\\sigma^2_u / (\\sigma^2_u + \\sigma^2_e / n_i)` (with prior weights,
        :math:`n_i` is the group's sum of weights and the mean residual is weighted).
        """
        self._require_intercept_only("shrinkage()")
        s2u = float(self.cov_re_matrix[0, 0])
        mass = self.counts if self.weight_sums is None else self.weight_sums
        factor = s2u / (s2u + self.sigma2 / mass)
        out = pd.DataFrame(
            {
                "n": self.counts.astype(int),
                "no_pooling": self.group_mean_resid,
                "blup": self.blups[:, 0],
                "shrinkage": factor,
            },
            index=self.random_effects.index,
        )
        return out

    def plot_shrinkage(self, ax=None):
        """Scatter of no-pooling estimates against BLUPs; returns the matplotlib Figure."""
        from panelre.mixed.plots import plot_shrinkage

        self._require_intercept_only("plot_shrinkage()")
        return plot_shrinkage(self.shrinkage(), self.group_name, ax=ax)

    def plot_random_effects(self, level: float = 0.95, ax=None):
        """Caterpillar plot of the BLUPs with conditional intervals; returns the Figure."""
        from panelre.mixed.plots import plot_random_effects

        level = check_probability("level", level)
        return plot_random_effects(self.random_effects, self.random_effects_se, level, ax=ax)

    # ------------------------------------------------------------------ rendering
    @property
    def summary(self) -> Summary:
        """lme4-like summary: random-effects block and fixed-effects table."""
        from panelre.mixed._summary import build_summary

        return build_summary(self)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy coefficient table (the columns of every result's ``to_frame``)."""
        return tidy_coefficients(self, level)

    def __str__(self) -> str:
        return str(self.summary)

    def __repr__(self) -> str:
        kind = "REML" if self.reml else "ML"
        return (
            f"<MixedResults {self.formula!r} by {kind}: nobs={self.nobs}, "
            f"n_groups={self.n_groups}, loglike={self.loglike:.4f}>"
        )

    def _repr_html_(self) -> str:
        return self.summary._repr_html_()
