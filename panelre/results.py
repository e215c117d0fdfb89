"""Immutable results of the panel estimators."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from panelre.covariance import (
    CovarianceEstimator,
    CovarianceInputs,
    ParameterCovariance,
    WorkingRows,
    make_covariance,
)
from panelre.exceptions import DataError, InvalidParameterError
from panelre.stats import PanelSource, RowMap, ScoreReducer, in_memory, map_chunks
from panelre.tables import Summary, coefficient_table, format_number

__all__ = [
    "Estimation",
    "VarianceComponents",
    "PanelResults",
    "TestResult",
    "TestDetails",
    "BootstrapDetails",
    "IVResults",
    "overidentification_test",
]


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
        out["theta"] = float(np.mean(th))
        return pd.Series(out, dtype=float)


def tidy_coefficients(result: Any, level: float | None = None) -> pd.DataFrame:
    """The shared tidy table of any result: ``params``, ``std_errors``, ``tstats``,
    ``pvalues`` and the ``lower``/``upper`` bounds of ``conf_int(level)``, one row per
    coefficient."""
    ci = result.conf_int() if level is None else result.conf_int(level)
    return pd.DataFrame(
        {
            "params": result.params,
            "std_errors": result.std_errors,
            "tstats": result.tstats,
            "pvalues": result.pvalues,
            "lower": ci["lower"],
            "upper": ci["upper"],
        }
    )


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
    index_r2 : (float, float, float) or callable
        Stata's within, between and overall R² of ``x'b``, or a zero-argument callable that
        computes them when first asked for (with weights they need unweighted statistics,
        a pass over the rows that a fit for coefficients alone does not make).
    effects, time_effects : Series or None
        Estimated group effects (FE: αᵢ, and γₜ for two-way; RE: BLUPs).
    dropped, absorbed : list of str
        Dropped regressors, and those among them absorbed by the effects.
    variance_components : VarianceComponents or None
    loglike : float or None
        Log-likelihood (random effects by ML/REML).
    absorbed_levels : tuple of (str, int)
        Fixed effects absorbed by the estimator, ``(dimension, levels)``, for Stata's
        cluster factor (see ``CovarianceInputs``).
    constant_in_params : bool
        The absorbed effects' average is reported as a coefficient (``Intercept``).
    nobs : int or None
        Observations of the regression when they are not the rows of the data (first
        differences: the differenced observations); None: the data's rows.
    likelihood_cov : ndarray or None
        Inverse observed information for the coefficients (RE by ML, Stata convention).
    regressors, regression_resid : RowMap or None
        The regressors and residuals of the estimator's own (transformed) regression, as
        maps of ``rows`` (the diagnostics of ``panelre.specification`` test them).
    n_instruments : int or None
        Instruments of an IV estimator.
    ssr : float or None
        ``e'e`` of the regression from its cross-products, when they determine it (no pass
        over the rows); None: the score reducer computes it from the rows.
    random_effects_dimension : str or None
        ``"entity"``, ``"time"`` or ``"twoway"`` for random effects (None otherwise).
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
    index_r2: tuple[float, float, float] | Callable[[], tuple[float, float, float]]
    effects: pd.Series | None = None
    time_effects: pd.Series | None = None
    dropped: list[str] = field(default_factory=list)
    absorbed: list[str] = field(default_factory=list)
    variance_components: VarianceComponents | None = None
    loglike: float | None = None
    absorbed_levels: tuple[tuple[str, int], ...] = ()
    constant_in_params: bool = False
    nobs: int | None = None
    likelihood_cov: np.ndarray | None = None
    regressors: RowMap | None = None
    regression_resid: RowMap | None = None
    n_instruments: int | None = None
    ssr: float | None = None
    random_effects_dimension: str | None = None

    def working_rows(self) -> WorkingRows:
        """The untransformed rows of a one-way random-effects fit (in memory)."""
        src = self.rows
        assert self.variance_components is not None
        width = src.width
        positions = [1 + src.x_names.index(n) for n in self.names]
        y = in_memory(src.values(RowMap.select(width, [0]), "y"))
        X = np.column_stack(
            [in_memory(src.values(RowMap.select(width, [p]), "x")).to_numpy() for p in positions]
        )
        entities = y.index.get_level_values(0) if isinstance(y.index, pd.MultiIndex) else y.index
        groups = pd.factorize(entities)[0]
        vc = self.variance_components
        return WorkingRows(
            regressors=X,
            resid=y.to_numpy() - X @ self.params,
            groups=groups,
            ratio=vc.sigma2_u / vc.sigma2_e if vc.sigma2_e > 0 else 0.0,
        )

    def cluster_gram(self, cluster: Any) -> np.ndarray:
        """``X_g'X_g`` per cluster (G, k, k) of the estimator's regression, as score sums
        of the regressors with each regressor in the place of the residual."""
        assert self.regressors is not None
        x = self.regressors
        columns = [self.rows.scores(x, x.columns([b])).score_sums(cluster) for b in range(x.width)]
        gram = np.stack(columns, axis=2)
        return (gram + np.swapaxes(gram, 1, 2)) / 2

    def covariance_inputs(self) -> CovarianceInputs:
        """Package the pieces the covariance estimators need."""
        has_rows = self.regressors is not None and self.regressors.width == len(self.params)
        working = None
        if self.variance_components is not None:
            reason = (
                "this random-effects fit (CR2 is defined here for one-way entity random "
                "effects without instruments, as R clubSandwich)"
            )
            if self.random_effects_dimension == "entity" and self.n_instruments is None:
                working = self.working_rows
        elif not has_rows:
            reason = "this estimator does not provide its regression's rows"
        else:
            reason = ""
        return CovarianceInputs(
            scores=self.scores,
            bread=self.bread,
            df_resid=self.df_resid,
            n_params=len(self.params),
            ssr=self.ssr,
            absorbed_levels=self.absorbed_levels,
            constant_in_params=self.constant_in_params,
            likelihood_cov=self.likelihood_cov,
            cluster_gram=None if reason else self.cluster_gram,
            cluster_gram_unavailable=reason,
            working_rows=working,
            weighted=self.rows.weight_type is not None,
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
        parameter_cov: ParameterCovariance,
    ) -> None:
        self._model = model
        self._est = estimation
        self._covariance = covariance
        self._cov = parameter_cov.matrix
        self._inference_df = parameter_cov.inference_df
        self._coefficient_df = parameter_cov.coefficient_df

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

    @property
    def df_inference(self) -> int | None:
        """Degrees of freedom of the t and F reference distributions: ``df_resid``, or
        G − 1 for a clustered covariance with ``small_sample=True`` (Stata); None when
        inference is normal / χ² (random-effects family)."""
        if self.uses_normal:
            return None
        return self.df_resid if self._inference_df is None else self._inference_df

    @property
    def coefficient_df(self) -> pd.Series | None:
        """Degrees of freedom of each coefficient's t statistic when the covariance sets
        them per coefficient (``cov="cr2"``: Satterthwaite, as R clubSandwich
        ``coef_test``); None otherwise (``df_inference`` applies to all)."""
        if self._coefficient_df is None:
            return None
        return pd.Series(self._coefficient_df, index=self._est.names, name="df")

    def _reference_df(self) -> Any:
        """The t degrees of freedom per coefficient (array), a common one (int), or None
        for the normal distribution."""
        if self._coefficient_df is not None:
            return self._coefficient_df
        return self.df_inference

    @cached_property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values: t with ``df_inference`` df (per coefficient with
        ``cov="cr2"``), or normal for RE-type models."""
        t = np.abs(self.tstats.to_numpy())
        df = self._reference_df()
        p = 2 * (stats.norm.sf(t) if df is None else stats.t.sf(t, df))
        return pd.Series(p, index=self._est.names, name="pvalues")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals with columns ``lower`` and ``upper``."""
        from panelre._validation import check_probability

        level = check_probability("level", level)
        q = (1 + level) / 2
        df = self._reference_df()
        crit = stats.norm.ppf(q) if df is None else stats.t.ppf(q, df)
        half = crit * self.std_errors
        return pd.DataFrame({"lower": self.params - half, "upper": self.params + half})

    @cached_property
    def regression_resids(self) -> pd.Series:
        """Residuals of the estimator's own (transformed) regression, in memory and in
        (entity, time) order: within residuals for fixed effects, quasi-demeaned ones for
        random effects (R plm's ``residuals``), the differenced ones for first differences.
        With weights these are the residuals themselves (``transformed_data`` carries the
        weights).

        Raises
        ------
        IncompatibleResultsError
            For estimators without a single transformed regression (Hausman–Taylor).
        """
        est = self._regression()
        assert est.regression_resid is not None
        return in_memory(est.rows.values(est.regression_resid, "resids")).sort_index()

    def _regression(self) -> Estimation:
        from panelre.exceptions import IncompatibleResultsError

        est = self._est
        if est.regressors is None or est.regression_resid is None:
            raise IncompatibleResultsError(
                f"{self.estimator} has no single transformed regression whose rows could be "
                "returned (the diagnostics need pooled, between, fixed-effects, "
                "first-difference or random-effects results)."
            )
        return est

    def transformed_data(self) -> pd.DataFrame:
        """The rows of the estimator's own regression — the transformed response, the
        transformed regressors (as ``params``) and the residuals — in (entity, time) order:
        within-demeaned for fixed effects, quasi-demeaned for random effects, the
        differences for first differences, the data for pooled OLS (R plm's
        ``model.matrix`` / ``pmodel.response``).

        Returns
        -------
        DataFrame
            Columns: the response name, the coefficient names, ``"resids"`` and, for a
            weighted fit, ``"weights"`` (WLS of the response on the regressors with these
            weights is the fit); indexed by (entity, time). Computed in memory on every
            backend.

        Raises
        ------
        IncompatibleResultsError
            For estimators without a single transformed regression (Hausman–Taylor).

        Examples
        --------
        >>> import panelre as pr
        >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
        ...                       entity="firm", time="year")
        >>> d = fe.transformed_data()
        >>> list(d.columns), abs(round(float(d["value"].mean()), 10))   # within-demeaned
        (['inv', 'value', 'capital', 'resids'], 0.0)
        """
        est = self._regression()
        assert est.regressors is not None and est.regression_resid is not None
        params = est.params
        if est.regressors.width != len(params):  # fixed effects with constant=True
            params = params[: est.regressors.width]
        names = list(self.params.index[: est.regressors.width])
        response = RowMap.hstack([est.regressors.times(params), est.regression_resid])
        columns = {self.source.y_name: response.times(np.ones(2))}
        for j, name in enumerate(names):
            columns[name] = est.regressors.columns([j])
        columns["resids"] = est.regression_resid
        series = [in_memory(est.rows.values(m, name)) for name, m in columns.items()]
        weights = est.rows.row_weights("weights")
        if weights is not None:  # WLS on these rows with these weights is the fit
            series.append(in_memory(weights))
        return pd.concat(series, axis=1).sort_index()

    def wald_test(self, terms: Sequence[str] | None = None) -> TestResult:
        """Wald test that the coefficients ``terms`` are jointly zero, with this result's
        covariance (default: every coefficient but ``Intercept`` — the model test of
        Stata's header).

        Parameters
        ----------
        terms : list of str, optional
            Coefficient names.

        Returns
        -------
        TestResult
            F(q, ``df_inference``) for t-based estimators (Stata's ``F(8, 4696)`` after
            ``xtreg, fe vce(cluster)``), χ²(q) for z-based ones (``Wald chi2(q)`` after
            ``xtreg, re``).

        Raises
        ------
        InvalidParameterError
            For an unknown coefficient name or an empty list.

        Examples
        --------
        >>> import panelre as pr
        >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
        ...                       entity="firm", time="year")
        >>> t = fe.wald_test()
        >>> round(t.stat, 2), t.df     # Stata: F(2,188) = 309.01
        (309.01, (2, 188))
        """
        from panelre._validation import closest_names

        names = list(self._est.names)
        if terms is None:
            terms = [n for n in names if n != "Intercept"]
        elif isinstance(terms, str):
            terms = [terms]
        terms = list(terms)
        unknown = [t for t in terms if t not in names]
        if unknown or not terms:
            raise InvalidParameterError(
                f"wald_test() needs coefficient names of this result. Got {unknown or terms}"
                f"{closest_names(unknown[0], names) if unknown else ''}; the coefficients are "
                f"{names}."
            )
        idx = [names.index(t) for t in terms]
        b = self._est.params[idx]
        V = self._cov[np.ix_(idx, idx)]
        stat = float(b @ np.linalg.solve(V, b))
        q = len(idx)
        df = self.df_inference
        tested = ", ".join(terms)
        common = dict(
            null=f"the coefficients of {tested} are all zero",
            alternative="at least one of them is not zero",
            details=TestDetails(names=terms, coefficients=b),
        )
        if df is None:
            return TestResult(
                name="Wald test", stat=stat, df=q, pvalue=float(stats.chi2.sf(stat, q)),
                **common,  # type: ignore[arg-type]
            )  # fmt: skip
        return TestResult(
            name="Wald test", stat=stat / q, df=(q, int(df)),
            pvalue=float(stats.f.sf(stat / q, q, df)), distribution="F",
            **common,  # type: ignore[arg-type]
        )  # fmt: skip

    # -------------------------------------------------------------- sizes
    @property
    def nobs(self) -> int:
        """Observations used: the data's rows after dropping missing values (between:
        not the entity means; first differences: the differenced observations, as
        Stata's ``regress D.(…)``, linearmodels and plm's "Observations used in
        estimation")."""
        return self.source.stats.n if self._est.nobs is None else self._est.nobs

    @property
    def nobs_data(self) -> int:
        """Rows of the data used (after dropping missing values), before any
        differencing; equal to ``nobs`` except for first differences."""
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

    @cached_property
    def _index_r2(self) -> tuple[float, float, float]:
        value = self._est.index_r2
        return value() if callable(value) else value

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

    @property
    def absorbed_effects(self) -> tuple[str, ...]:
        """The dimensions whose fixed effects the estimator absorbed (``"entity"``,
        ``"time"``); empty for estimators without fixed effects."""
        return tuple(dim for dim, _ in self._est.absorbed_levels)

    def covariance_inputs(self) -> CovarianceInputs:
        """What the covariance estimators see of this fit: the bread, the score
        reductions and the per-cluster cross-products (for inference built on them, such
        as ``pr.wild_bootstrap``)."""
        return self._est.covariance_inputs()

    # -------------------------------------------------------------- derived
    def with_cov(
        self,
        cov: str | CovarianceEstimator = "unadjusted",
        *,
        cluster: Any = None,
        small_sample: Any = None,
        bandwidth: int | None = None,
        **unknown: Any,
    ) -> PanelResults:
        """New results with another covariance, without refitting (the options as in
        ``pr.pooled_ols``).

        Examples
        --------
        >>> import panelre as pr
        >>> pooled = pr.pooled_ols("inv ~ value + capital", pr.datasets.load("grunfeld"),
        ...                        entity="firm")
        >>> pooled.with_cov("robust").cov_type
        'Robust (HC0)'
        """
        estimator = make_covariance(
            cov, cluster=cluster, small_sample=small_sample, bandwidth=bandwidth, **unknown
        )
        return type(self)(
            model=self._model,
            estimation=self._est,
            covariance=estimator,
            parameter_cov=estimator.compute(self._est.covariance_inputs()),
        )

    def _regressor_rows(self) -> pd.DataFrame:
        """The regressors on the estimation rows (untransformed for pooled, fixed and
        random effects; the regression's own rows for between and first differences)."""
        names = list(self._est.names)
        rows = self._est.rows
        if rows is self.source and all(n in self.source.x_names for n in names):
            width = self.source.width
            maps = {n: RowMap.select(width, [1 + self.source.x_names.index(n)]) for n in names}
        else:
            assert self._est.regressors is not None
            maps = {n: self._est.regressors.columns([j]) for j, n in enumerate(names)}
        columns = {n: in_memory(rows.values(m, n)) for n, m in maps.items()}
        return pd.DataFrame(columns)

    def _effect_terms(self, entity: pd.Index, time: pd.Index | None) -> np.ndarray:
        """The estimated effects each row adds to ``x'b`` (NaN for unseen groups): FE αᵢ
        (and γₜ), RE BLUPs; zeros for estimators without effects."""
        est = self._est
        if est.effects is None:
            return np.zeros(len(entity))
        model_effects = getattr(self._model, "effects", "entity")
        if self.variance_components is not None and model_effects == "twoway":
            raise InvalidParameterError(
                "predict(effects='include') of two-way random effects is not available (the "
                "time BLUPs are not estimated); use effects='exclude'."
            )
        keys = time if model_effects == "time" else entity
        if keys is None:
            raise DataError("predict(effects='include') needs the time column in data.")
        out = est.effects.reindex(keys).to_numpy(dtype=float)
        if est.time_effects is not None and time is not None:
            out = out + est.time_effects.reindex(time).to_numpy(dtype=float)
        unseen = int(np.isnan(out).sum())
        if unseen:
            from panelre._warnings import warn
            from panelre.exceptions import PanelreWarning

            warn(
                f"predict: {unseen} row(s) belong to groups without an estimated effect; "
                "their prediction is NaN (use effects='exclude' for x'b).",
                PanelreWarning,
            )
        return out

    def _prediction_variance(self, effects: str) -> float:
        """The variance of a new observation's error around the prediction."""
        vc = self.variance_components
        if vc is None:
            return float(self.resid_variance)
        if effects == "include":
            return float(vc.sigma2_e)
        return float(vc.sigma2_u + vc.sigma2_e + (vc.sigma2_t or 0.0))

    def predict(
        self,
        data: Any = None,
        *,
        effects: str = "include",
        interval: str | None = None,
        level: float = 0.95,
    ) -> Any:
        """Predictions with the same meaning in-sample and on new data.

        Parameters
        ----------
        data : DataFrame, mapping or Dask frame, optional
            New data with the formula's regressors (and the entity / time columns for
            ``effects="include"``). None: the estimation rows.
        effects : {"include", "exclude"}, default "include"
            Add the estimated effects (FE: αᵢ, and γₜ for two-way; RE: the BLUPs; Stata's
            ``xbu``), or predict ``x'b`` alone (Stata's ``xb``: with ``constant=True`` a
            fixed-effects fit includes Stata's ``_cons``). Rows of groups without an
            estimated effect get NaN, with a warning.
        interval : {None, "confidence", "prediction"}
            Add the standard error and interval of the linear prediction (``x'Vx``, the
            effects treated as known, as Stata's ``stdp``), or of a new observation
            (adding σ²ₑ, and σ²ᵤ for random effects without their effect).
        level : float, default 0.95

        Returns
        -------
        Series ``predicted``, or a DataFrame with ``predicted``, ``se``, ``lower`` and
        ``upper`` when ``interval`` is given (a lazy series for a Dask frame without
        interval or effects).

        Examples
        --------
        >>> import panelre as pr
        >>> g = pr.datasets.load("grunfeld")
        >>> fe = pr.fixed_effects("inv ~ value + capital", g, entity="firm", time="year")
        >>> bool((fe.predict() - fe.fitted_values).abs().max() < 1e-9)
        True
        >>> pooled = pr.pooled_ols("inv ~ value + capital", g, entity="firm", time="year")
        >>> pooled.predict(g.head(2), interval="confidence").round(2).columns.tolist()
        ['predicted', 'se', 'lower', 'upper']
        """
        from panelre._validation import check_option, check_probability

        effects = check_option("effects", effects, ("include", "exclude"))
        if interval is not None:
            interval = check_option("interval", interval, ("confidence", "prediction"))
        level = check_probability("level", level)
        names = list(self._est.names)
        params = self.params[names].to_numpy()
        fe_without_constant = self.estimator == "fixed_effects" and not self._est.constant_in_params
        if interval is not None and fe_without_constant:
            raise InvalidParameterError(
                "Prediction intervals of fixed effects need the constant Stata reports: fit "
                "with constant=True (then x'b includes _cons and its variance, as Stata's "
                "xb and stdp)."
            )
        if isinstance(data, Mapping):
            data = pd.DataFrame(data)
        if data is None:
            X = self._regressor_rows()
            index = X.index
            keys = index.to_frame(index=False) if isinstance(index, pd.MultiIndex) else None
            entity = pd.Index(keys.iloc[:, 0]) if keys is not None else pd.Index([])
            time = pd.Index(keys.iloc[:, 1]) if keys is not None and keys.shape[1] > 1 else None
        elif isinstance(data, pd.DataFrame):
            X = self.source.regressors_for(data)
            missing = [n for n in names if n not in X.columns]
            if missing:
                raise DataError(
                    f"Cannot predict on new data: the coefficients {missing} are not columns "
                    "of the formula's regressors (e.g. Mundlak mean terms); predict() without "
                    "data returns the fitted values."
                )
            index = data.index
            entity_col, time_col = self.source.entity_name, self.source.time_name
            needs_keys = effects == "include" and self._est.effects is not None
            if needs_keys and entity_col not in data.columns:
                raise DataError(
                    f"predict(effects='include') needs the entity column {entity_col!r} in "
                    "data to add the estimated effects; or pass effects='exclude'."
                )
            entity = pd.Index(data[entity_col]) if entity_col in data.columns else pd.Index([])
            time = (
                pd.Index(data[time_col])
                if time_col is not None and time_col in data.columns
                else None
            )
        else:  # a lazy frame: x'b chunk by chunk
            if interval is not None or (effects == "include" and self._est.effects is not None):
                raise InvalidParameterError(
                    "On a Dask frame predict() gives x'b (effects='exclude') without "
                    "intervals; compute the rows first for effects or intervals."
                )

            def one(frame: pd.DataFrame) -> pd.Series:
                values = self.source.regressors_for(frame)[names].to_numpy(dtype=float) @ params
                return pd.Series(values, index=frame.index, name="predicted")

            return map_chunks(data, one, "predicted")
        values = X[names].to_numpy(dtype=float)
        xb = values @ params
        if fe_without_constant and effects == "exclude":
            # Stata's xb (plm's predict on a data.frame): x'b plus the constant
            # ȳ − x̄'b, the observation-weighted mean of the effects
            xb = xb + self._fe_constant()
        if effects == "include" and self._est.effects is not None:
            if fe_without_constant or self.estimator == "fixed_effects":
                fitted = in_memory(self.fitted_values)
                rows = self._regressor_rows()[names].to_numpy(dtype=float)
                table = pd.Series(fitted.to_numpy() - rows @ params, index=fitted.index)
                xb = xb + self._fe_terms(table, entity, time)
            else:
                xb = xb + self._effect_terms(entity, time)
        predicted = pd.Series(xb, index=index, name="predicted")
        if interval is None:
            return predicted
        cov = self.cov.loc[names, names].to_numpy()
        se = np.sqrt(np.einsum("ij,jk,ik->i", values, cov, values))
        if interval == "prediction":
            se = np.sqrt(se**2 + self._prediction_variance(effects))
        df = self.df_inference
        q = (1 + level) / 2
        crit = stats.norm.ppf(q) if df is None else stats.t.ppf(q, df)
        return pd.DataFrame(
            {"predicted": xb, "se": se, "lower": xb - crit * se, "upper": xb + crit * se},
            index=index,
        )

    def _fe_constant(self) -> float:
        """ȳ − x̄'b of a fixed-effects fit (Stata's ``_cons``)."""
        fitted = in_memory(self.fitted_values).to_numpy()
        X = self._regressor_rows()[list(self._est.names)].to_numpy(dtype=float)
        return float(np.mean(fitted - X @ self.params.to_numpy()))

    def _fe_terms(
        self, in_sample: pd.Series, entity: pd.Index, time: pd.Index | None
    ) -> np.ndarray:
        """Fixed effects per row from the in-sample ``fitted − x'b`` (αᵢ, or αᵢ + γₜ)."""
        keys = in_sample.index.to_frame(index=False)
        effects = getattr(self._model, "effects", "entity")
        if effects == "twoway":
            if time is None:
                raise DataError("predict(effects='include') of two-way FE needs the time column.")
            table = pd.Series(in_sample.to_numpy(), index=pd.MultiIndex.from_frame(keys))
            out = (
                table.groupby(level=[0, 1])
                .mean()
                .reindex(pd.MultiIndex.from_arrays([entity, time]))
            )
            values = out.to_numpy(dtype=float)
        else:
            level = 1 if effects == "time" else 0
            by = pd.Series(in_sample.to_numpy()).groupby(keys.iloc[:, level].to_numpy()).mean()
            values = by.reindex(time if effects == "time" else entity).to_numpy(dtype=float)
        unseen = int(np.isnan(values).sum())
        if unseen:
            from panelre._warnings import warn
            from panelre.exceptions import PanelreWarning

            warn(
                f"predict: {unseen} row(s) belong to groups (or, two-way, entity-period "
                "cells) without an estimated effect; their prediction is NaN (use "
                "effects='exclude' for x'b).",
                PanelreWarning,
            )
        return values

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy coefficient table: estimate, std. error, statistic, p-value, interval."""
        return tidy_coefficients(self, level)

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
        ]
        if self.source.weight_type is not None:
            header.append(
                ("Weights", f"{self.source.weight_type} (sum {self.source.stats.mass:.6g})")
            )
        header += [
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
class BootstrapDetails:
    """What a wild cluster bootstrap test computed.

    Attributes
    ----------
    param : str
    null_value : float
    estimate : float
    ci : (float, float)
        The bootstrap confidence interval at ``level`` (test inversion).
    level : float
    draws : int
        Bootstrap samples used (2^G when enumerated).
    enumerated : bool
        Every Rademacher sign vector was used (exact, no randomness).
    weights : str
    impose_null : bool
        WCR (True) or WCU (False).
    n_clusters : int
    pvalue_equal_tail : float
    """

    param: str
    null_value: float
    estimate: float
    ci: tuple[float, float]
    level: float
    draws: int
    enumerated: bool
    weights: str
    impose_null: bool
    n_clusters: int
    pvalue_equal_tail: float


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
        ``"chi2"``, ``"F"``, ``"normal"``, ``"chibar2"`` (the 50:50 mixture of χ²(0) and
        χ²(1) of a variance on its boundary), ``"durbin-watson"`` (``stat`` is the DW
        statistic, its p-value from a normal approximation) or ``"cips"`` (Pesaran's CIPS,
        its p-value interpolated in tabulated critical values and bounded to [0.01, 0.10]).
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
    details: TestDetails | BootstrapDetails | None = None

    def rejects(self, alpha: float = 0.05) -> bool:
        """True when the test is valid and rejects the null at level ``alpha``."""
        return bool(self.valid and self.pvalue < alpha)

    def __str__(self) -> str:
        if self.distribution == "F" and isinstance(self.df, tuple):
            stat = f"F({self.df[0]}, {self.df[1]}) = {format_number(self.stat)}"
        elif self.distribution == "chi2":
            stat = f"chi2({self.df}) = {format_number(self.stat)}"
        elif self.distribution == "durbin-watson":
            stat = f"DW = {format_number(self.stat)}"
        elif self.distribution == "cips":
            stat = f"CIPS = {format_number(self.stat)}"
        elif self.distribution == "chibar2":
            stat = f"chibar2(01) = {format_number(self.stat)}"
        elif self.distribution == "bootstrap":
            stat = f"t = {format_number(self.stat)}"
        else:
            stat = f"z = {format_number(self.stat)}"
        lines = [
            self.name,
            f"  H0: {self.null}",
            f"  H1: {self.alternative}",
            f"  {stat}, p-value = {format_number(self.pvalue)}",
        ]
        if isinstance(self.details, BootstrapDetails):
            d = self.details
            drawn = "all" if d.enumerated else "drawn"
            lines.append(
                f"  {format_number(100 * d.level, 0)}% bootstrap CI: "
                f"[{format_number(d.ci[0])}, {format_number(d.ci[1])}] "
                f"({d.draws} {drawn} draws, {d.n_clusters} clusters)"
            )
        if not self.valid:
            lines.append(f"  NOT VALID: {self.reason}")
        return "\n".join(lines)

    @property
    def summary(self) -> Summary:
        """The test as a renderable summary (text, HTML, LaTeX, Markdown), as every result.

        Examples
        --------
        >>> import panelre as pr
        >>> fe = pr.fixed_effects("inv ~ value + capital", pr.datasets.load("grunfeld"),
        ...                       entity="firm", time="year")
        >>> print(pr.f_test_effects(fe).summary.as_markdown().splitlines()[0])
        **F test for entity effects**
        """
        df = ", ".join(map(str, self.df)) if isinstance(self.df, tuple) else str(self.df)
        header = [
            ("H0", self.null),
            ("H1", self.alternative),
            ("Statistic", format_number(self.stat)),
            ("df", df),
            ("p-value", format_number(self.pvalue)),
            ("Distribution", self.distribution),
        ]
        notes = [] if self.valid else [f"NOT VALID: {self.reason}"]
        return Summary(self.name, header, (), notes)

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


def overidentification_test(
    name: str, stat: float, df: int, null: str, alternative: str
) -> TestResult:
    """A χ² test of overidentifying restrictions (Sargan, Hansen): not valid, with the
    reason, when the model is exactly identified (``df`` = 0)."""
    valid = df > 0
    return TestResult(
        name=name,
        stat=float(stat),
        df=df,
        pvalue=float(stats.chi2.sf(stat, df)) if valid else float("nan"),
        null=null,
        alternative=alternative,
        valid=valid,
        reason="" if valid else "exactly identified: no overidentifying restriction",
    )


class IVResults(PanelResults):
    """Results of a panel estimator's two-stage least squares form: the panel results
    plus the first stage and the over-identification test.

    Examples
    --------
    >>> import panelre as pr
    >>> g = pr.datasets.load("grunfeld")
    >>> g["lag_value"] = g.groupby("firm").value.shift(1)
    >>> iv = pr.fixed_effects("inv ~ capital + [value ~ lag_value]", g.dropna(),
    ...                       entity="firm", time="year")
    >>> iv.params.round(4).to_dict()
    {'capital': 0.253, 'value': 0.2574}
    >>> round(float(iv.first_stage.loc["value", "f_stat"]), 2)
    11.78
    """

    @property
    def first_stage(self) -> pd.DataFrame:
        """Per endogenous regressor: the partial R² of the excluded instruments in its
        first-stage regression (after the estimator's transform), their F statistic with
        its p-value and degrees of freedom, and Sanderson and Windmeijer's (2016)
        conditional F (``sw_f_stat``, ``sw_f_pvalue``, ``sw_df_num``: the F of the part of
        the regressor the other endogenous regressors do not explain, the weak-instrument
        diagnostic per regressor when there are several). With the unadjusted covariance
        the classical F; with the fit's robust or clustered covariance the Wald statistic
        over its degrees of freedom, with Stata's small-sample factors and F(q, G − 1) for
        clusters, as ``ivreg2`` prints them (for one endogenous regressor the
        Kleibergen–Paap rk Wald F)."""
        from dataclasses import asdict

        stages = self.model.iv_fit.first_stage(self.cov_estimator)
        rows = [asdict(stage) for stage in stages]
        return pd.DataFrame(rows).set_index("endogenous")

    def _moment_meat(self) -> Callable[[CovarianceInputs], np.ndarray]:
        """The meat that weights the GMM criterion of the J and C tests: the fit's
        covariance estimator's, or for CR2 the plain clustered one of the same clusters
        (the bias reduction is defined for the coefficients, not for the moments)."""
        from panelre.covariance import BellMcCaffrey, Clustered

        if isinstance(self.cov_estimator, BellMcCaffrey):
            return Clustered(cluster=self.cov_estimator.cluster).meat
        return self.cov_estimator.meat

    @property
    def weak_identification(self) -> Any:
        """The weak-identification statistics of all endogenous regressors together
        (``WeakIdentification``): the Cragg–Donald Wald F and, under the fit's robust or
        clustered covariance, the Kleibergen–Paap rk Wald F, as ``ivreg2`` prints them
        (compare with the Stock–Yogo critical values)."""
        return self.model.iv_fit.weak_identification(self.cov_estimator)

    @property
    def first_stage_params(self) -> pd.DataFrame:
        """The first-stage coefficients: one column per endogenous regressor, one row per
        instrument (the exogenous regressors and the excluded instruments, after the
        estimator's transform; EC2SLS's within and between parts)."""
        fit = self.model.iv_fit
        return pd.DataFrame(
            fit.first_stage_coefficients(),
            index=pd.Index(fit.instrument_names, name="instrument"),
            columns=pd.Index([fit.columns.names[j] for j in fit.columns.endogenous]),
        )

    @property
    def overid_test(self) -> TestResult:
        """The test of the overidentifying restrictions (invalid when exactly identified):
        Sargan's with the unadjusted covariance, Hansen's J with a robust, clustered or
        Driscoll–Kraay one (its meat of the instrument scores weights the criterion)."""
        if self.cov_estimator.name == "unadjusted":
            return self.model.iv_fit.sargan()
        return self.model.iv_fit.hansen(self._moment_meat())

    @property
    def summary(self) -> Summary:
        """The panel summary with the instruments, the first stage and the tests."""
        from dataclasses import replace

        base = super().summary
        lines = [
            f"Instrumented: {', '.join(self.endogenous)}; excluded instruments: "
            f"{', '.join(self.instruments)}."
        ]
        first = self.first_stage
        for name, row in first.iterrows():
            conditional = (
                ""
                if len(first) == 1
                else f", Sanderson–Windmeijer F({int(row['sw_df_num'])}, "
                f"{int(row['df_denom'])}) = {format_number(row['sw_f_stat'])}"
            )
            lines.append(
                f"First stage of {name}: partial R² {format_number(row['partial_rsquared'])}, "
                f"F({int(row['df_num'])}, {int(row['df_denom'])}) = "
                f"{format_number(row['f_stat'])} (p = {format_number(row['f_pvalue'])})"
                f"{conditional}."
            )
        if len(first) > 1:
            weak = self.weak_identification
            robust = self.cov_estimator.name != "unadjusted"
            lines.append(
                f"Weak identification: Cragg–Donald Wald F = {format_number(weak.cragg_donald_f)}"
                + (
                    f", Kleibergen–Paap rk Wald F = {format_number(weak.kleibergen_paap_f)}"
                    if robust
                    else ""
                )
                + "."
            )
        for test in (self.overid_test, self.endogeneity_test):
            if test.valid:
                lines.append(
                    f"{test.name}: {format_number(test.stat)} (p = {format_number(test.pvalue)})."
                )
        return replace(base, notes=(*base.notes, *lines))

    @property
    def endogeneity_test(self) -> TestResult:
        """The test that the instrumented regressors are in fact exogenous: the Wu–Hausman
        F with the unadjusted covariance, the C (difference-in-Hansen) statistic with a
        robust, clustered or Driscoll–Kraay one."""
        if self.cov_estimator.name == "unadjusted":
            return self.model.iv_fit.wu_hausman()
        return self.model.iv_fit.c_statistic(self._moment_meat())

    @property
    def endogenous(self) -> list[str]:
        """The endogenous regressors."""
        c = self.model.iv_fit.columns
        return [c.names[p] for p in c.endogenous]

    @property
    def instruments(self) -> list[str]:
        """The excluded instruments."""
        c = self.model.iv_fit.columns
        return [c.names[p] for p in c.instruments]
