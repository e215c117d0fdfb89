"""Immutable results of the panel estimators."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre.covariance import CovarianceEstimator, CovarianceInputs, make_covariance
from panelre.exceptions import DataError
from panelre.tables import Summary, coefficient_table, format_number

if TYPE_CHECKING:
    from panelre.formula import Design

__all__ = ["Estimation", "VarianceComponents", "PanelResults"]


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
    """What an estimator's ``_estimate()`` hands to the shared covariance step."""

    params: np.ndarray
    names: list[str]
    X: np.ndarray
    y: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    df_resid: int
    df_model: int
    entity_codes: np.ndarray | None
    time_codes: np.ndarray | None
    frame: pd.DataFrame | None
    fitted: pd.Series | Callable[[], pd.Series]
    resids: pd.Series | Callable[[], pd.Series]
    effects: Any = None
    dropped: list[str] = field(default_factory=list)
    variance_components: VarianceComponents | None = None
    re_stata: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def regressors(self) -> np.ndarray:
        """The transformed regressors (some estimators build them only on demand)."""
        return self.X() if callable(self.X) else self.X

    def covariance_inputs(self) -> CovarianceInputs:
        """Package the pieces the covariance estimators need."""
        return CovarianceInputs(
            X=self.X,
            resid=self.resid,
            bread=self.bread,
            df_resid=self.df_resid,
            entity_codes=self.entity_codes,
            time_codes=self.time_codes,
            frame=self.frame,
            n_params=len(self.params),
            re_stata=self.re_stata,
            cluster_shortcut=self.extra.get("cluster_shortcut"),
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
    def design(self) -> Design:
        """The data behind the fit."""
        return self._model.design

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
        return self.design.panel.nobs

    @property
    def n_entities(self) -> int:
        """Number of entities."""
        return self.design.panel.n_entities

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
        return float(self._est.resid @ self._est.resid) / self._est.df_resid

    @property
    def dropped(self) -> list[str]:
        """Regressors removed as absorbed by the effects or collinear."""
        return list(self._est.dropped)

    # -------------------------------------------------------------- fit
    @cached_property
    def resids(self) -> pd.Series:
        """Residuals ``y - fitted_values`` on the rows of the data."""
        r = self._est.resids
        return r() if callable(r) else r

    @cached_property
    def fitted_values(self) -> pd.Series:
        """Fitted values on the rows of the data (FE: x'b + αᵢ; RE: x'b)."""
        f = self._est.fitted
        return f() if callable(f) else f

    @cached_property
    def effects(self) -> Any:
        """Estimated group effects (FE: αᵢ; RE: BLUPs). Two-way FE: the entity effects,
        with the time effects normalised to a weighted mean of zero (``time_effects``)."""
        e = self._est.effects
        return e() if callable(e) else e

    @property
    def time_effects(self) -> pd.Series | None:
        """Estimated time effects of two-way fixed effects (None otherwise)."""
        return self.extra.get("time_effects")

    @property
    def variance_components(self) -> VarianceComponents | None:
        """Variance components (random-effects estimators only)."""
        return self._est.variance_components

    @cached_property
    def extra(self) -> Mapping[str, Any]:
        """Estimator-specific extras (e.g. the Hausman–Taylor instruments, two-way time
        effects); values that are expensive are computed on first access."""
        return _LazyMapping(self._est.extra)

    @cached_property
    def rsquared(self) -> float:
        """R² of the estimator's own (transformed) regression, as R plm reports it:
        the squared correlation of the transformed response and fitted values."""
        y = self._est.y
        return _squared_corr(y, y - self._est.resid)

    @cached_property
    def _index_r2(self) -> tuple[float, float, float]:
        d = self.design
        names = [n for n in self._est.names if n != "Intercept" and n in d.x_names]
        cols = [d.x_names.index(n) for n in names]
        xb = d.X[:, cols] @ self.params[names].to_numpy() if cols else np.zeros(d.panel.nobs)
        p, y = d.panel, d.y
        overall = _squared_corr(y, xb)
        within = _squared_corr(p.demean(y), p.demean(xb))
        between = _squared_corr(p.group_means(y), p.group_means(xb))
        return within, between, overall

    @property
    def rsquared_within(self) -> float:
        """Stata's within R²: corr²(x'b − mean, y − mean) within entities."""
        return self._index_r2[0]

    @property
    def rsquared_between(self) -> float:
        """Stata's between R²: corr² of entity means of x'b and y."""
        return self._index_r2[1]

    @property
    def rsquared_overall(self) -> float:
        """Stata's overall R²: corr²(x'b, y)."""
        return self._index_r2[2]

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

    def predict(self, data: Any = None) -> pd.Series:
        """Predictions: the fitted values, or ``x'b`` on new ``data`` (a DataFrame with
        the formula's regressors)."""
        if data is None:
            return self.fitted_values
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        X = self.design.regressors_for(frame)
        names = list(self._est.names)
        missing = [n for n in names if n not in X.columns]
        if missing:
            raise DataError(
                f"Cannot predict on new data: the coefficients {missing} are not columns of the "
                "formula's regressors (e.g. Mundlak mean terms); predict() without data returns "
                "the fitted values."
            )
        return pd.Series(
            X[names].to_numpy(dtype=float) @ self.params[names].to_numpy(),
            index=frame.index,
            name="predicted",
        )

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
        p = self.design.panel
        counts = p.counts.to_numpy()
        header = [
            ("Dep. variable", self.design.y_name),
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

    def _replace_estimation(self, **changes: Any) -> PanelResults:
        est = replace(self._est, **changes)
        return type(self)(
            model=self._model,
            estimation=est,
            covariance=self._covariance,
            cov_matrix=self._covariance.cov(est.covariance_inputs()),
        )


class _LazyMapping(Mapping):
    """A read-only mapping whose zero-argument callables are evaluated (once) on access."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        if callable(value) and not isinstance(value, type):
            value = self._data[key] = value()
        return value

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _squared_corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a @ a) * (b @ b)))
    return float((a @ b) ** 2 / den**2) if den > 0 else float("nan")


def _theta_text(theta: float | pd.Series) -> str:
    if np.isscalar(theta):
        return format_number(theta)
    t = np.asarray(theta)
    return f"{t.min():.4f}–{t.max():.4f}"
