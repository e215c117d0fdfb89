"""Immutable results of the panel estimators."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre.covariance import CovarianceEstimator, CovarianceInputs, make_covariance
from panelre.exceptions import DataError
from panelre.stats import PanelSource, RowMap, ScoreReducer, map_chunks
from panelre.tables import Summary, coefficient_table, format_number

__all__ = ["Estimation", "VarianceComponents", "PanelResults", "TestResult", "TestDetails"]


@dataclass(frozen=True)
class VarianceComponents:
    """Random-effects variance components.

    Attributes
    ----------
    sigma2_u, sigma2_e : float
        Entity-effect and idiosyncratic variances (``sigma2_u`` is the time-effect
        variance for ``effects="time"``).
    sigma2_t : float or None
        Time-effect variance of two-way models.
    theta : float or Series
        Quasi-demeaning factor; a float when it is the same for every entity, otherwise
        a Series per entity.
    shrinkage : Series
        Per-group factor ``σ²ᵤ/(σ²ᵤ + σ²ₑ/Tᵢ)``.
    method : str
    """

    sigma2_u: float
    sigma2_e: float
    theta: float | pd.Series
    shrinkage: pd.Series
    method: str
    sigma2_t: float | None = None
    theta_time: float | pd.Series | None = None
    theta_total: float | pd.Series | None = None

    @property
    def rho(self) -> float:
        """Share of the effect in the composite variance: σ²ᵤ/(σ²ᵤ + σ²ₑ)."""
        total = self.sigma2_u + self.sigma2_e
        return self.sigma2_u / total if total > 0 else 0.0

    @property
    def sigma_u(self) -> float:
        """Standard deviation of the effect."""
        return float(np.sqrt(self.sigma2_u))

    @property
    def sigma_e(self) -> float:
        """Standard deviation of the idiosyncratic error."""
        return float(np.sqrt(self.sigma2_e))

    def to_series(self) -> pd.Series:
        """The components as a Series (for tables)."""
        out = {"sigma2_u": self.sigma2_u, "sigma2_e": self.sigma2_e}
        if self.sigma2_t is not None:
            out["sigma2_t"] = self.sigma2_t
        out["rho"] = self.rho
        th = self.theta
        out["theta"] = th if np.isscalar(th) else float(np.mean(th))  # type: ignore[arg-type]
        return pd.Series(out, dtype=float)


@dataclass(frozen=True)
class Estimation:
    """What an estimator's ``_estimate()`` hands to the shared covariance step and the
    results: numbers and row maps, never the estimator's code.

    Attributes
    ----------
    params, names : coefficients of the kept regressors
    bread : ndarray (k, k)
        ``(X*'X*)⁻¹`` of the (transformed) regression.
    df_resid, df_model : int
    scores : ScoreReducer
        Row reductions of the regression for the covariance estimators.
    rows : PanelSource
        The rows on which ``fitted`` and ``resid`` are defined (the data, their first
        differences, or the entity means).
    fitted, resid : RowMap
        Fitted values and residuals as one-column maps of ``rows``.
    rsquared : float
        R² of the estimator's own regression.
    index_r2 : (float, float, float)
        Stata's within, between and overall R² of ``x'b``.
    effects, time_effects : Series or None
        Estimated group effects (FE: αᵢ, and γₜ for two-way; RE: BLUPs).
    dropped, absorbed : list of str
        Dropped regressors, and those among them absorbed by the effects.
    variance_components : VarianceComponents or None
    loglike : float or None
        Log-likelihood (random effects by ML/REML).
    re_stata : bool
        Random effects under ``convention="stata"`` (cluster factor G/(G−1)).
    n_instruments : int or None
        Instruments of an IV estimator.
    ssr : float or None
        ``e'e`` of the regression from its cross-products, when they determine it (no pass
        over the rows); None: the score reducer computes it from the rows.
    """

    params: np.ndarray
    names: list[str]
    bread: np.ndarray
    df_resid: int
    df_model: int
    scores: ScoreReducer
    rows: PanelSource
    fitted: RowMap
    resid: RowMap
    rsquared: float
    index_r2: tuple[float, float, float]
    effects: pd.Series | None = None
    time_effects: pd.Series | None = None
    dropped: list[str] = field(default_factory=list)
    absorbed: list[str] = field(default_factory=list)
    variance_components: VarianceComponents | None = None
    loglike: float | None = None
    re_stata: bool = False
    n_instruments: int | None = None
    ssr: float | None = None

    def covariance_inputs(self) -> CovarianceInputs:
        """Package the pieces the covariance estimators need."""
        return CovarianceInputs(
            scores=self.scores,
            bread=self.bread,
            df_resid=self.df_resid,
            n_params=len(self.params),
            re_stata=self.re_stata,
            ssr=self.ssr,
        )


class PanelResults:
    """Results of a panel estimator (immutable; ``with_cov`` returns a new one).

    Examples
    --------
    >>> import panelre as pr
    >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
    ...                       entity="firm", time="year")
    >>> fe.params.round(4).to_dict()
    {'value': 0.1101, 'capital': 0.3101}
    >>> fe.with_cov(cov="cluster").std_errors.round(4).to_dict()
    {'value': 0.0143, 'capital': 0.0498}
    """

    def __init__(
        self,
        *,
        model: Any,
        estimation: Estimation,
        covariance: CovarianceEstimator,
        cov_matrix: np.ndarray,
    ) -> None:
        self._model = model
        self._est = estimation
        self._covariance = covariance
        self._cov = cov_matrix

    # -------------------------------------------------------------- identity
    @property
    def model(self) -> Any:
        """The model object that produced these results."""
        return self._model

    @property
    def source(self) -> PanelSource:
        """The data behind the fit (formula, names, statistics, backend)."""
        return self._model.source

    @property
    def backend(self) -> str:
        """Name of the backend that computed the statistics (``"numpy"``, ``"dask"``, …)."""
        return self._model.source.backend.name

    @property
    def estimator(self) -> str:
        """The estimator's public function name, e.g. ``"fixed_effects"``."""
        return self._model.estimator_name

    @property
    def cov_type(self) -> str:
        """Label of the covariance estimator."""
        return self._covariance.describe()

    @property
    def cov_estimator(self) -> CovarianceEstimator:
        """The covariance estimator object."""
        return self._covariance

    # -------------------------------------------------------------- coefficients
    @cached_property
    def params(self) -> pd.Series:
        """Estimated coefficients."""
        return pd.Series(self._est.params, index=self._est.names, name="params")

    @cached_property
    def cov(self) -> pd.DataFrame:
        """Parameter covariance matrix."""
        names = self._est.names
        return pd.DataFrame(self._cov, index=names, columns=names)

    @cached_property
    def std_errors(self) -> pd.Series:
        """Standard errors."""
        return pd.Series(np.sqrt(np.diag(self._cov)), index=self._est.names, name="std_errors")

    @cached_property
    def tstats(self) -> pd.Series:
        """t (or z) statistics."""
        return (self.params / self.std_errors).rename("tstats")

    @property
    def uses_normal(self) -> bool:
        """True when p-values use the normal distribution (random-effects family)."""
        return bool(self._model.uses_normal)

    @cached_property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values (t with ``df_resid`` df, or normal for RE-type models)."""
        t = np.abs(self.tstats.to_numpy())
        p = 2 * (stats.norm.sf(t) if self.uses_normal else stats.t.sf(t, self.df_resid))
        return pd.Series(p, index=self._est.names, name="pvalues")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals with columns ``lower`` and ``upper``."""
        from panelre._validation import check_probability

        level = check_probability("level", level)
        q = (1 + level) / 2
        crit = stats.norm.ppf(q) if self.uses_normal else stats.t.ppf(q, self.df_resid)
        half = crit * self.std_errors
        return pd.DataFrame({"lower": self.params - half, "upper": self.params + half})

    # -------------------------------------------------------------- sizes
    @property
    def nobs(self) -> int:
        """Observations used (rows of the data, not of the transformed regression)."""
        return self.source.stats.n

    @property
    def n_entities(self) -> int:
        """Number of entities."""
        return self.source.stats.n_entities

    @property
    def df_model(self) -> int:
        """Model degrees of freedom (estimated slopes, excluding the intercept)."""
        return self._est.df_model

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom."""
        return self._est.df_resid

    @property
    def resid_variance(self) -> float:
        """``s² = e'e / df_resid`` of the estimator's own (transformed) regression."""
        return self._est.covariance_inputs().resid_ss() / self._est.df_resid

    @property
    def dropped(self) -> list[str]:
        """Regressors removed as absorbed by the effects or collinear."""
        return list(self._est.dropped)

    @property
    def absorbed(self) -> list[str]:
        """Regressors removed because the effects absorb them (e.g. time-invariant ones
        under entity fixed effects)."""
        return list(self._est.absorbed)

    # -------------------------------------------------------------- fit
    @cached_property
    def resids(self) -> Any:
        """Residuals on the rows of the regression (FE: net of the effects; RE: y − x'b;
        first differences: of the differenced equation; between: per entity). A pandas
        Series; a lazy Dask series for Dask data."""
        return self._est.rows.values(self._est.resid, "resids")

    @cached_property
    def fitted_values(self) -> Any:
        """Fitted values on the rows of the regression (FE: x'b + αᵢ; RE: x'b)."""
        return self._est.rows.values(self._est.fitted, "fitted_values")

    @property
    def effects(self) -> pd.Series | None:
        """Estimated group effects (FE: αᵢ; RE: BLUPs). Two-way FE: the entity effects,
        with the time effects normalised to a weighted mean of zero (``time_effects``)."""
        return self._est.effects

    @property
    def time_effects(self) -> pd.Series | None:
        """Estimated time effects of two-way fixed effects (None otherwise)."""
        return self._est.time_effects

    @property
    def variance_components(self) -> VarianceComponents | None:
        """Variance components (random-effects estimators only)."""
        return self._est.variance_components

    @property
    def loglike(self) -> float | None:
        """Log-likelihood (random effects by ML or REML; None otherwise)."""
        return self._est.loglike

    @property
    def rsquared(self) -> float:
        """R² of the estimator's own (transformed) regression, as R plm reports it:
        the squared correlation of the transformed response and fitted values."""
        return self._est.rsquared

    @property
    def rsquared_within(self) -> float:
        """Stata's within R²: corr²(x'b − mean, y − mean) within entities."""
        return self._est.index_r2[0]

    @property
    def rsquared_between(self) -> float:
        """Stata's between R²: corr² of entity means of x'b and y."""
        return self._est.index_r2[1]

    @property
    def rsquared_overall(self) -> float:
        """Stata's overall R²: corr²(x'b, y)."""
        return self._est.index_r2[2]

    # -------------------------------------------------------------- derived
    def with_cov(
        self, cov: str | CovarianceEstimator = "unadjusted", **cov_options: Any
    ) -> PanelResults:
        """New results with another covariance, without refitting.

        Examples
        --------
        >>> import panelre as pr
        >>> pooled = pr.pooled_ols("inv ~ value + capital", pr.datasets.load("grunfeld"),
        ...                        entity="firm")
        >>> pooled.with_cov("robust").cov_type
        'Robust (HC0)'
        """
        estimator = make_covariance(cov, **cov_options)
        return type(self)(
            model=self._model,
            estimation=self._est,
            covariance=estimator,
            cov_matrix=estimator.cov(self._est.covariance_inputs()),
        )

    def predict(self, data: Any = None) -> Any:
        """Predictions: the fitted values, or ``x'b`` on new ``data`` (a DataFrame with the
        formula's regressors; a lazy series for a Dask frame)."""
        if data is None:
            return self.fitted_values
        names = list(self._est.names)
        params = self.params[names].to_numpy()

        def one(frame: pd.DataFrame) -> pd.Series:
            X = self.source.regressors_for(frame)
            missing = [n for n in names if n not in X.columns]
            if missing:
                raise DataError(
                    f"Cannot predict on new data: the coefficients {missing} are not columns "
                    "of the formula's regressors (e.g. Mundlak mean terms); predict() without "
                    "data returns the fitted values."
                )
            values = X[names].to_numpy(dtype=float) @ params
            return pd.Series(values, index=frame.index, name="predicted")

        if isinstance(data, Mapping):
            data = pd.DataFrame(data)
        return map_chunks(data, one, "predicted")

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy coefficient table: estimate, std. error, statistic, p-value, interval."""
        ci = self.conf_int(level)
        return pd.DataFrame(
            {
                "params": self.params,
                "std_errors": self.std_errors,
                "tstats": self.tstats,
                "pvalues": self.pvalues,
                "lower": ci["lower"],
                "upper": ci["upper"],
            }
        )

    @property
    def summary(self) -> Summary:
        """Text/HTML/LaTeX/Markdown summary."""
        counts = self.source.stats.entity.counts.astype(int)
        header = [
            ("Dep. variable", self.source.y_name),
            ("Estimator", self._model.title),
            ("No. observations", str(self.nobs)),
            ("Entities", str(self.n_entities)),
            ("T min/avg/max", f"{counts.min()}/{counts.mean():.1f}/{counts.max()}"),
            ("Covariance", self.cov_type),
            ("R² (own)", format_number(self.rsquared)),
            ("R² within", format_number(self.rsquared_within)),
            ("R² between", format_number(self.rsquared_between)),
            ("R² overall", format_number(self.rsquared_overall)),
        ]
        vc = self.variance_components
        if vc is not None:
            header += [
                ("sigma_u", format_number(vc.sigma_u)),
                ("sigma_e", format_number(vc.sigma_e)),
                ("rho", format_number(vc.rho)),
                ("theta", _theta_text(vc.theta)),
            ]
        table = coefficient_table(
            self.params,
            self.std_errors,
            self.tstats,
            self.pvalues,
            self.conf_int(),
            stat_name="z" if self.uses_normal else "t",
        )
        notes = []
        if self.dropped:
            notes.append("Dropped (absorbed or collinear): " + ", ".join(self.dropped))
        return Summary(f"{self._model.title} estimation results", header, [table], notes)

    def __repr__(self) -> str:
        return str(self.summary)

    def _repr_html_(self) -> str:
        return self.summary._repr_html_()


def _theta_text(theta: float | pd.Series) -> str:
    if np.isscalar(theta):
        return format_number(theta)
    t = np.asarray(theta)
    return f"{t.min():.4f}–{t.max():.4f}"


@dataclass(frozen=True)
class TestDetails:
    """What a test on coefficients compared: the names, and for a Hausman contrast the rank,
    eigenvalues and definiteness of ``V₁ − V₂`` and the variant; for a Wald test the tested
    coefficients."""

    names: list[str]
    rank: int | None = None
    eigenvalues: np.ndarray | None = None
    positive_definite: bool | None = None
    variant: str | None = None
    coefficients: np.ndarray | None = None


@dataclass(frozen=True)
class TestResult:
    """Outcome of a specification test.

    Attributes
    ----------
    name : str
        The test's name.
    stat : float
        Test statistic.
    df : int, (int, int) or None
        Degrees of freedom: an int for χ² tests, ``(df_num, df_denom)`` for F tests,
        None for normal (z) tests.
    pvalue : float
    null, alternative : str
        The hypotheses in words.
    valid : bool
        False when the statistic cannot be interpreted (``reason`` says why).
    reason : str
        Why the test is not valid (empty when it is).
    distribution : str
        ``"chi2"``, ``"F"`` or ``"normal"``.
    details : TestDetails or None
        What was compared or tested (e.g. the Hausman difference's rank).

    Examples
    --------
    >>> r = TestResult("demo", 3.2, 1, 0.07, "H0", "H1")
    >>> "p-value" in str(r)
    True
    """

    __test__ = False  # not a pytest test class

    name: str
    stat: float
    df: int | tuple[int, int] | None
    pvalue: float
    null: str
    alternative: str
    valid: bool = True
    reason: str = ""
    distribution: str = "chi2"
    details: TestDetails | None = None

    def rejects(self, alpha: float = 0.05) -> bool:
        """True when the test is valid and rejects the null at level ``alpha``."""
        return bool(self.valid and self.pvalue < alpha)

    def __str__(self) -> str:
        if self.distribution == "F" and isinstance(self.df, tuple):
            stat = f"F({self.df[0]}, {self.df[1]}) = {format_number(self.stat)}"
        elif self.distribution == "chi2":
            stat = f"chi2({self.df}) = {format_number(self.stat)}"
        else:
            stat = f"z = {format_number(self.stat)}"
        lines = [
            self.name,
            f"  H0: {self.null}",
            f"  H1: {self.alternative}",
            f"  {stat}, p-value = {format_number(self.pvalue)}",
        ]
        if not self.valid:
            lines.append(f"  NOT VALID: {self.reason}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (for JSON output)."""
        df = list(self.df) if isinstance(self.df, tuple) else self.df
        return {
            "name": self.name,
            "stat": self.stat,
            "df": df,
            "pvalue": self.pvalue,
            "null": self.null,
            "alternative": self.alternative,
            "valid": self.valid,
            "reason": self.reason,
            "distribution": self.distribution,
        }
